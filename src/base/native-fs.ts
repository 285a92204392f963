// The few filesystem calls Node lacks, from libc through FFI (koffi): mknod for whiteouts and
// device nodes, and extended attributes (overlayfs marks opaque directories with one).
import { errno, libcFunc } from "./libc.js";

interface Libc {
  mknod(path: string, mode: number, dev: bigint): number;
  lsetxattr(path: string, name: string, value: Buffer, size: number, flags: number): number;
  lgetxattr(path: string, name: string, value: Buffer | null, size: number): number;
  errno(): number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (!libc) {
    libc = {
      mknod: libcFunc<Libc["mknod"]>("int mknod(const char *path, uint32_t mode, uint64_t dev)"),
      lsetxattr: libcFunc<Libc["lsetxattr"]>("int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)"),
      lgetxattr: libcFunc<Libc["lgetxattr"]>("long lgetxattr(const char *path, const char *name, void *value, size_t size)"),
      errno,
    };
  }
  return libc;
}

const errnoNames: Record<number, string> = { 1: "EPERM", 2: "ENOENT", 13: "EACCES", 17: "EEXIST", 20: "ENOTDIR", 28: "ENOSPC", 61: "ENODATA", 95: "EOPNOTSUPP" };

function fail(call: string, path: string): never {
  const n = load().errno();
  const code = errnoNames[n] ?? `errno ${n}`;
  const err = new Error(`${call} ${path}: ${code}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = n;
  err.path = path;
  throw err;
}

/** glibc's makedev for a device number. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major), mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

/** mknod(2): `mode` carries the file type (S_IFCHR, S_IFBLK, S_IFIFO) and permission bits. */
export function mknod(path: string, mode: number, dev = 0n): void {
  if (load().mknod(path, mode, dev) !== 0) fail("mknod", path);
}

/** lsetxattr(2): sets an extended attribute on the path itself (a symlink is not followed). */
export function lsetxattr(path: string, name: string, value: Buffer | string): void {
  const v = typeof value === "string" ? Buffer.from(value) : value;
  if (load().lsetxattr(path, name, v, v.length, 0) !== 0) fail("lsetxattr", path);
}

/** lgetxattr(2): the attribute's value, or undefined when the path has none of that name. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const c = load();
  const size = Number(c.lgetxattr(path, name, null, 0));
  if (size < 0) { if (c.errno() === 61) return undefined; fail("lgetxattr", path); }
  const buf = Buffer.alloc(size);
  const n = Number(c.lgetxattr(path, name, buf, size));
  if (n < 0) fail("lgetxattr", path);
  return buf.subarray(0, n);
}
