/**
 * A container's seccomp filter, as dockerd 20.10 chooses and builds it (moby `WithSeccomp` and
 * `profiles/seccomp.setupSeccomp`):
 *
 * - `--security-opt seccomp=unconfined` or Privileged: no filter.
 * - `--security-opt seccomp=<profile JSON>` (the CLI sends a file's content): that profile.
 * - otherwise the daemon's profile (`--seccomp-profile FILE`), else dockerd's default profile.
 *
 * A profile is evaluated per container: `archMap` picks the host architecture's entry, and each
 * syscall group is kept only when its `includes` hold and its `excludes` do not, on the
 * container's bounding capabilities, the host's architecture and kernel version. The result is
 * the OCI `linux.seccomp` that runc loads; exec'd processes run under the same filter.
 *
 * Pure apart from `hostSeccompFacts()` (process.arch, the kernel release), which is a parameter.
 */
import os from "node:os";
import { errInvalidArgument } from "../../base/errors.js";
import type { LinuxSeccomp, LinuxSyscall, Spec } from "../../containerd/oci/spec-types.js";
import { DEFAULT_SECCOMP_PROFILE } from "./seccomp-default-profile.js";
import {
  decodeSeccompProfile,
  parseSeccompProfile,
  type DecodedFilter,
  type KernelVersion,
  type SeccompProfile,
} from "./seccomp-profile.js";

export interface SeccompHost {
  /** libseccomp's native name of the host architecture ("amd64", "arm64", ...); "" if unknown. */
  arch: string;
  /** The kernel release ("6.1.0-18-amd64"); only "<kernel>.<major>" counts. */
  kernelRelease: string;
}

/** Node's process.arch → libseccomp's native name (moby maps Go's GOARCH the same way). */
const NODE_TO_NATIVE: Readonly<Record<string, string>> = {
  x64: "amd64",
  ia32: "x86",
  arm: "arm",
  arm64: "arm64",
  s390: "s390",
  s390x: "s390x",
  ppc: "ppc",
  // Go's GOARCH "mipsle" maps to "mipsel", which moby's second table lacks: no archMap entry.
  mipsel: "mipsel",
};

/** libseccomp's native name → the OCI architecture of the archMap entry to use. */
const NATIVE_TO_OCI: ReadonlyMap<string, string> = new Map([
  ["x86", "SCMP_ARCH_X86"],
  ["amd64", "SCMP_ARCH_X86_64"],
  ["arm", "SCMP_ARCH_ARM"],
  ["arm64", "SCMP_ARCH_AARCH64"],
  ["mips64", "SCMP_ARCH_MIPS64"],
  ["mips64n32", "SCMP_ARCH_MIPS64N32"],
  ["mipsel64", "SCMP_ARCH_MIPSEL64"],
  ["mips3l64n32", "SCMP_ARCH_MIPSEL64N32"],
  ["mipsle", "SCMP_ARCH_MIPSEL"],
  ["ppc", "SCMP_ARCH_PPC"],
  ["ppc64", "SCMP_ARCH_PPC64"],
  ["ppc64le", "SCMP_ARCH_PPC64LE"],
  ["s390", "SCMP_ARCH_S390"],
  ["s390x", "SCMP_ARCH_S390X"],
]);

let hostFacts: SeccompHost | undefined;

/** This host's architecture and kernel release (read once). */
export function hostSeccompFacts(): SeccompHost {
  if (!hostFacts) {
    // Node says "ppc64" for both byte orders; Go's GOARCH tells them apart.
    const arch = process.arch === "ppc64" ? (os.endianness() === "LE" ? "ppc64le" : "ppc64") : (NODE_TO_NATIVE[process.arch] ?? "");
    hostFacts = { arch, kernelRelease: os.release() };
  }
  return hostFacts;
}

/** moby `parseRelease`: the leading "<kernel>.<major>" of a release string. */
export function parseKernelRelease(release: string): KernelVersion {
  const m = /^\s*([+-]?\d+)\.([+-]?\d+)/.exec(release);
  if (!m) throw new Error(`failed to parse kernel version ${JSON.stringify(release)}`);
  return { kernel: Number(m[1]), major: Number(m[2]) };
}

function kernelAtLeast(host: SeccompHost, min: KernelVersion): boolean {
  const kv = parseKernelRelease(host.kernelRelease);
  return kv.kernel > min.kernel || (kv.kernel === min.kernel && kv.major >= min.major);
}

let defaultProfile: SeccompProfile | undefined;

/** dockerd 20.10's default profile, decoded (once). */
export function defaultSeccompProfile(): SeccompProfile {
  return (defaultProfile ??= decodeSeccompProfile(DEFAULT_SECCOMP_PROFILE));
}

/**
 * The OCI filter a profile gives a container whose bounding set is `caps` on `host`, or
 * undefined when the profile has neither a default action nor syscalls (dockerd: no filter).
 */
