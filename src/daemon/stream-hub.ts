import type { Readable, Writable } from "node:stream";
import type { ProcessStreams } from "../libcontainerd/index.js";

export type StreamName = "stdout" | "stderr";

/** Where a container's output goes besides attached clients (the log driver). */
export interface OutputSink {
  write(stream: StreamName, chunk: Buffer): void;
  /**
   * The run's output ended: a last line without a newline is complete now (dockerd logs it).
   * Resolves once everything written so far is in the sink's file.
   */
  flush?(): Promise<void> | void;
}

export interface AttachSession {
  stdout?: (chunk: Buffer) => void;
  stderr?: (chunk: Buffer) => void;
  stdin?: Readable;
}

interface Session extends AttachSession {
  done: () => void;
}

interface Run {
  io: ProcessStreams;
  sessions: Set<Session>;
  ended: boolean;
  /** Resolves when the output ended and the sink flushed it. */
  done: Promise<void>;
}

/**
 * A container's stdio across its runs (dockerd's StreamConfig): each start hands the new task's
 * streams to `attachStdio`; output goes to the log sink and to every attached session; an
 * attached client's stdin is copied to the task's stdin. A session attached before a start joins
 * the next run; a session ends when its run's output has been drained (EOF on every stream).
 */
export class StreamHub {
  #current: Run | undefined;
  readonly #pending = new Set<Session>();
  #sink: OutputSink | undefined;
  /** What to do when an attached client's stdin ends (stdinOnce: close the task's stdin). */
  readonly #onStdinEnd: (io: ProcessStreams) => void;

  constructor(o: { onStdinEnd: (io: ProcessStreams) => void }) {
    this.#onStdinEnd = o.onStdinEnd;
  }

  setSink(sink: OutputSink | undefined): void {
    this.#sink = sink;
  }

  /** Whether a run's output is still flowing. */
  get live(): boolean {
    return this.#current !== undefined && !this.#current.ended;
  }

  /**
   * Resolves when the current run's output has ended (EOF on every stream) and the sink has
   * written it: a container's log is complete once this resolves. At once without a run.
   */
  outputDone(): Promise<void> {
    return this.#current?.done ?? Promise.resolve();
  }

  get stdin(): Writable | undefined {
    return this.#current && !this.#current.ended ? this.#current.io.stdin : undefined;
  }

  /** For libcontainerd's start/attachTask: the new task's streams. */
  readonly attachStdio = (io: ProcessStreams): void => {
    let flushed!: () => void;
    const run: Run = { io, sessions: new Set(this.#pending), ended: false, done: new Promise<void>((r) => (flushed = r)) };
    this.#pending.clear();
    this.#current = run;
    const streams: [StreamName, Readable | undefined][] = [["stdout", io.stdout], ["stderr", io.stderr]];
    let open = streams.filter(([, s]) => s).length;
    const finish = () => {
      if (run.ended) return;
      run.ended = true;
      const f = this.#sink?.flush?.();
      if (f) f.then(flushed, flushed);
      else flushed();
      for (const s of run.sessions) s.done();
      run.sessions.clear();
    };
    for (const [name, s] of streams) {
      if (!s) continue;
      s.on("data", (chunk: Buffer) => {
        this.#sink?.write(name, chunk);
        for (const sess of run.sessions) sess[name]?.(chunk);
      });
      // "close" also covers a reader destroyed without EOF (berthd shutting down).
      let counted = false;
      const onEnd = () => { if (!counted) { counted = true; if (--open === 0) finish(); } };
      s.once("end", onEnd);
      s.once("close", onEnd);
      s.on("error", () => {});
    }
    if (open === 0) finish();
    for (const sess of run.sessions) this.#wireStdin(run, sess);
  };

  /**
   * Attaches a client. Resolves when its run's output ended, or at once when `signal` aborts
   * (the client went away: it is detached, the container keeps running).
   */
  attach(a: AttachSession, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let finished = false;
      const sess: Session = {
        ...a,
        done: () => {
          if (finished) return;
          finished = true;
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#pending.delete(sess);
        this.#current?.sessions.delete(sess);
        sess.done();
      };
      if (signal?.aborted) return resolve();
      signal?.addEventListener("abort", onAbort, { once: true });
      const run = this.#current;
      if (run && !run.ended) {
        run.sessions.add(sess);
        this.#wireStdin(run, sess);
      } else {
        this.#pending.add(sess);
      }
    });
  }

  /** Ends every session waiting for a run that will not come (container removed). */
  endPending(): void {
    for (const s of this.#pending) s.done();
    this.#pending.clear();
  }

  #wireStdin(run: Run, sess: Session): void {
    const input = sess.stdin;
    const target = run.io.stdin;
    if (!input) return;
    if (!target) {
      input.resume();
      return;
    }
    input.on("data", (chunk: Buffer) => {
      if (!run.ended && !target.writableEnded) target.write(chunk);
    });
    input.once("end", () => {
      if (!run.ended) this.#onStdinEnd(run.io);
    });
    input.on("error", () => {});
  }
}
