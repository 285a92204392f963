// libc through FFI (koffi), for the few calls Node lacks: mkfifo (libcontainerd/fifo.ts), mknod
// and extended attributes (native-fs.ts), socket/sendto for sd_notify (cli/systemd.ts),
// namespaces and mounts (network/netns-sys.ts). koffi and
// its native addon load on the first such call, not with berthd: a daemon that has run no
// container yet has no use for them (docs/performance.md, "A lean daemon").
import { createRequire } from "node:module";

type Koffi = typeof import("koffi");
type Lib = ReturnType<Koffi["load"]>;

let state: { koffi: Koffi; lib: Lib; errno: () => number } | undefined;

function open() {
  if (!state) {
    const koffi = createRequire(import.meta.url)("koffi") as Koffi;
    // koffi keeps the errno of the last call it made (reading errno through another call could
    // see it changed).
    state = { koffi, lib: koffi.load("libc.so.6"), errno: () => koffi.errno() };
  }
  return state;
}

/** A libc function from its C prototype, e.g. `int mkfifo(const char *path, uint32_t mode)`. */
export function libcFunc<F>(prototype: string): F {
  return open().lib.func(prototype) as F;
}

/** errno after the last libc call that failed. */
export function errno(): number {
  return open().errno();
}
