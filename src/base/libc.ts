// libc through FFI (koffi), for the few calls Node lacks: mkfifo (libcontainerd/fifo.ts), mknod
// and extended attributes (native-fs.ts), socket/sendto for sd_notify (cli/systemd.ts). koffi and
// its native addon load on the first such call, not with berthd: a daemon that has run no
// container yet has no use for them (docs/performance.md, "A lean daemon").
import { createRequire } from "node:module";

type Koffi = typeof import("koffi");
type Lib = ReturnType<Koffi["load"]>;

let state: { koffi: Koffi; lib: Lib; errno: () => number } | undefined;

function open() {
  if (!state) {
    const koffi = createRequire(import.meta.url)("koffi") as Koffi;
    const lib = koffi.load("libc.so.6");
    const loc = lib.func("int *__errno_location(void)") as () => unknown;
    state = { koffi, lib, errno: () => koffi.decode(loc(), "int") as number };
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
