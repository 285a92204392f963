import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import { rmSync } from "node:fs";
import type net from "node:net";
import path from "node:path";
import { mkfifo, openFifoReader, openFifoWriter } from "./fifo.js";
import type { Readable } from "node:stream";
import type { AttachStdio, ProcessStreams } from "./types.js";

/** FIFO paths as containerd takes them in Tasks/Create and Tasks/Exec ("" = none). */
export interface FifoPaths {
  stdin: string;
  stdout: string;
  stderr: string;
}

export const NO_FIFOS: FifoPaths = { stdin: "", stdout: "", stderr: "" };

/** Free FIFOs kept per directory (beyond that, a returned FIFO is removed). */
const POOL_MAX_FREE = 4;

/**
 * Output FIFOs of execs, kept for the next exec of the same container. Making a FIFO and
 * removing it are two journalled metadata writes each (plus the directory's mkdir and the
 * lstat before each removal): per `docker exec`, four of them for stdout and stderr. A FIFO
 * comes back only once our reader saw EOF after the process was deleted, so no writer holds
 * it and nothing is left in it; a stdin FIFO is never pooled (what the process did not read
 * would reach the next one). Names carry a prefix of this pool, so files an earlier berthd
 * left are never taken; they go with the container's directory.
 */
export class FifoPool {
  readonly #free = new Map<string, string[]>();
  readonly #prefix = `x${randomBytes(3).toString("hex")}`;
  #seq = 0;

  /** A FIFO in `dir` that no one has open: a free one, else a new one. */
  async take(dir: string): Promise<string> {
    const free = this.#free.get(dir);
    if (free === undefined) {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      this.#free.set(dir, []);
    } else {
      const p = free.pop();
      if (p !== undefined) return p;
    }
    const p = path.join(dir, `${this.#prefix}-${++this.#seq}`);
    await fs.rm(p, { force: true });
    mkfifo(p);
    return p;
  }

  /** Returns a FIFO whose reader saw EOF and whose writers are gone. */
  give(p: string): void {
    const free = this.#free.get(path.dirname(p));
    if (free !== undefined && free.length < POOL_MAX_FREE) free.push(p);
    else void fs.rm(p, { force: true }).catch(() => {});
  }

  /** The directory is being removed (the container is deleted). */
  forget(dir: string): void {
    this.#free.delete(dir);
  }
}

/**
 * A process's stdio: the FIFOs in the container's directory and our ends of them.
 * Layout `<dir>/<processId>-stdin|-stdout|-stderr`. stdout and stderr exist together or not at
 * all (the shim fails Tasks/Create on stdout set and stderr ""), and a terminal has no stderr.
 */
export class ProcessIO {
  readonly paths: FifoPaths;
  readonly streams: ProcessStreams;
  readonly #sockets: net.Socket[];
  readonly #readersEnded: Promise<void>;
  /** Where stdout and stderr go back to on close, when they came from a pool. */
  #pool: FifoPool | undefined;
  #closed = false;
  #process: { closeStdin(): Promise<void> } | undefined;
  #closeStdinRequested = false;

