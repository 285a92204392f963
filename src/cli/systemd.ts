// What a systemd service needs from berthd, without libsystemd: the sockets systemd opened for
// it ($LISTEN_FDS/$LISTEN_PID, descriptors from 3, `-H fd://`), and sd_notify's datagrams
// (READY=1, RELOADING=1, STOPPING=1) to $NOTIFY_SOCKET. Node has no unix datagram sockets, so
// socket(2) and sendto(2) are called through koffi (as src/libcontainerd/fifo.ts calls mkfifo).
import { errno, libcFunc } from "../base/libc.js";
import { errInvalidArgument } from "../base/errors.js";

export const SD_LISTEN_FDS_START = 3;

/**
 * The descriptors passed by socket activation, when they are meant for this process. The
 * variables are removed, as sd_listen_fds(unset=1) does, so that children do not see them.
 */
export function takeListenFds(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number[] {
  const n = Number(env.LISTEN_FDS ?? "0");
  const forMe = env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) === pid;
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  if (!forMe || !Number.isInteger(n) || n <= 0) return [];
  return Array.from({ length: n }, (_, i) => SD_LISTEN_FDS_START + i);
}

/**
 * The descriptors `-H fd://` and `-H fd://N` name: all of them, or the one numbered N (as
 * dockerd reads it). An fd host without activated sockets is an error.
 */
export function fdsForHost(host: string, fds: readonly number[]): number[] {
  const rest = host.slice("fd://".length);
  if (fds.length === 0) throw errInvalidArgument(`-H ${host}: no sockets were passed by systemd socket activation ($LISTEN_FDS is not set for this process)`);
  if (rest === "" || rest === "*") return [...fds];
  const n = Number(rest);
  if (!Number.isInteger(n) || !fds.includes(n)) throw errInvalidArgument(`-H ${host}: descriptor ${rest} is not among the activated sockets (${fds.join(", ")})`);
  return [n];
}

export const isFdHost = (h: string) => h.startsWith("fd://");

/** sockaddr_un for `path` ("@name" is in the abstract namespace) and its length. */
export function sockaddrUn(path: string): { addr: Buffer; length: number } {
  const name = Buffer.from(path.startsWith("@") ? "\0" + path.slice(1) : path);
  if (name.length >= 108) throw errInvalidArgument(`NOTIFY_SOCKET ${path} is too long`);
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(1 /* AF_UNIX */, 0);
  name.copy(addr, 2);
  // A path is NUL-terminated; an abstract name is exactly its bytes.
  return { addr, length: 2 + name.length + (path.startsWith("@") ? 0 : 1) };
}

let fns: { socket: (d: number, t: number, p: number) => number; sendto: (fd: number, b: Buffer, n: number, f: number, a: Buffer, l: number) => number; close: (fd: number) => number; errno: () => number } | undefined;

function libc() {
  if (!fns) {
    fns = {
      socket: libcFunc("int socket(int domain, int type, int protocol)"),
      sendto: libcFunc("intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)"),
      close: libcFunc("int close(int fd)"),
      errno,
    };
  }
  return fns;
}

let notifySocket: string | undefined;

/**
 * Takes $NOTIFY_SOCKET out of the environment (kept for sdNotify): children such as the embedded
 * containerd would otherwise notify systemd themselves, and their READY=1 is not berthd's.
 */
export function takeNotifySocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NOTIFY_SOCKET) notifySocket = env.NOTIFY_SOCKET;
  delete env.NOTIFY_SOCKET;
  return notifySocket;
}

/**
 * Sends `state` ("READY=1", "STOPPING=1", ...) to the service manager at `target` (default: the
 * socket takeNotifySocket took). Without one (not started by systemd with Type=notify) it does
 * nothing and returns false.
 */
export function sdNotify(state: string, target: string | undefined = notifySocket): boolean {
  if (!target) return false;
  const { addr, length } = sockaddrUn(target);
  const c = libc();
  const fd = c.socket(1 /* AF_UNIX */, 2 /* SOCK_DGRAM */ | 0o2000000 /* SOCK_CLOEXEC */, 0);
  if (fd < 0) throw new Error(`sd_notify: socket: errno ${c.errno()}`);
  try {
    const msg = Buffer.from(state);
    if (c.sendto(fd, msg, msg.length, 0x4000 /* MSG_NOSIGNAL */, addr, length) < 0) throw new Error(`sd_notify to ${target}: errno ${c.errno()}`);
  } finally {
    c.close(fd);
  }
  return true;
}
