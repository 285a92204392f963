import { type FSWatcher, watch } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";

import { errInvalidArgument } from "../../base/errors.js";
import { FileLines, tailStart } from "./file-lines.js";
import { type LogRecord, decodeLogRecord } from "./log-record.js";
import { rotatedPaths } from "./rotation.js";
import { dateToUnixNanos } from "./timestamp.js";

export interface ReadLogsOptions {
  /** Only records at or after this time (Date, or nanoseconds since the epoch). */
  since?: Date | bigint | undefined;
  /** Stop at the first record after this time (inclusive bound). */
  until?: Date | bigint | undefined;
  /** The last N records across all files before filtering (dockerd's order); default "all". */
  tail?: number | "all" | undefined;
  /** Keep reading as the log grows and rotates, until `done`, `until`, `signal` or `close()`. */
  follow?: boolean | undefined;
  /** Streams to return; both by default. They do not change what `tail` counts (as dockerd). */
  stdout?: boolean | undefined;
  stderr?: boolean | undefined;
  /** Ends the iteration (without an error), as `close()` does. */
  signal?: AbortSignal | undefined;
  /**
   * The writer's max-file: rotated files `path.(maxFile−1)` … `path.1` are read. Default: the
   * rotated files that exist, `path.1`, `path.2`, … up to the first missing one.
   */
  maxFile?: number | undefined;
  /**
   * Settles when no more records will be written (the writer's `closed`): a follower then reads
   * what is left, across rotations, and ends.
   */
  done?: PromiseLike<unknown> | undefined;
  /**
   * ms between checks of the file while following, in addition to fs.watch events; 250 when
   * fs.watch is not available. Default 1000.
   */
  pollInterval?: number | undefined;
}

export interface LogReader extends AsyncIterable<LogRecord> {
  /** Lines skipped because they were not records (see `decodeLogRecord`). */
  readonly corrupt: number;
  /**
   * Resolves once the iteration has opened the files and fixed where history ends and following
   * begins (records written after that are followed, not part of the tail). The files are opened
   * by the first `next()`, not by `readLogs()`.
   */
  readonly ready: Promise<void>;
  /** Ends the iteration and releases files and watchers. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface OpenFile {
  readonly path: string;
  readonly fh: FileHandle;
  readonly size: number;
  readonly ino: number;
  readonly dev: number;
}

const MAX_PROBED_FILES = 1000;
const OPEN_ATTEMPTS = 5;

function isEnoent(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

async function openIfExists(path: string): Promise<OpenFile | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    if (isEnoent(e)) return undefined;
    throw e;
  }
  try {
    const st = await fh.stat();
    return { path, fh, size: st.size, ino: st.ino, dev: st.dev };
  } catch (e) {
    await fh.close().catch(() => {});
    throw e;
  }
}

async function statIfExists(path: string): Promise<{ ino: number; dev: number } | undefined> {
  try {
    return await stat(path);
  } catch (e) {
    if (isEnoent(e)) return undefined;
    throw e;
  }
}

async function probeMaxFile(path: string): Promise<number> {
  let i = 1;
  while (i < MAX_PROBED_FILES && (await statIfExists(`${path}.${i}`)) !== undefined) i++;
  return i;
}

/**
 * Opens the rotated files (oldest first) and the current file as one consistent set: a rotation
 * while opening shows as a path whose file changed, and the set is opened again.
 */
async function openSnapshot(path: string, maxFile: number | undefined): Promise<OpenFile[]> {
  for (let attempt = 1; ; attempt++) {
    const n = maxFile ?? (await probeMaxFile(path));
    const files: OpenFile[] = [];
    try {
      for (const p of [...rotatedPaths(path, n), path]) {
        const f = await openIfExists(p);
        if (f !== undefined) files.push(f);
      }
      let consistent = true;
      for (const f of files) {
        const st = await statIfExists(f.path);
        if (st === undefined || st.ino !== f.ino || st.dev !== f.dev) consistent = false;
      }
      if (consistent || attempt === OPEN_ATTEMPTS) return files;
    } catch (e) {
      await Promise.all(files.map((f) => f.fh.close().catch(() => {})));
      throw e;
    }
    await Promise.all(files.map((f) => f.fh.close().catch(() => {})));
  }
}

/** Wakes a follower: an fs.watch event, a poll tick, `done`, `until` or an abort. */
class Waker {
  #dirty = false;
  #wake: (() => void) | undefined;

