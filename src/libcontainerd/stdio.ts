import fs from "node:fs/promises";
import { rmSync } from "node:fs";
import type net from "node:net";
import path from "node:path";
import { mkfifo, openFifoReader, openFifoWriter } from "./fifo.js";
import type { AttachStdio, ProcessStreams } from "./types.js";

/** FIFO paths as containerd takes them in Tasks/Create and Tasks/Exec ("" = none). */
export interface FifoPaths {
  stdin: string;
  stdout: string;
  stderr: string;
}

export const NO_FIFOS: FifoPaths = { stdin: "", stdout: "", stderr: "" };

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
  static async create(dir: string, processId: string, o: { withStdin: boolean; terminal: boolean; attach: AttachStdio }): Promise<ProcessIO> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const paths: FifoPaths = {
      stdin: o.withStdin ? path.join(dir, `${processId}-stdin`) : "",
      stdout: path.join(dir, `${processId}-stdout`),
      stderr: o.terminal ? "" : path.join(dir, `${processId}-stderr`),
    };
    const made: string[] = [];
    try {
      for (const p of [paths.stdin, paths.stdout, paths.stderr]) {
        if (!p) continue;
        // A leftover from a crash would make mkfifo fail with EEXIST; it is ours to replace.
        await fs.rm(p, { force: true });
        mkfifo(p);
        made.push(p);
      }
      return ProcessIO.open(paths, o.terminal, o.attach);
    } catch (e) {
      for (const p of made) rmSync(p, { force: true });
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

  /** Closes our ends and removes the FIFO files. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    // Off the main thread: nothing reopens these paths (a new process gets new FIFOs).
    for (const p of [this.paths.stdin, this.paths.stdout, this.paths.stderr]) if (p) void fs.rm(p, { force: true }).catch(() => {});
  }
}
