import { channel } from "node:diagnostics_channel";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";

import { errFailedPrecondition, errInvalidArgument, errNotImplemented } from "../../base/errors.js";
import { ByteSink, marshalAttrs, writeJsonBytes } from "./json-encode.js";
import { type EmitPiece, type LineSplitterState, flushLines, newLineSplitter, splitLines } from "./line-splitter.js";
import { type RotationPolicy, rotationSteps, shouldRotate } from "./rotation.js";
import { MAX_TIMESTAMP_LENGTH, newSubMsClock, nextSubMsNanos, writeDockerTimestamp } from "./timestamp.js";

/** A container's output streams. A TTY container has one stream; the engine logs it as stdout. */
export type LogStream = "stdout" | "stderr";

export interface JsonFileLoggerOptions {
  /** The log file, conventionally `<container dir>/<id>-json.log`. Appended to if it exists. */
  path: string;
  /** Rotate when the file holds this many bytes (see rotation.ts); undefined: never. */
  maxSize?: number | undefined;
  /** Files kept with rotation, the current one included; default 1. */
  maxFile?: number | undefined;
  /** dockerd can gzip rotated files; berth cannot yet. */
  compress?: false | undefined;
  /** Written as each record's `attrs` (dockerd: labels, env and tag the user asked for). */
  extra?: Readonly<Record<string, string>> | undefined;
  /** Wall clock; default `() => new Date()`. */
  now?: () => Date;
  /** Monotonic nanoseconds for the sub-millisecond part; default the hrtime clock (performance.now). */
  monotonicNs?: () => number;
}

export interface LogWriter {
  readonly path: string;
  /**
   * Appends a chunk of a stream's output. Complete lines become records at once (stamped now);
   * an unfinished line waits for its "\n" (or 16 KiB). The promise settles when the records are
   * written to the file: await it for backpressure. Ignoring it is safe: a write error is also
   * reported by every later call and by `flush()` and `close()`.
   */
  write(stream: LogStream, chunk: Uint8Array): Promise<void>;
  /**
   * Ends the streams' current lines: buffered partial lines are written as partial records
   * (without "\n"), as dockerd does when a stream ends. Settles when everything is written.
   */
  flush(): Promise<void>;
  /** Flushes, closes the file and resolves `closed`. Idempotent. */
  close(): Promise<void>;
  /** Resolves (never rejects) once `close()` has finished: no record will be written anymore. */
  readonly closed: Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Rotation failures are not fatal (dockerd logs them and goes on); they are published here. */
export const rotateErrorChannel = channel("berth:logs:rotate-error");

const FILE_MODE = 0o640; // dockerd's

const LOG_KEY = Buffer.from('{"log":');
const RECORD_END = Buffer.from('"}\n');

const ROTATE = Symbol("rotate");
type Segment = Buffer | typeof ROTATE;

const noop = (): void => {};

/** Settles when a batch of queued records is written; shared by the writes of the batch. */
interface Batch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function newBatch(): Batch {
  const b = {} as Batch;
  b.promise = new Promise<void>((resolve, reject) => { b.resolve = resolve; b.reject = reject; });
  b.promise.catch(noop); // reported to those who await it, never as unhandled
  return b;
}

/** A promise whose rejection is reported only to those who await it. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(noop);
  return p;
}

function isEnoent(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

class JsonFileWriter implements LogWriter {
  readonly path: string;
  readonly closed: Promise<void>;
  readonly #policy: RotationPolicy;
  readonly #now: () => Date;
  readonly #mono: () => number;
  readonly #clock = newSubMsClock();
  readonly #middle: Record<LogStream, Buffer>;
  readonly #sink = new ByteSink();
  readonly #splitters: Record<LogStream, LineSplitterState> = { stdout: newLineSplitter(), stderr: newLineSplitter() };
  /** The time (ms, sub-ms ns) of the first piece of a line split at 16 KiB: later pieces reuse it. */
  readonly #splitTime: Record<LogStream, { ms: number; sub: number } | undefined> = { stdout: undefined, stderr: undefined };
  #fh: FileHandle;
  /** Bytes in the current file once everything queued is written: what rotation looks at. */
  #size: number;
  #queue: Segment[] = [];
  /** The batch that the next drain iteration will pick up. */
  #batch: Batch | undefined;
  #draining = false;
  #error: unknown;
  #closing: Promise<void> | undefined;
  #resolveClosed!: () => void;
  readonly #emit: Record<LogStream, EmitPiece>;