  notify = (): void => {
    this.#dirty = true;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  };

  /** Forgets earlier notifications: called before each look at the files. */
  consume(): void {
    this.#dirty = false;
  }

  wait(ms: number): Promise<void> {
    if (this.#dirty) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.#wake = undefined; resolve(); }, ms);
      this.#wake = () => { clearTimeout(timer); resolve(); };
    });
  }
}

function toNanos(t: Date | bigint | undefined, name: string): bigint | undefined {
  if (t === undefined) return undefined;
  if (typeof t === "bigint") return t;
  if (!(t instanceof Date) || Number.isNaN(t.getTime())) throw errInvalidArgument(`${name} is not a valid time`);
  return dateToUnixNanos(t);
}

class JsonFileReader implements LogReader {
  readonly #path: string;
  readonly #opts: ReadLogsOptions;
  readonly #internal = new AbortController();
  readonly #since: bigint | undefined;
  readonly #until: bigint | undefined;
  readonly #tail: number | undefined;
  #corrupt = 0;
  readonly ready: Promise<void>;
  #setReady!: () => void;
  #gen: AsyncGenerator<LogRecord, void, undefined> | undefined;
  /** dockerd stops applying `since` after the first record that passes it (timestamps may step back). */
  #sinceActive: boolean;
  #pastUntil = false;