  private constructor(paths: FifoPaths, streams: Omit<ProcessStreams, "closeStdin">, sockets: net.Socket[]) {
    this.paths = paths;
    this.streams = { ...streams, closeStdin: () => this.#requestCloseStdin() };
    this.#sockets = sockets;
    const readers = [streams.stdout, streams.stderr].filter((s): s is net.Socket => s !== undefined) as net.Socket[];
    this.#readersEnded = Promise.all(readers.map((r) => new Promise<void>((resolve) => {
      if (r.readableEnded || r.destroyed) return resolve();
      r.once("end", () => resolve());
      r.once("close", () => resolve());
    }))).then(() => undefined);
  }

  /**
   * Makes the FIFOs and opens our ends before the process exists, as Go's cio does: a reader
   * opened early never sees a premature EOF (no HUP on a FIFO that never had a writer).
   */
  static async create(
    dir: string,
    processId: string,
    o: { withStdin: boolean; terminal: boolean; attach: AttachStdio; pool?: FifoPool },
  ): Promise<ProcessIO> {
    const pool = o.pool;
    const paths: FifoPaths = { stdin: "", stdout: "", stderr: "" };
    const made: string[] = [];
    const taken: string[] = [];
    try {
      if (pool) {
        paths.stdout = await pool.take(dir);
        taken.push(paths.stdout);
        if (!o.terminal) {
          paths.stderr = await pool.take(dir);
          taken.push(paths.stderr);
        }
      } else {
        await fs.mkdir(dir, { recursive: true, mode: 0o700 });
        paths.stdout = path.join(dir, `${processId}-stdout`);
        paths.stderr = o.terminal ? "" : path.join(dir, `${processId}-stderr`);
        made.push(paths.stdout, paths.stderr);
      }
      if (o.withStdin) {
        paths.stdin = path.join(dir, `${processId}-stdin`);
        made.push(paths.stdin);
      }
      for (const p of made) {
        if (!p) continue;
        // A leftover from a crash would make mkfifo fail with EEXIST; it is ours to replace.
        await fs.rm(p, { force: true });
        mkfifo(p);
      }
      const io = ProcessIO.open(paths, o.terminal, o.attach);
      io.#pool = pool;
      return io;
    } catch (e) {
      for (const p of made) if (p) rmSync(p, { force: true });
      // Never opened by anyone: still free.
      for (const p of taken) pool!.give(p);
      throw e;
    }
  }

  /** Opens our ends of existing FIFOs (re-attach after a restart of berth). */
  static open(paths: FifoPaths, terminal: boolean, attach: AttachStdio): ProcessIO {
    const sockets: net.Socket[] = [];
    try {
      const stdin = paths.stdin ? openFifoWriter(paths.stdin) : undefined;
      if (stdin) sockets.push(stdin);
      const stdout = paths.stdout ? openFifoReader(paths.stdout) : undefined;
      if (stdout) sockets.push(stdout);
      const stderr = paths.stderr && !terminal ? openFifoReader(paths.stderr) : undefined;
      if (stderr) sockets.push(stderr);
      // Writes after the process died would fill the pipe and then wait forever (our O_RDWR end
      // is also a reader); errors on stdin are the consumer's to see, never a crash.
      stdin?.on("error", () => {});
      const io = new ProcessIO(paths, { stdin, stdout, stderr, terminal }, sockets);
      attach(io.streams);
      return io;
    } catch (e) {
      for (const s of sockets) s.destroy();
      throw e;
    }
  }

  #requestCloseStdin(): void {
    if (this.#closeStdinRequested) return;
    this.#closeStdinRequested = true;
    // Without a process yet, the close waits for bind(): see ProcessImpl.closeStdin.
    if (this.#process) void this.#process.closeStdin().catch(() => {});
  }

  /** The process these streams belong to, once it exists: a pending stdin close goes to it. */
  bind(p: { closeStdin(): Promise<void> }): void {
    this.#process = p;
    if (this.#closeStdinRequested) void p.closeStdin().catch(() => {});
  }

  /** Ends our write end of stdin (the caller then sends Tasks/CloseIO). */
  endStdin(): void {
    const s = this.streams.stdin;
    if (s && !s.writableEnded) s.end();
  }

  /** Resolves once both readers have seen EOF (the shim closed its ends), or at `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => { timer = setTimeout(() => r(false), timeoutMs); });
    const ok = await Promise.race([this.#readersEnded.then(() => true), timedOut]);
    clearTimeout(timer);
    return ok;
  }

  /**
   * Closes our ends but leaves the FIFO files: the process lives on (berthd stopping with live
   * restore) and a later attach reopens them.
   */
  detach(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
  }

  /**
   * Closes our ends and removes the FIFO files, or gives pooled output FIFOs back when their
   * reader saw EOF (every writer closed them). Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const { stdout, stderr } = this.streams;
    const reusable = (s: net.Socket | Readable | undefined) => s !== undefined && s.readableEnded;
    const back = this.#pool !== undefined && reusable(stdout) && (this.paths.stderr === "" || reusable(stderr));
    for (const s of this.#sockets) s.destroy();
    for (const p of [this.paths.stdin, this.paths.stdout, this.paths.stderr]) {
      if (!p) continue;
      if (back && p !== this.paths.stdin) this.#pool!.give(p);
      // Off the main thread: nothing reopens these paths (a new process gets new FIFOs).
      else void fs.rm(p, { force: true }).catch(() => {});
    }
  }
}
