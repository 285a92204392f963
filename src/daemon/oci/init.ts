/** docker run --init: a small init (tini) as PID 1 that reaps zombies and forwards signals. */
import { existsSync } from "node:fs";
import path from "node:path";
import { posix } from "node:path";

import { errInvalidArgument } from "../../base/errors.js";
import { type SpecOpt, processOf } from "./spec-opt.js";

/** Where dockerd puts the init inside the container. */
export const INIT_IN_CONTAINER = "/sbin/docker-init";

/**
 * Binds the init binary read-only at /sbin/docker-init and makes it run the container's command
 * (`docker-init -- <args>`), as dockerd's WithInit does. Apply after withArgs.
 */
export function withInit(hostPath: string): SpecOpt {
  if (!posix.isAbsolute(hostPath)) throw errInvalidArgument(`init path must be absolute, got ${JSON.stringify(hostPath)}`);
  return (spec) => {
    const p = processOf(spec);
    p.args = [INIT_IN_CONTAINER, "--", ...(p.args ?? [])];
    (spec.mounts ??= []).push({ destination: INIT_IN_CONTAINER, type: "bind", source: hostPath, options: ["bind", "ro"] });
  };
}

/**
 * The init binary on this host: Debian's `tini` package ships a static `tini-static` (a dynamic
 * binary could not run in an arbitrary image); dockerd's own `docker-init` from PATH otherwise.
 * Undefined when there is neither.
 */
export function findInitBinary(o: { pathEnv?: string; exists?: (p: string) => boolean } = {}): string | undefined {
  const exists = o.exists ?? existsSync;
  const dirs = (o.pathEnv ?? process.env.PATH ?? "").split(":").filter((d) => path.isAbsolute(d));
  for (const name of ["tini-static", "docker-init"]) {
    for (const dir of [...dirs, "/usr/bin", "/usr/sbin", "/usr/libexec/docker"]) {
      const candidate = path.join(dir, name);
      if (exists(candidate)) return candidate;
    }
  }
  return undefined;
}
