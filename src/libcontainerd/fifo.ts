import fs from "node:fs";
import net from "node:net";
import { errno as libcErrno, libcFunc } from "../base/libc.js";

// libc's mkfifo through FFI: ~0.24 ms a FIFO, against ~3 ms for spawning mkfifo(1)
// (toolchain-facts §3). Loaded on first use.
// Node opens every fd with O_CLOEXEC already (libuv), so shims and runc never inherit ours.
let mkfifoFn: ((path: string, mode: number) => number) | undefined;
let errnoFn: (() => number) | undefined;

function libc() {
  if (!mkfifoFn) {
    mkfifoFn = libcFunc<(p: string, m: number) => number>("int mkfifo(const char *path, uint32_t mode)");
    errnoFn = libcErrno;
  }
  return { mkfifo: mkfifoFn, errno: errnoFn! };
}

const errnoNames: Record<number, string> = { 17: "EEXIST", 2: "ENOENT", 13: "EACCES", 28: "ENOSPC", 20: "ENOTDIR" };

/** Creates a FIFO at `path` (mode 0600 by default) without spawning a process. */
export function mkfifo(path: string, mode = 0o600): void {
  const { mkfifo: fn, errno } = libc();
  if (fn(path, mode) !== 0) {
    const n = errno();
    const code = errnoNames[n] ?? `errno ${n}`;
    const err = new Error(`mkfifo ${path}: ${code}`) as NodeJS.ErrnoException;
    err.code = code;
    err.errno = n;
    err.path = path;
    throw err;
  }
}

/**
 * The read end of a FIFO as a socket on libuv's epoll loop. Opened O_NONBLOCK, so it neither
 * blocks without a writer nor occupies a libuv pool thread (fs.createReadStream on a FIFO pins
 * one of the 4 threads for the FIFO's lifetime). EOF arrives once every writer has closed.
 */
export function openFifoReader(path: string): net.Socket {
  const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  return new net.Socket({ fd, readable: true, writable: false });
}

/**
 * The write end of a stdin FIFO. O_RDWR because O_WRONLY|O_NONBLOCK fails with ENXIO until the
 * shim opens its read end; `readable: false` so we never read back our own data.
 */
export function openFifoWriter(path: string): net.Socket {
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  return new net.Socket({ fd, readable: false, writable: true });
}
