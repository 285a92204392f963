// Shared by the oci option tests: the default spec's shape and small readers of a built spec.
import assert from "node:assert/strict";

import { isBerthError } from "../../../base/errors.js";
import type { Spec } from "../../../containerd/oci/spec-types.js";
import { type SpecOpt, buildSpec } from "../spec-opt.js";

export const PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
export const DEFAULT_MOUNT_DESTINATIONS = ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"];

/** Asserts a BerthError of kind invalid-argument with exactly this message. */
export function assertInvalid(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isBerthError(e, "invalid-argument"), `expected invalid-argument, got ${String(e)}`);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

export const build = (...opts: SpecOpt[]): Spec => buildSpec(opts);
export const env = (s: Spec) => s.process?.env;
export const caps = (s: Spec) => s.process?.capabilities;
export const mountsOf = (s: Spec) => (s.mounts ?? []).map((m) => m.destination);
export const mountAt = (s: Spec, dest: string) => s.mounts?.find((m) => m.destination === dest);