export function evaluateSeccompProfile(p: SeccompProfile, caps: readonly string[], host: SeccompHost): LinuxSeccomp | undefined {
  if (p.defaultAction === "" && p.syscalls.length === 0) return undefined;
  const have = new Set(caps);
  const architectures = [...p.architectures];
  const ociArch = NATIVE_TO_OCI.get(host.arch);
  if (ociArch !== undefined) {
    const entry = p.archMap.find((a) => a.architecture === ociArch);
    if (entry) architectures.push(entry.architecture, ...entry.subArchitectures);
  }
  // A group is excluded when ANY excluded arch/cap/kernel matches, included only when ALL
  // of its included ones do; an empty list is no condition.
  const excluded = (f: DecodedFilter) =>
    (f.arches.length > 0 && f.arches.includes(host.arch)) ||
    f.caps.some((c) => have.has(c)) ||
    (f.minKernel !== undefined && kernelAtLeast(host, f.minKernel));
  const included = (f: DecodedFilter) =>
    (f.arches.length === 0 || f.arches.includes(host.arch)) &&
    f.caps.every((c) => have.has(c)) &&
    (f.minKernel === undefined || kernelAtLeast(host, f.minKernel));
  const syscalls: LinuxSyscall[] = [];
  for (const s of p.syscalls) {
    if (excluded(s.excludes) || !included(s.includes)) continue;
    if (s.bothNameAndNames) throw errInvalidArgument("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'");
    syscalls.push({
      names: [...s.names],
      action: s.action,
      ...(s.errnoRet !== undefined ? { errnoRet: s.errnoRet } : {}),
      ...(s.args.length > 0 ? { args: s.args.map((a) => ({ ...a })) } : {}),
    });
  }
  return {
    defaultAction: p.defaultAction as LinuxSeccomp["defaultAction"],
    ...(architectures.length > 0 ? { architectures } : {}),
    ...(syscalls.length > 0 ? { syscalls } : {}),
  };
}

/**
 * The daemon-wide default (dockerd's `--seccomp-profile`): the built-in profile, none, or a
 * profile read from a file at daemon start.
 */
export type DaemonSeccomp =
  | { kind: "builtin" }
  | { kind: "unconfined" }
  | { kind: "file"; path: string; profile: SeccompProfile };

/** `--seccomp-profile VALUE` → the daemon default; `read` gives a file's text. */
export async function loadDaemonSeccomp(value: string | undefined, read: (file: string) => Promise<string>): Promise<DaemonSeccomp> {
  // "builtin" and "unconfined" are the names dockerd (23+) and the docker CLI give these two.
  if (value === undefined || value === "" || value === "builtin" || value === "default") return { kind: "builtin" };
  if (value === "unconfined") return { kind: "unconfined" };
  let text: string;
  try {
    text = await read(value);
  } catch (e) {
    throw errInvalidArgument(`opening seccomp profile (${value}) failed: ${(e as Error).message}`);
  }
  return { kind: "file", path: value, profile: parseSeccompProfile(text) };
}

/** The `docker info` SecurityOptions entry for the daemon default, as dockerd writes it. */
export function seccompSecurityOption(d: DaemonSeccomp): string {
  const profile = d.kind === "file" ? d.path : d.kind === "unconfined" ? "unconfined" : "default";
  return `name=seccomp,profile=${profile}`;
}

/**
 * The value of the last `seccomp` security option (dockerd keeps the last), or undefined.
 * Syntax errors are withSecurityOpts' to report.
 */
export function seccompOptOf(securityOpt: readonly string[]): string | undefined {
  let value: string | undefined;
  for (const opt of securityOpt) {
    const sep = opt.includes("=") ? "=" : ":";
    const i = opt.indexOf(sep);
    if (i >= 0 && opt.slice(0, i) === "seccomp") value = opt.slice(i + 1);
  }
  return value;
}

export interface SeccompSettings {
  /** HostConfig.SecurityOpt. */
  securityOpt: readonly string[];
  /** HostConfig.Privileged: a privileged container runs unconfined. */
  privileged: boolean;
  /** The daemon's `--seccomp-profile` (default: dockerd's built-in profile). */
  daemon?: DaemonSeccomp;
  host?: SeccompHost;
}

/**
 * Sets (or removes) `linux.seccomp`. A custom profile is decoded here, so a bad one fails the
 * create; the filter is computed when applied, from the spec's bounding set, so apply it after
 * the capabilities.
 */
export function withSeccomp(s: SeccompSettings): (spec: Spec) => void {
  const opt = seccompOptOf(s.securityOpt);
  let profile: SeccompProfile | undefined;
  if (s.privileged || opt === "unconfined") profile = undefined;
  // "builtin" (what the docker CLI sends for the default) is dockerd's profile even when the
  // daemon has its own; "" means the daemon's default, as in dockerd.
  else if (opt === "builtin") profile = defaultSeccompProfile();
  else if (opt !== undefined && opt !== "") profile = parseSeccompProfile(opt);
  else if (s.daemon?.kind === "file") profile = s.daemon.profile;
  else if (s.daemon?.kind === "unconfined") profile = undefined;
  else profile = defaultSeccompProfile();
  return (spec) => {
    const linux = (spec.linux ??= {});
    const filter = profile && evaluateSeccompProfile(profile, spec.process?.capabilities?.bounding ?? [], s.host ?? hostSeccompFacts());
    if (filter) linux.seccomp = filter;
    else delete linux.seccomp;
  };
}
