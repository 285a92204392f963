/**
 * Network namespace files made and unmade with system calls from berthd's own thread (libc through
 * koffi), where `unshare --net=<file>`, `ip link set lo up` and `umount -l` would each fork and
 * exec: forking a Node process costs time proportional to its memory on the event loop's thread
 * (~7–15 ms at berthd's size on the 2-core test VM), for every container start and removal.
 *
 * makeNetnsFile: unshare(CLONE_NEWNET) moves the calling thread alone into a new namespace; a bind
 * mount of /proc/thread-self/ns/net on the file keeps the namespace alive; the loopback interface
 * is brought up there (SIOCSIFFLAGS on a socket of the new namespace: the kernel then gives it
 * 127.0.0.1); setns() returns the thread to the namespace it was in. All of it is synchronous, so
 * no other JavaScript runs, and no socket is made, while the thread is elsewhere. libuv's pool
 * threads are other threads and never leave the host namespace.
 *
 * Linux only. `netnsSyscalls()` is undefined when libc cannot be loaded (the callers then run the
 * commands).
 */
import { closeSync, openSync } from "node:fs";
import { errno, libcFunc } from "../base/libc.js";

const CLONE_NEWNET = 0x40000000;
const MS_BIND = 4096;
const MNT_DETACH = 2;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 1;
/** struct ifreq: 16 bytes of name, then a union whose first member used here is short ifr_flags. */
const IFREQ_SIZE = 40;

const ERRNO: Record<number, string> = { 1: "EPERM", 2: "ENOENT", 13: "EACCES", 16: "EBUSY", 22: "EINVAL", 38: "ENOSYS" };

export class SyscallError extends Error {
  readonly code: string;
  readonly errno: number;
  constructor(call: string, errno: number) {
    const code = ERRNO[errno] ?? `errno ${errno}`;
    super(`${call}: ${code}`);
    this.code = code;
    this.errno = errno;
  }
}

export interface NetnsSyscalls {
  /** Bind-mounts a new network namespace, its loopback up, on `file` (which must exist). */
  makeNetnsFile(file: string): void;
  /** Lazily unmounts `file` (MNT_DETACH); false when it was not a mount point or is gone. */
  unmount(file: string): boolean;
}

let loaded: NetnsSyscalls | undefined | null = null;

export function netnsSyscalls(): NetnsSyscalls | undefined {
  if (loaded !== null) return loaded;
  try {
    loaded = load();
  } catch {
    loaded = undefined;
  }
  return loaded;
}

function load(): NetnsSyscalls {
  if (process.platform !== "linux") throw new Error("linux only");
  const unshare = libcFunc("int unshare(int flags)") as (f: number) => number;
  const setns = libcFunc("int setns(int fd, int nstype)") as (fd: number, t: number) => number;
  const mount = libcFunc("int mount(const char *src, const char *target, const char *fstype, unsigned long flags, const void *data)") as (
    s: string, t: string, f: string | null, fl: number, d: null) => number;
  const umount2 = libcFunc("int umount2(const char *target, int flags)") as (t: string, f: number) => number;
  const socket = libcFunc("int socket(int domain, int type, int protocol)") as (d: number, t: number, p: number) => number;
  const ioctl = libcFunc("int ioctl(int fd, unsigned long request, ...)") as (fd: number, r: number, ...rest: unknown[]) => number;
  const close = libcFunc("int close(int fd)") as (fd: number) => number;
  const fail = (call: string): never => {
    throw new SyscallError(call, errno());
  };

  const loopbackUp = () => {
    const s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) fail("socket");
    try {
      const req = Buffer.alloc(IFREQ_SIZE);
      req.write("lo", 0, "latin1");
      if (ioctl(s, SIOCGIFFLAGS, "void *", req) !== 0) fail("ioctl SIOCGIFFLAGS lo");
      req.writeInt16LE(req.readInt16LE(16) | IFF_UP, 16);
      if (ioctl(s, SIOCSIFFLAGS, "void *", req) !== 0) fail("ioctl SIOCSIFFLAGS lo");
    } finally {
      close(s);
    }
  };

  return {
    makeNetnsFile(file: string): void {
      const home = openSync("/proc/thread-self/ns/net", "r");
      try {
        if (unshare(CLONE_NEWNET) !== 0) fail("unshare(CLONE_NEWNET)");
        let failure: unknown;
        try {
          if (mount("/proc/thread-self/ns/net", file, null, MS_BIND, null) !== 0) fail(`mount --bind ns/net ${file}`);
          try {
            loopbackUp();
          } catch (e) {
            umount2(file, MNT_DETACH);
            throw e;
          }
        } catch (e) {
          failure = e;
        }
        if (setns(home, CLONE_NEWNET) !== 0) {
          // Never seen: a thread that cannot return would make every later socket in the container's
          // namespace. Stop rather than go on there.
          process.stderr.write(`berth: setns back to the host network namespace failed (errno ${errno()}); aborting\n`);
          process.abort();
        }
        if (failure !== undefined) throw failure;
      } finally {
        closeSync(home);
      }
    },
    unmount(file: string): boolean {
      if (umount2(file, MNT_DETACH) === 0) return true;
      const n = errno();
      if (n === 22 || n === 2) return false; // EINVAL: not a mount point; ENOENT: gone
      throw new SyscallError(`umount2 ${file}`, n);
    },
  };
}
