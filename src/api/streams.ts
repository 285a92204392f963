// Helpers for responses that stream: learning whether an async operation failed "at once" (so the
// failure can still be an HTTP status) before committing to a 200, and the output sinks of
// attach/exec/logs with or without stdcopy framing.
import { errorMessage } from "./errors.js";
import { frame, STDERR, STDOUT, SYSTEMERR } from "./stdcopy.js";

export type Early<T> = { settled: true; value: T } | { settled: false; promise: Promise<T> };

/**
 * Waits one macrotask for `p`. Lookups (no such container, bad option) reject within it; a
 * promise still pending after that is a wait for data, so the caller can send its headers.
 * A rejection within the turn is thrown.
 */
export async function settleEarly<T>(p: Promise<T>): Promise<Early<T>> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  p.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  await new Promise<void>((r) => setImmediate(r));
  if (outcome === undefined) return { settled: false, promise: p };
  if (!outcome.ok) throw outcome.error;
  return { settled: true, value: outcome.value };
}

export interface OutputSinks {
  stdout: (chunk: Buffer) => void;
  stderr: (chunk: Buffer) => void;
  /** Reports a daemon-side error in-band: a Systemerr frame when multiplexed, else plain text. */
  error: (err: unknown, prefix?: string, eol?: string) => void;
}

/** Sinks writing to `write`, multiplexed (no TTY) or raw (TTY: one stream, no framing). */
export function outputSinks(write: (b: Buffer) => void, multiplexed: boolean): OutputSinks {
  if (!multiplexed) {
    return {
      stdout: write,
      stderr: write,
      error: (err, prefix = "", eol = "\n") => write(Buffer.from(prefix + errorMessage(err) + eol)),
    };
  }
  return {
    stdout: (c) => {
      if (c.length > 0) write(frame(STDOUT, c));
    },
    stderr: (c) => {
      if (c.length > 0) write(frame(STDERR, c));
    },
    error: (err, prefix = "", eol = "\n") => write(frame(SYSTEMERR, prefix + errorMessage(err) + eol)),
  };
}