  constructor(path: string, opts: ReadLogsOptions) {
    this.#path = path;
    this.#opts = opts;
    this.#since = toNanos(opts.since, "since");
    this.#until = toNanos(opts.until, "until");
    this.#sinceActive = this.#since !== undefined;
    this.ready = new Promise((resolve) => { this.#setReady = resolve; });
    const tail = opts.tail ?? "all";
    if (tail !== "all" && !(Number.isSafeInteger(tail) && tail >= 0)) {
      throw errInvalidArgument(`tail must be a non-negative integer or "all", got ${String(tail)}`);
    }
    this.#tail = tail === "all" ? undefined : tail;
    if (opts.maxFile !== undefined && !(Number.isInteger(opts.maxFile) && opts.maxFile >= 1)) {
      throw errInvalidArgument("max-file cannot be less than 1");
    }
    if (opts.signal?.aborted) this.#internal.abort();
    else opts.signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  readonly #onAbort = (): void => this.#internal.abort();

  get corrupt(): number {
    return this.#corrupt;
  }

  get #aborted(): boolean {
    return this.#internal.signal.aborted;
  }

  /**
   * Decodes and filters one line into `out`. Since/until look at every record before the stream
   * filter, as in dockerd (the logger filters by time, the daemon by stream).
   */
  #accept(buf: Buffer, start: number, end: number, out: LogRecord[]): void {
    const rec = decodeLogRecord(buf.toString("utf8", start, end));
    if (rec === undefined) {
      this.#corrupt++;
      return;
    }
    if (this.#sinceActive) {
      if (rec.timeNanos < this.#since!) return;
      this.#sinceActive = false;
    }
    if (this.#until !== undefined && rec.timeNanos > this.#until) {
      this.#pastUntil = true;
      return;
    }
    if (rec.stream === "stdout" ? this.#opts.stdout === false : this.#opts.stderr === false) return;
    out.push(rec);
  }

  /** Yields the complete lines of `src` up to `limit` (or its current end). */
  async *#drain(src: FileLines, limit?: number): AsyncGenerator<LogRecord, void, undefined> {
    const out: LogRecord[] = [];
    const onLine = (buf: Buffer, s: number, e: number): void => {
      if (!this.#pastUntil) this.#accept(buf, s, e, out);
    };
    while (!this.#aborted && !this.#pastUntil && (await src.next(onLine, limit))) {
      for (const r of out) yield r;
      out.length = 0;
    }
    for (const r of out) yield r;
  }

  /** Reads a whole file that will not grow (rotated); a trailing unfinished line is corrupt. */
  async *#readRotated(path: string): AsyncGenerator<LogRecord, void, undefined> {
    const f = await openIfExists(path);
    if (f === undefined) return;
    try {
      const src = new FileLines(f.fh, 0);
      yield* this.#drain(src);
      if (src.remainder > 0) this.#corrupt++;
    } finally {
      await f.fh.close().catch(() => {});
    }
  }

  async *#run(): AsyncGenerator<LogRecord, void, undefined> {
    try {
      if (this.#aborted) return;
      yield* this.#read();
    } finally {
      this.#setReady();
      this.#opts.signal?.removeEventListener("abort", this.#onAbort);
    }
  }

  async *#read(): AsyncGenerator<LogRecord, void, undefined> {
    const files = await openSnapshot(this.#path, this.#opts.maxFile);
    const maxFile = this.#opts.maxFile ?? MAX_PROBED_FILES;
    const current = files.length > 0 && files[files.length - 1]!.path === this.#path ? files.pop() : undefined;
    let follower: FileLines | undefined;
    let cur: OpenFile | undefined = current;
    try {
      // Where each file's history starts: everything, or the last `tail` lines across files.
      const starts = new Map<OpenFile, number>();
      const all = current === undefined ? files : [...files, current];
      if (this.#tail === undefined) {
        for (const f of all) starts.set(f, 0);
      } else {
        let remaining = this.#tail;
        for (let i = all.length - 1; i >= 0; i--) {
          const f = all[i]!;
          const { start, lines } = await tailStart(f.fh, f.size, remaining);
          starts.set(f, start);
          remaining -= lines;
          if (remaining === 0) {
            for (let j = i - 1; j >= 0; j--) starts.set(all[j]!, all[j]!.size);
            break;
          }
        }
      }

      // The snapshot is fixed: anything written from now on is for the follower.
      this.#setReady();

      for (const f of files) {
        const start = starts.get(f)!;
        if (start < f.size) {
          const src = new FileLines(f.fh, start);
          yield* this.#drain(src, f.size);
          if (src.remainder > 0 && !this.#pastUntil) this.#corrupt++;
        }
        await f.fh.close().catch(() => {});
        if (this.#pastUntil || this.#aborted) return;
      }
      files.length = 0;

      if (current !== undefined) {
        follower = new FileLines(current.fh, starts.get(current)!);
        yield* this.#drain(follower, current.size);
        if (this.#pastUntil || this.#aborted) return;
      }
      if (this.#opts.follow !== true) return;
      yield* this.#follow(cur, follower, maxFile, (c) => { cur = c; });
    } finally {
      await Promise.all([...files, ...(cur ? [cur] : [])].map((f) => f.fh.close().catch(() => {})));
    }
  }

  /** Follows the current file as it grows and rotates. `setCur` keeps `#run`'s cleanup right. */
  async *#follow(
    start: OpenFile | undefined, startLines: FileLines | undefined, maxFile: number,
    setCur: (c: OpenFile | undefined) => void,
  ): AsyncGenerator<LogRecord, void, undefined> {
    let cur = start;
    let lines = startLines;
    const waker = new Waker();
    let watcher: FSWatcher | undefined;
    let pollMs = this.#opts.pollInterval ?? 1000;
    const base = basename(this.#path);
    try {
      watcher = watch(dirname(this.#path), { persistent: true }, (_event, name) => {
        if (name === null || name.startsWith(base)) waker.notify();
      });
      watcher.on("error", () => {
        watcher?.close();
        watcher = undefined;
        pollMs = Math.min(pollMs, 250);
        waker.notify();
      });
    } catch {
      watcher = undefined;
      pollMs = Math.min(pollMs, 250);
    }
    let finishing = false;
    let ending = false;
    const end = (): void => { ending = true; waker.notify(); };
    if (this.#opts.done !== undefined) Promise.resolve(this.#opts.done).then(end, end);
    const abort = (): void => waker.notify();
    this.#internal.signal.addEventListener("abort", abort, { once: true });
    let untilTimer: NodeJS.Timeout | undefined;
    if (this.#until !== undefined) {
      const ms = Number(this.#until / 1_000_000n) - Date.now() + 1;
      if (ms <= 0) end();
      else if (ms < 2 ** 31) untilTimer = setTimeout(end, ms);
    }
    try {
      for (;;) {
        if (this.#aborted || this.#pastUntil) return;
        waker.consume();
        if (cur === undefined) {
          cur = await openIfExists(this.#path);
          setCur(cur);
          lines = cur === undefined ? undefined : new FileLines(cur.fh, 0);
        }
        if (cur !== undefined && lines !== undefined) {
          yield* this.#drain(lines);
          if (this.#aborted || this.#pastUntil) return;
          const st = await statIfExists(this.#path);
          if (st === undefined || st.ino !== cur.ino || st.dev !== cur.dev) {
            // Rotated: the writer closed this file before renaming it, so what it holds now is
            // all it will ever hold. Read the rest, then any rotated file we never saw, then the
            // new current file.
            yield* this.#drain(lines);
            if (this.#aborted || this.#pastUntil) return;
            if (lines.remainder > 0) this.#corrupt++;
            const old = cur;
            cur = undefined;
            setCur(undefined);
            await old.fh.close().catch(() => {});
            yield* this.#missedRotations(old, maxFile);
            continue;
          }
          if ((await cur.fh.stat()).size < lines.pos) lines.reset(0); // truncated in place
        }
        if (finishing) return;
        if (ending) {
          // No more writes: one more pass picks up whatever was written before the end.
          finishing = true;
          continue;
        }
        await waker.wait(pollMs);
      }
    } finally {
      this.#internal.signal.removeEventListener("abort", abort);
      if (untilTimer !== undefined) clearTimeout(untilTimer);
      watcher?.close();
    }
  }

  /**
   * After the followed file was rotated away: if it now sits at `path.k` with k > 1, the files
   * `path.(k−1)` … `path.1` were written and rotated while we were not looking; if it is gone
   * (dropped after max-file rotations), every rotated file there is newer than it. Read those,
   * oldest first, before the new current file. (dockerd skips them with a warning.)
   */
  async *#missedRotations(old: OpenFile, maxFile: number): AsyncGenerator<LogRecord, void, undefined> {
    let newer = 0;
    for (let i = 1; i < maxFile && i < MAX_PROBED_FILES; i++) {
      const st = await statIfExists(`${this.#path}.${i}`);
      if (st === undefined || (st.ino === old.ino && st.dev === old.dev)) break;
      newer = i;
    }
    for (let i = newer; i >= 1; i--) {
      yield* this.#readRotated(`${this.#path}.${i}`);
      if (this.#aborted || this.#pastUntil) return;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<LogRecord> {
    this.#gen ??= this.#run();
    return this.#gen;
  }

  async close(): Promise<void> {
    this.#internal.abort();
    this.#gen ??= this.#run();
    await this.#gen.return(undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Reads a json-file log written by `createJsonFileLogger` (or by dockerd): the rotated files
 * oldest first, then the current one; optionally the last `tail` records only, filtered by time
 * and stream, and following the file as it grows. Corrupt lines are skipped and counted. One
 * iteration per reader. See docs/logs.md.
 */
export function readLogs(path: string, opts: ReadLogsOptions = {}): LogReader {
  return new JsonFileReader(path, opts);
}