  constructor(opts: JsonFileLoggerOptions, fh: FileHandle, size: number, policy: RotationPolicy) {
    this.path = opts.path;
    this.#fh = fh;
    this.#size = size;
    this.#policy = policy;
    this.#now = opts.now ?? (() => new Date());
    // performance.now() reads the same monotonic clock as process.hrtime, without a BigInt.
    this.#mono = opts.monotonicNs ?? (() => performance.now() * 1e6);
    const attrs = opts.extra === undefined ? undefined : marshalAttrs(opts.extra);
    // What follows the `log` value up to the time: `,"stream":"…"[,"attrs":{…}],"time":"`.
    const middle = (stream: LogStream): Buffer => Buffer.concat([
      Buffer.from(`,"stream":"${stream}"`),
      ...(attrs === undefined ? [] : [Buffer.from(',"attrs":'), attrs]),
      Buffer.from(',"time":"'),
    ]);
    this.#middle = { stdout: middle("stdout"), stderr: middle("stderr") };
    this.closed = new Promise((resolve) => { this.#resolveClosed = resolve; });
    this.#emit = {
      stdout: (buf, start, end, newline, continuation) => this.#record("stdout", buf, start, end, newline, continuation),
      stderr: (buf, start, end, newline, continuation) => this.#record("stderr", buf, start, end, newline, continuation),
    };
  }

  /** Encodes one record: `{"log":…,"stream":…[,"attrs":…],"time":…}\n` (moby `MarshalJSONBuf`). */
  #record(stream: LogStream, line: Buffer, start: number, end: number, newline: boolean, continuation: boolean): void {
    // dockerd stamps every piece of a long line with the time of its first piece.
    let ms: number;
    let sub: number;
    const first = this.#splitTime[stream];
    if (continuation && first !== undefined) {
      ms = first.ms;
      sub = first.sub;
    } else {
      ms = this.#now().getTime();
      sub = nextSubMsNanos(this.#clock, ms, this.#mono());
    }
    this.#splitTime[stream] = newline ? undefined : { ms, sub };
    if (shouldRotate(this.#size, this.#policy)) {
      this.#cut();
      this.#queue.push(ROTATE);
      this.#size = 0;
    }
    const sink = this.#sink;
    const before = sink.pending;
    // An empty `log` is omitted (omitempty); only a zero-length partial could have one.
    if (end > start || newline) {
      sink.bytes(LOG_KEY);
      writeJsonBytes(sink, line, start, end, newline);
      sink.bytes(this.#middle[stream]);
    } else {
      sink.ascii("{");
      sink.bytes(this.#middle[stream].subarray(1));
    }
    sink.ensure(MAX_TIMESTAMP_LENGTH + RECORD_END.length);
    sink.advance(writeDockerTimestamp(sink.buffer, sink.offset, ms, sub) - sink.offset);
    sink.bytes(RECORD_END);
    this.#size += sink.pending - before;
  }

  /** Moves the encoded records into the write queue (at each drain and before a rotation). */
  #cut(): void {
    const b = this.#sink.take();
    if (b !== undefined) this.#queue.push(b);
  }

  /**
   * Returns a promise for everything queued so far being written. Writes made while a batch waits
   * share its promise, and the drain loop starts a microtask later, so the writes of one tick go
   * out in one system call.
   */
  #kick(): Promise<void> {
    if (this.#error !== undefined) return quiet(Promise.reject(this.#error));
    this.#batch ??= newBatch();
    if (!this.#draining) {
      this.#draining = true;
      queueMicrotask(() => void this.#drain());
    }
    return this.#batch.promise;
  }

  async #drain(): Promise<void> {
    let batch: Batch | undefined;
    try {
      while (this.#queue.length > 0 || this.#batch !== undefined || this.#sink.pending > 0) {
        this.#cut();
        const segments = this.#queue;
        batch = this.#batch;
        this.#queue = [];
        this.#batch = undefined;
        let run: Buffer[] = [];
        for (const s of segments) {
          if (s === ROTATE) {
            await this.#writeAll(run);
            run = [];
            await this.#rotate();
          } else {
            run.push(s);
          }
        }
        await this.#writeAll(run);
        batch?.resolve();
        batch = undefined;
      }
    } catch (e) {
      this.#error = e;
      this.#queue = [];
      batch?.reject(e);
      this.#batch?.reject(e);
      this.#batch = undefined;
    } finally {
      this.#draining = false;
      // Idle: the next record allocates a new buffer (the views written out kept the old one).
      this.#sink.release();
    }
  }

  async #writeAll(buffers: Buffer[]): Promise<void> {
    if (buffers.length === 0) return;
    let pending = buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers);
    while (pending.length > 0) {
      const { bytesWritten } = await this.#fh.write(pending, 0, pending.length);
      pending = pending.subarray(bytesWritten);
    }
  }

  async #rotate(): Promise<void> {
    await this.#fh.close();
    for (const step of rotationSteps(this.path, this.#policy.maxFile)) {
      try {
        if (step.op === "unlink") await unlink(step.path);
        else await rename(step.from, step.to);
      } catch (e) {
        if (!isEnoent(e) && rotateErrorChannel.hasSubscribers) rotateErrorChannel.publish({ path: this.path, step, error: e });
      }
    }
    // As dockerd: truncate anyway, in case a step failed.
    this.#fh = await open(this.path, "w", FILE_MODE);
  }

  #check(): void {
    if (this.#closing !== undefined) throw errFailedPrecondition("cannot write because the output file was closed");
  }

  write(stream: LogStream, chunk: Uint8Array): Promise<void> {
    try {
      this.#check();
      if (this.#error !== undefined) throw this.#error;
      if (stream !== "stdout" && stream !== "stderr") throw errInvalidArgument(`unknown log stream ${String(stream)}`);
      splitLines(this.#splitters[stream], chunk, this.#emit[stream]);
    } catch (e) {
      return quiet(Promise.reject(e));
    }
    return this.#kick();
  }

  #flushPartials(): void {
    flushLines(this.#splitters.stdout, this.#emit.stdout);
    flushLines(this.#splitters.stderr, this.#emit.stderr);
  }

  flush(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#flushPartials();
    return this.#kick();
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#flushPartials();
      const flushed = this.#kick();
      this.#closing = quiet((async () => {
        try {
          await flushed;
        } finally {
          await this.#fh.close().catch(noop);
          this.#resolveClosed();
        }
      })());
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Opens (creating, mode 0640, or appending to) a json-file log as dockerd's json-file driver
 * writes it. See docs/logs.md. Options are checked as dockerd checks the parsed log-opts; use
 * `parseJsonFileLogOptions` for the user's strings.
 */
export async function createJsonFileLogger(opts: JsonFileLoggerOptions): Promise<LogWriter> {
  if (typeof opts.path !== "string" || opts.path === "") throw errInvalidArgument("json-file: a log path is required");
  const maxFile = opts.maxFile ?? 1;
  if (!Number.isInteger(maxFile) || maxFile < 1) throw errInvalidArgument("max-file cannot be less than 1");
  if (opts.maxSize !== undefined && !(Number.isSafeInteger(opts.maxSize) && opts.maxSize > 0)) {
    throw errInvalidArgument("max-size must be a positive number");
  }
  if ((opts.compress as boolean | undefined) === true) {
    throw errNotImplemented("json-file: compress=true is not supported by berth: rotated files stay uncompressed");
  }
  const fh = await open(opts.path, "a", FILE_MODE);
  try {
    const { size } = await fh.stat();
    return new JsonFileWriter(opts, fh, size, { maxSize: opts.maxSize, maxFile });
  } catch (e) {
    await fh.close().catch(noop);
    throw e;
  }
}
