/**
 * Composable spec options in the style of containerd's `oci.SpecOpts`: each is a function that
 * mutates a `Spec` in place, and `buildSpec` applies a list of them, in order, to `defaultSpec()`.
 *
 * The options (process.ts, user.ts, capabilities.ts, security.ts, resources.ts, rootfs.ts,
 * mounts.ts, namespaces.ts, devices.ts, ...) reproduce what dockerd 20.10 does to its default spec
 * for the matching container settings (moby `daemon/oci_linux.go`, `daemon/daemon_unix.go`,
 * `oci/caps/utils.go`, runc `libcontainer/user`), including dockerd's validation messages, so the
 * docker CLI shows the same errors. Every validation failure is a BerthError of kind
 * "invalid-argument".
 *
 * Pure: no I/O. Where dockerd asks the host (does a bind source exist, how many CPUs, does a
 * sysctl exist, is swap accounting on), the question is a parameter.
 *
 * Options are written to commute where dockerd's result does not depend on order (user vs
 * capabilities, hostname vs env, the mount list); where it does, the doc comment says so.
 */
import { errInvalidArgument } from "../../base/errors.js";
import type { Linux, LinuxResources, Process, Spec } from "../../containerd/oci/spec-types.js";
import { defaultSpec } from "./default-spec.js";

export type SpecOpt = (spec: Spec) => void;

/** `defaultSpec()` with `opts` applied in order. */
export function buildSpec(opts: readonly SpecOpt[]): Spec {
  return applySpecOpts(defaultSpec(), opts);
}

/** Applies `opts` in order to an existing spec (e.g. one read back from containerd). */
export function applySpecOpts(spec: Spec, opts: readonly SpecOpt[]): Spec {
  for (const opt of opts) opt(spec);
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Small helpers the option modules share

export function processOf(spec: Spec): Process {
  spec.process ??= { user: { uid: 0, gid: 0 }, cwd: "/" };
  return spec.process;
}

export function linuxOf(spec: Spec): Linux {
  spec.linux ??= {};
  return spec.linux;
}

export function resourcesOf(spec: Spec): LinuxResources {
  const linux = linuxOf(spec);
  linux.resources ??= {};
  return linux.resources;
}

export function sysctlOf(spec: Spec): Record<string, string> {
  const linux = linuxOf(spec);
  linux.sysctl ??= {};
  return linux.sysctl;
}

/** Drops an emptied sysctl map, so a spec reads as dockerd's (which omits an empty one). */
export function pruneSysctl(spec: Spec): void {
  if (spec.linux?.sysctl && Object.keys(spec.linux.sysctl).length === 0) delete spec.linux.sysctl;
}

export function requireInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw errInvalidArgument(`${what} must be an integer, got ${value}`);
}

export function dedupe<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
