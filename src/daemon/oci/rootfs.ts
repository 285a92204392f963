/** The root filesystem, the cgroup path and the /dev/shm size. */
import { posix } from "node:path";

import { errInvalidArgument } from "../../base/errors.js";
import { goQuote as quote } from "../../base/go-parse.js";
import { DEFAULT_SHM_SIZE } from "./default-spec.js";
import { type SpecOpt, linuxOf, requireInteger } from "./spec-opt.js";

/**
 * --read-only. Apply before withHostsAndResolvConf (or pass it `readonly`): dockerd mounts
 * /etc/hosts, /etc/resolv.conf and /etc/hostname read-only in a read-only container.
 */
export function withReadonlyRootfs(readonly = true): SpecOpt {
  return (spec) => {
    spec.root ??= { path: "rootfs" };
    if (readonly) spec.root.readonly = true;
    else delete spec.root.readonly;
  };
}

/** A plain-directory rootfs (no snapshot): root.path must then be absolute. */
export function withRootfsPath(path: string): SpecOpt {
  if (!posix.isAbsolute(path)) throw errInvalidArgument(`rootfs path must be absolute, got ${quote(path)}`);
  return (spec) => {
    const readonly = spec.root?.readonly;
    spec.root = { path, ...(readonly ? { readonly } : {}) };
  };
}

/** cgroupfs driver: e.g. "/berth/<id>"; systemd driver: "slice:prefix:name". */
export function withCgroupsPath(path: string): SpecOpt {
  if (path === "") throw errInvalidArgument("cgroups path must not be empty");
  return (spec) => {
    linuxOf(spec).cgroupsPath = path;
  };
}

/** --shm-size in bytes (0: dockerd's 64 MiB) on the default /dev/shm tmpfs. */
export function withShmSize(bytes: number): SpecOpt {
  requireInteger(bytes, "SHM size");
  if (bytes < 0) throw errInvalidArgument("SHM size can not be less than 0");
  const size = bytes === 0 ? DEFAULT_SHM_SIZE : bytes;
  return (spec) => {
    for (const m of spec.mounts ?? []) {
      // Only the default mount: a container's own /dev/shm mount keeps its options.
      if (m.destination !== "/dev/shm" || m.source !== "shm") continue;
      m.options = [...(m.options ?? []).filter((o) => !o.startsWith("size=")), `size=${size}`];
    }
  };
}
