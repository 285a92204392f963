/**
 * Composable spec options in the style of containerd's `oci.SpecOpts`: each is a function that
 * mutates a `Spec` in place, and `buildSpec` applies a list of them, in order, to `defaultSpec()`.
 *
 * They reproduce what dockerd 20.10 does to its default spec for the matching container
 * settings (moby `daemon/oci_linux.go`, `daemon/daemon_unix.go`, `volume/mounts/linux_parser.go`,
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
import { posix } from "node:path";

import { errInvalidArgument } from "../../base/errors.js";
import { atoi, cleanPath, goQuote as quote, parseGoBool } from "../../base/go-parse.js";
import type {
  Linux,
  LinuxNamespace,
  LinuxNamespaceType,
  LinuxResources,
  Mount,
  Process,
  Spec,
} from "../../containerd/oci/spec-types.js";
import { DEFAULT_SHM_SIZE, defaultSpec, isDefaultMount } from "./default-spec.js";

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
// Small helpers

function processOf(spec: Spec): Process {
  spec.process ??= { user: { uid: 0, gid: 0 }, cwd: "/" };
  return spec.process;
}

function linuxOf(spec: Spec): Linux {
  spec.linux ??= {};
  return spec.linux;
}

function resourcesOf(spec: Spec): LinuxResources {
  const linux = linuxOf(spec);
  linux.resources ??= {};
  return linux.resources;
}

function sysctlOf(spec: Spec): Record<string, string> {
  const linux = linuxOf(spec);
  linux.sysctl ??= {};
  return linux.sysctl;
}

/** Drops an emptied sysctl map, so a spec reads as dockerd's (which omits an empty one). */
function pruneSysctl(spec: Spec): void {
  if (spec.linux?.sysctl && Object.keys(spec.linux.sysctl).length === 0) delete spec.linux.sysctl;
}

function requireInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw errInvalidArgument(`${what} must be an integer, got ${value}`);
}

function dedupe<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

// ---------------------------------------------------------------------------------------------
// Process: args, env, cwd, hostname, tty

/** The command to run. dockerd refuses a container with neither Entrypoint nor Cmd. */
export function withArgs(args: readonly string[]): SpecOpt {
  if (args.length === 0) throw errInvalidArgument("No command specified");
  const copy = [...args];
  return (spec) => {
    processOf(spec).args = [...copy];
  };
}

function envKey(entry: string): string {
  const i = entry.indexOf("=");
  return i < 0 ? entry : entry.slice(0, i);
}

/**
 * docker's env merge (moby `ReplaceOrAppendEnvValues`): "KEY=value" replaces KEY where it is,
 * or is appended; a bare "KEY" (no "=") removes KEY. Unlike dockerd, a key given twice in
 * `overrides` keeps only its last value instead of appearing twice.
 */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  // A Map keeps first-insertion order, so a replaced key stays where the base had it; null marks
  // a removal but keeps the slot, so "A" then "A=1" restores A in place, as dockerd does.
  const byKey = new Map<string, string | null>();
  for (const entry of base) if (!byKey.has(envKey(entry))) byKey.set(envKey(entry), entry);
  for (const entry of overrides) byKey.set(envKey(entry), entry.includes("=") ? entry : null);
  return [...byKey.values()].filter((e): e is string => e !== null);
}

/**
 * Environment entries merged over what the spec has (the default PATH, HOSTNAME, TERM), so an
 * image or user PATH replaces the default one and the default stays when none is given.
 */
export function withEnv(env: readonly string[]): SpecOpt {
  const copy = [...env];
  return (spec) => {
    const proc = processOf(spec);
    proc.env = mergeEnv(proc.env ?? [], copy);
  };
}

/** The working directory; "" means "/". dockerd requires it absolute and cleans it. */
export function withCwd(cwd: string): SpecOpt {
  if (cwd !== "" && !posix.isAbsolute(cwd)) {
    throw errInvalidArgument(`the working directory '${cwd}' is invalid, it needs to be an absolute path`);
  }
  const clean = cwd === "" ? "/" : cleanPath(cwd);
  return (spec) => {
    processOf(spec).cwd = clean;
  };
}

/**
 * The UTS hostname, and HOSTNAME in the environment as dockerd sets it. A HOSTNAME the caller
 * set through withEnv wins whatever the order: only a missing HOSTNAME, or one equal to the
 * previous hostname (i.e. set by this option), is rewritten.
 */
export function withHostname(hostname: string): SpecOpt {
  return (spec) => {
    const previous = spec.hostname ?? "";
    spec.hostname = hostname;
    const proc = processOf(spec);
    const env = proc.env ?? [];
    const current = env.find((e) => envKey(e) === "HOSTNAME");
    if (current === undefined || current === `HOSTNAME=${previous}`) {
      proc.env = mergeEnv(env, [`HOSTNAME=${hostname}`]);
    }
  };
}

/**
 * The NIS domain name. runc 1.1 ignores the spec's `domainname` field, so, like dockerd, this
 * sets the `kernel.domainname` sysctl, which has the same effect inside the UTS namespace.
 */
export function withDomainname(domainname: string): SpecOpt {
  return (spec) => {
    const sysctl = sysctlOf(spec);
    if (domainname === "") delete sysctl["kernel.domainname"];
    else sysctl["kernel.domainname"] = domainname;
    pruneSysctl(spec);
  };
}

/** Allocate a pseudo-terminal; as dockerd, a TTY container gets TERM=xterm unless TERM is set. */
export function withTty(tty: boolean): SpecOpt {
  return (spec) => {
    const proc = processOf(spec);
    proc.terminal = tty;
    const env = proc.env ?? [];
    if (tty && !env.some((e) => envKey(e) === "TERM")) proc.env = [...env, "TERM=xterm"];
  };
}

// ---------------------------------------------------------------------------------------------
// User

const MAX_ID = 2 ** 31 - 1;
const ERR_RANGE = `uids and gids must be in range 0-${MAX_ID}`;

function checkIdRange(id: number): void {
  if (!Number.isSafeInteger(id) || id < 0 || id > MAX_ID) throw errInvalidArgument(ERR_RANGE);
}

export interface UserIds {
  uid: number;
  gid: number;
  /** Supplementary groups; dockerd puts the primary gid first. */
  additionalGids?: readonly number[];
  umask?: number;
}

/**
 * The process user. As dockerd (20.10.14+), a non-root user gets the capability set in its
 * bounding set only, with effective and permitted empty, as execve would leave them; applied
 * in either order with withCapabilities, the result is the same.
 */
export function withUser(user: UserIds): SpecOpt {
  checkIdRange(user.uid);
  checkIdRange(user.gid);
  for (const g of user.additionalGids ?? []) checkIdRange(g);
  const additionalGids = user.additionalGids ? [...user.additionalGids] : [];
  return (spec) => {
    const proc = processOf(spec);
    proc.user = {
      uid: user.uid,
      gid: user.gid,
      ...(additionalGids.length > 0 ? { additionalGids: [...additionalGids] } : {}),
      ...(user.umask !== undefined ? { umask: user.umask } : {}),
    };
    syncCapabilitySets(spec);
  };
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The primary gid, then the groups that list the user as a member, then `groupAdd`. */
  additionalGids: number[];
  /** The passwd entry's home directory, when the user was found there. */
  home?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** Lines as Go's bufio.ScanLines yields them (a trailing "\r" dropped). */
function lines(text: string | undefined): string[] {
  return text === undefined ? [] : text.split("\n").map((l) => l.replace(/\r$/, ""));
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of lines(text)) {
    const line = raw.trim();
    if (line === "") continue;
    // name:password:uid:gid:gecos:home:shell; runc reads unparsable numbers as 0.
    const f = line.split(":");
    out.push({ name: f[0] ?? "", uid: atoi(f[2] ?? "") ?? 0, gid: atoi(f[3] ?? "") ?? 0, home: f[5] ?? "" });
  }
  return out;
}

function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of lines(text)) {
    if (line === "") continue;
    // name:password:gid:member,member
    const f = line.split(":");
    const list = f[3] ?? "";
    out.push({ name: f[0] ?? "", gid: atoi(f[2] ?? "") ?? 0, members: list === "" ? [] : list.split(",") });
  }
  return out;
}

/**
 * Resolves a docker `--user` value against the image's /etc/passwd and /etc/group contents
 * (undefined when the file is absent), as runc's `user.GetExecUser` does for dockerd:
 *  - "" means uid 0; "name" or "uid", optionally ":group" or ":gid";
 *  - a numeric uid or gid need not exist in the files; an unknown name is an error;
 *  - without an explicit group, the user's passwd gid is used and every group that lists the
 *    user as a member becomes a supplementary group;
 *  - `groupAdd` (docker `--group-add`) names or numbers more groups.
 */
export function resolveUser(
  userSpec: string,
  passwd: string | undefined,
  group: string | undefined,
  groupAdd: readonly string[] = [],
): ResolvedUser {
  const [userArg = "", groupArg = ""] = userSpec.split(":");
  const uidArg = atoi(userArg);
  const gidArg = atoi(groupArg);

  // A numeric user is always a uid, never a name, as in runc.
  const users = parsePasswd(passwd).filter((u) =>
    userArg === "" ? u.uid === 0 : uidArg !== undefined ? u.uid === uidArg : u.name === userArg,
  );

  let uid = 0;
  let gid = 0;
  let home: string | undefined;
  let matchedName: string | undefined;
  const first = users[0];
  if (first !== undefined) {
    // First match wins, even when several entries match.
    ({ uid, gid, home } = first);
    matchedName = first.name;
  } else if (userArg !== "") {
    if (uidArg === undefined) {
      throw errInvalidArgument(`unable to find user ${userArg}: no matching entries in passwd file`);
    }
    checkIdRange(uidArg);
    uid = uidArg;
  }

  let sgids: number[] = [];
  const groups = parseGroup(group);
  if (groupArg !== "") {
    const match = groups.find((g) => (gidArg !== undefined ? g.gid === gidArg : g.name === groupArg));
    if (match !== undefined) {
      gid = match.gid;
    } else {
      if (gidArg === undefined) {
        throw errInvalidArgument(`unable to find group ${groupArg}: no matching entries in group file`);
      }
      checkIdRange(gidArg);
      gid = gidArg;
    }
  } else if (matchedName) {
    // Supplementary groups only in the implicit form: "user:group" means exactly that group.
    sgids = groups.filter((g) => g.members.includes(matchedName)).map((g) => g.gid);
  }

  const added: number[] = [];
  for (const name of groupAdd) {
    const match = groups.find((g) => g.name === name || String(g.gid) === name);
    if (match !== undefined) {
      added.push(match.gid);
      continue;
    }
    const n = atoi(name);
    if (n === undefined) throw errInvalidArgument(`Unable to find group ${name}`);
    checkIdRange(n);
    added.push(n);
  }

  return {
    uid,
    gid,
    additionalGids: dedupe([gid, ...sgids, ...added]),
    ...(home !== undefined ? { home } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Capabilities

/**
 * The capabilities dockerd 20.10 knows: the kernel's, CAP_CHOWN through CAP_AUDIT_READ, in
 * number order. dockerd 20.10 stops at AUDIT_READ on purpose (runc of the time could not set
 * PERFMON, BPF, CHECKPOINT_RESTORE), so those are "unknown" here too and not part of "ALL";
 * runc 1.1.5 would accept them, so adding them later is a one-line change.
 */
export const KNOWN_CAPABILITIES: readonly string[] = Object.freeze(
  [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
  ].map((c) => `CAP_${c}`),
);

const knownCapabilities = new Set(KNOWN_CAPABILITIES);

/**
 * docker's `--cap-add`/`--cap-drop` spelling: any case, with or without "CAP_", or "ALL".
 * Returns "CAP_*" names (and "ALL"); an unknown name is invalid-argument, as in dockerd.
 */
export function normalizeCapabilities(caps: readonly string[]): string[] {
  return caps.map((raw) => {
    const upper = raw.toUpperCase();
    if (upper === "ALL") return upper;
    const name = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
    if (!knownCapabilities.has(name)) throw errInvalidArgument(`unknown capability: ${quote(name)}`);
    return name;
  });
}

/**
 * After the user or the bounding set changes: root gets effective = permitted = bounding; any
 * other user gets bounding only (dockerd `oci.SetCapabilities`, what execve does for non-root).
 * Inheritable and ambient are never set.
 */
function syncCapabilitySets(spec: Spec): void {
  const proc = processOf(spec);
  const caps = (proc.capabilities ??= {});
  const bounding = caps.bounding ?? [];
  if (proc.user.uid === 0) {
    caps.effective = [...bounding];
    caps.permitted = [...bounding];
  } else {
    delete caps.effective;
    delete caps.permitted;
  }
}

export interface CapabilityChanges {
  add?: readonly string[];
  drop?: readonly string[];
}

/**
 * dockerd's `TweakCapabilities` on the spec's current bounding set: "ALL" in add gives every
 * known capability except those dropped; "ALL" in drop gives exactly `add`; otherwise drop,
 * then add — so a capability both added and dropped ends up present, as in dockerd. Use this
 * one option for a container's CapAdd/CapDrop together; withCapAdd/withCapDrop apply one side.
 */
export function withCapabilities(changes: CapabilityChanges): SpecOpt {
  // dockerd validates drops first, so a bad drop is the error reported when both are bad.
  const drop = normalizeCapabilities(changes.drop ?? []);
  const add = normalizeCapabilities(changes.add ?? []);
  return (spec) => {
    const proc = processOf(spec);
    const caps = (proc.capabilities ??= {});
    const basics = caps.bounding ?? [];
    let result: string[];
    if (add.length === 0 && drop.length === 0) {
      result = [...basics];
    } else if (add.includes("ALL")) {
      result = KNOWN_CAPABILITIES.filter((c) => !drop.includes(c));
    } else if (drop.includes("ALL")) {
      result = [...add];
    } else {
      result = [...basics.filter((c) => !drop.includes(c)), ...add];
    }
    // dockerd can list a capability twice (default + added); runc does not care, a set reads better.
    caps.bounding = dedupe(result);
    syncCapabilitySets(spec);
  };
}

export const withCapAdd = (add: readonly string[]): SpecOpt => withCapabilities({ add });
export const withCapDrop = (drop: readonly string[]): SpecOpt => withCapabilities({ drop });

// ---------------------------------------------------------------------------------------------
// Security options

export function withNoNewPrivileges(enabled = true): SpecOpt {
  return (spec) => {
    const proc = processOf(spec);
    if (enabled) proc.noNewPrivileges = true;
    else delete proc.noNewPrivileges;
  };
}

function unsupportedSecurityOpt(key: "label" | "apparmor"): Error {
  const what =
    key === "label"
      ? "SELinux labels are not applied by berth (only label=disable is accepted)"
      : "AppArmor profiles are not applied by berth yet (only apparmor=unconfined is accepted)";
  return errInvalidArgument(`invalid --security-opt: ${key} is not supported: ${what}`);
}

/**
 * docker `--security-opt` values, parsed as dockerd's `parseSecurityOpt` (KEY=VALUE, or the
 * deprecated KEY:VALUE). no-new-privileges is applied; seccomp values are withSeccomp's
 * (seccomp.ts). Options that ask for *less* confinement than berth applies today are accepted as
 * already satisfied (apparmor=unconfined, label=disable, disable); options that ask for a
 * profile or label berth cannot apply are rejected as "not supported" rather than silently ignored.
 */
export function withSecurityOpts(opts: readonly string[]): SpecOpt {
  let noNewPrivileges: boolean | undefined;
  for (const opt of opts) {
    if (opt === "no-new-privileges") {
      noNewPrivileges = true;
      continue;
    }
    if (opt === "disable") continue; // label disable: no SELinux labels are applied anyway.
    const sep = opt.includes("=") ? "=" : opt.includes(":") ? ":" : undefined;
    if (sep === undefined) throw errInvalidArgument(`invalid --security-opt 1: ${quote(opt)}`);
    const i = opt.indexOf(sep);
    const key = opt.slice(0, i);
    const value = opt.slice(i + 1);
    switch (key) {
      case "no-new-privileges": {
        const b = parseGoBool(value);
        if (b === undefined) throw errInvalidArgument(`invalid --security-opt 2: ${quote(opt)}`);
        noNewPrivileges = b;
        break;
      }
      case "label":
        if (value !== "disable") throw unsupportedSecurityOpt(key);
        break;
      case "apparmor":
        if (value !== "unconfined") throw unsupportedSecurityOpt(key);
        break;
      case "seccomp":
        break; // unconfined, builtin or a profile's JSON: withSeccomp (seccomp.ts) decodes and applies it
      default:
        throw errInvalidArgument(`invalid --security-opt 2: ${quote(opt)}`);
    }
  }
  return (spec) => {
    if (noNewPrivileges !== undefined) withNoNewPrivileges(noNewPrivileges)(spec);
  };
}

/** HostConfig.MaskedPaths: replaces the default list (the CLI sends [] for systempaths=unconfined). */
export function withMaskedPaths(paths: readonly string[]): SpecOpt {
  const copy = [...paths];
  return (spec) => {
    linuxOf(spec).maskedPaths = [...copy];
  };
}

/** HostConfig.ReadonlyPaths: replaces the default list. */
export function withReadonlyPaths(paths: readonly string[]): SpecOpt {
  const copy = [...paths];
  return (spec) => {
    linuxOf(spec).readonlyPaths = [...copy];
  };
}

// ---------------------------------------------------------------------------------------------
// Resources

/** dockerd's floor: not a kernel limit, room for the container's own start-up. */
const MIN_MEMORY = 6_291_456;

export interface HostMemoryFeatures {
  /** memory.memsw.* exists (swap accounting on). Without it dockerd limits memory only. */
  swapLimit?: boolean;
}

/**
 * Memory limit in bytes (0: none) and memory+swap in bytes: undefined or 0 means twice the
 * limit (dockerd's default), -1 unlimited swap. Validated as dockerd does.
 */
export function withMemoryLimit(limit: number, swap?: number, host: HostMemoryFeatures = {}): SpecOpt {
  requireInteger(limit, "memory limit");
  const memorySwap = swap ?? 0;
  requireInteger(memorySwap, "memory+swap limit");
  if (limit !== 0 && limit < MIN_MEMORY) throw errInvalidArgument("Minimum memory limit allowed is 6MB");
  if (limit > 0 && memorySwap > 0 && memorySwap < limit) {
    throw errInvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage");
  }
  if (limit === 0 && memorySwap > 0) {
    throw errInvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage");
  }
  let effectiveSwap = limit > 0 && memorySwap === 0 ? limit * 2 : memorySwap;
  if (host.swapLimit === false) effectiveSwap = -1;
  return (spec) => {
    const resources = resourcesOf(spec);
    const memory = (resources.memory ??= {});
    if (limit > 0) memory.limit = limit;
    else delete memory.limit;
    // dockerd writes swap only when positive; -1 (unlimited) is the cgroup's default.
    if (effectiveSwap > 0) memory.swap = effectiveSwap;
    else delete memory.swap;
  };
}

export interface CpuOptions {
  /** docker --cpus × 1e9. */
  nanoCpus?: number;
  shares?: number;
  /** µs per period; -1 unlimited. */
  quota?: number;
  /** µs. */
  period?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
}

export interface HostCpuFeatures {
  /** Online CPUs, for dockerd's range check of nanoCpus; skipped when not given. */
  numCpus?: number;
}

/** The CFS period dockerd uses for --cpus: 100 ms. */
const NANO_CPUS_PERIOD = 100_000;

/** moby `parsers.ParseUintList` syntax: "0-3,5,7". */
function validateCpuList(value: string, what: "cpus" | "mems"): void {
  if (value === "") return;
  const bad = () =>
    errInvalidArgument(`Invalid value ${value} for cpuset ${what}: invalid format: ${value}`);
  for (const part of value.split(",")) {
    if (!part.includes("-")) {
      if (atoi(part) === undefined) throw bad();
      continue;
    }
    const dash = part.indexOf("-");
    const lo = atoi(part.slice(0, dash));
    const hi = atoi(part.slice(dash + 1));
    if (lo === undefined || hi === undefined || hi < lo) throw bad();
  }
}

/** CPU shares, CFS quota/period, --cpus and cpusets, validated as dockerd does. */
export function withCpu(cpu: CpuOptions, host: HostCpuFeatures = {}): SpecOpt {
  const nanoCpus = cpu.nanoCpus ?? 0;
  const period = cpu.period ?? 0;
  const quota = cpu.quota ?? 0;
  requireInteger(nanoCpus, "NanoCPUs");
  requireInteger(period, "CPU period");
  requireInteger(quota, "CPU quota");
  if (cpu.shares !== undefined) {
    requireInteger(cpu.shares, "CPU shares");
    if (cpu.shares < 0) throw errInvalidArgument("shares: invalid argument");
  }
  if (nanoCpus > 0 && period > 0) {
    throw errInvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  }
  if (nanoCpus > 0 && quota > 0) {
    throw errInvalidArgument("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  }
  if (host.numCpus !== undefined) {
    if (nanoCpus < 0 || nanoCpus > host.numCpus * 1e9) {
      throw errInvalidArgument(
        `Range of CPUs is from 0.01 to ${host.numCpus}.00, as there are only ${host.numCpus} CPUs available`,
      );
    }
  } else if (nanoCpus < 0) {
    throw errInvalidArgument("Range of CPUs is from 0.01 upwards; NanoCPUs can not be negative");
  }
  if (period !== 0 && (period < 1000 || period > 1_000_000)) {
    throw errInvalidArgument("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  }
  if (quota > 0 && quota < 1000) throw errInvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  validateCpuList(cpu.cpusetCpus ?? "", "cpus");
  validateCpuList(cpu.cpusetMems ?? "", "mems");

  return (spec) => {
    const c = (resourcesOf(spec).cpu ??= {});
    if (cpu.shares !== undefined) c.shares = cpu.shares;
    if (cpu.cpusetCpus) c.cpus = cpu.cpusetCpus;
    if (cpu.cpusetMems) c.mems = cpu.cpusetMems;
    if (nanoCpus > 0) {
      c.period = NANO_CPUS_PERIOD;
      // Integer arithmetic as dockerd's int64 (BigInt: nanoCpus × period can exceed 2^53).
      c.quota = Number((BigInt(nanoCpus) * BigInt(NANO_CPUS_PERIOD)) / 1_000_000_000n);
    }
    if (period !== 0) c.period = period;
    if (quota !== 0) c.quota = quota;
  };
}

/** --pids-limit: 0 or negative means unlimited, written as -1 (what runc needs to lift a limit). */
export function withPidsLimit(limit: number): SpecOpt {
  requireInteger(limit, "pids limit");
  return (spec) => {
    resourcesOf(spec).pids = { limit: limit <= 0 ? -1 : limit };
  };
}

// ---------------------------------------------------------------------------------------------
// Root filesystem, cgroups

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

// ---------------------------------------------------------------------------------------------
// Mounts

/** dockerd counts path separators to order container mounts: parents before children. */
const mountDepth = (m: Mount): number => (cleanPath(m.destination).match(/\//g) ?? []).length;

/**
 * Adds container mounts the way dockerd lays out the list: default mounts first (minus those a
 * container mount replaces at the same destination, and minus the default mounts under /dev
 * when the container mounts /dev itself), then the container's mounts, parents before children.
 * A later container mount at the same destination replaces an earlier one.
 */
function placeMounts(spec: Spec, added: readonly Mount[]): void {
  const destinations = new Set(added.map((m) => cleanPath(m.destination)));
  const mountsDev = destinations.has("/dev");
  const kept = (spec.mounts ?? []).filter(
    (m) =>
      !destinations.has(cleanPath(m.destination)) &&
      !(mountsDev && isDefaultMount(m) && m.destination.startsWith("/dev/")),
  );
  const defaults = kept.filter((m) => isDefaultMount(m));
  // Array#sort is stable, so mounts of equal depth keep the order they were given in.
  const own = [...kept.filter((m) => !isDefaultMount(m)), ...added].sort((a, b) => mountDepth(a) - mountDepth(b));
  spec.mounts = [...defaults, ...own];
}

function validateMountDestination(dest: string): string | undefined {
  if (cleanPath(dest) === "/") return "invalid specification: destination can't be '/'";
  if (!posix.isAbsolute(dest)) return `invalid mount path: '${dest}' mount path must be absolute`;
  return undefined;
}

/** The flag group of each mount flag option; options of one group override each other. */
const tmpfsFlagGroups: Record<string, string> = {
  ro: "rdonly", rw: "rdonly",
  suid: "nosuid", nosuid: "nosuid",
  dev: "nodev", nodev: "nodev",
  exec: "noexec", noexec: "noexec",
  sync: "sync", async: "sync",
  dirsync: "dirsync",
  remount: "remount",
  mand: "mand", nomand: "mand",
  atime: "noatime", noatime: "noatime",
  diratime: "nodiratime", nodiratime: "nodiratime",
  relatime: "relatime", norelatime: "relatime",
  strictatime: "strictatime", nostrictatime: "strictatime",
  // There is only one propagation mode.
  bind: "propagation", rbind: "propagation", unbindable: "propagation", runbindable: "propagation",
  private: "propagation", rprivate: "propagation", shared: "propagation", rshared: "propagation",
  slave: "propagation", rslave: "propagation",
};

const tmpfsDataKeys = new Set(["", "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"]);

/**
 * moby/sys `MergeTmpfsOptions`: later options win over earlier ones of the same kind ("exec"
 * after the default "noexec"), duplicates are dropped, and anything that is neither a mount flag
 * nor a known tmpfs data option is an error.
 */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const seenFlags = new Set<string>();
  const seenData = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const option = options[i] as string;
    if (option === "defaults") continue;
    const group = tmpfsFlagGroups[option];
    if (group !== undefined) {
      if (!seenFlags.has(group)) {
        seenFlags.add(group);
        out.unshift(option);
      }
      continue;
    }
    const eq = option.indexOf("=");
    const parts = eq < 0 ? [option] : [option.slice(0, eq), option.slice(eq + 1)];
    const key = parts[0] as string;
    if (parts.length !== 2 || !tmpfsDataKeys.has(key)) {
      // Go's %q of a []string: ["a" "b"].
      throw errInvalidArgument(`Invalid tmpfs option [${parts.map(quote).join(" ")}]`);
    }
    if (!seenData.has(key)) {
      seenData.add(key);
      out.unshift(option);
    }
  }
  return out;
}

/** dockerd's options for every --tmpfs before the user's own. */
export const DEFAULT_TMPFS_OPTIONS: readonly string[] = Object.freeze(["noexec", "nosuid", "nodev", "rprivate"]);

/**
 * --tmpfs / HostConfig.Tmpfs: destination → "opt,opt". Each gets docker's defaults
 * (noexec,nosuid,nodev,rprivate) with the given options merged over them.
 */
export function withTmpfs(tmpfs: Readonly<Record<string, string>>): SpecOpt {
  const mounts: Mount[] = [];
  for (const [destination, data] of Object.entries(tmpfs)) {
    const bad = validateMountDestination(destination);
    if (bad !== undefined) throw errInvalidArgument(bad);
    const options = mergeTmpfsOptions([...DEFAULT_TMPFS_OPTIONS, ...(data === "" ? [] : data.split(","))]);
    mounts.push({ destination, type: "tmpfs", source: "tmpfs", options });
  }
  return (spec) => placeMounts(spec, mounts.map((m) => ({ ...m, options: [...(m.options ?? [])] })));
}

const propagationModes = new Set(["private", "rprivate", "shared", "rshared", "slave", "rslave"]);
const consistencyModes = new Set(["consistent", "cached", "delegated"]);

/** docker's mode grammar: at most one of each of rw/ro, z/Z, propagation, nocopy, consistency. */
function isValidMountMode(mode: string): boolean {
  if (mode === "") return true;
  const counts = { rw: 0, label: 0, propagation: 0, copy: 0, consistency: 0 };
  for (const o of mode.split(",")) {
    if (o === "rw" || o === "ro") counts.rw++;
    else if (o === "z" || o === "Z") counts.label++;
    else if (propagationModes.has(o)) counts.propagation++;
    else if (o === "nocopy") counts.copy++;
    else if (consistencyModes.has(o)) counts.consistency++;
    else return false;
  }
  return Object.values(counts).every((n) => n <= 1);
}

export interface ParsedBind {
  /** Cleaned absolute host path. */
  source: string;
  /** Cleaned absolute container path. */
  destination: string;
  readonly: boolean;
  /** rprivate unless the mode names another. */
  propagation: string;
}

/**
 * One `-v src:dst[:mode]` bind, parsed and validated as dockerd's Linux mount parser does (its
 * messages included). A relative source is a named volume to dockerd; binds take host paths
 * only, so here it is the "must be absolute" error --mount type=bind gives. z/Z (SELinux
 * relabel: no SELinux on the host) and consistency modes are accepted and have no effect.
 */
export function parseBind(raw: string): ParsedBind {
  const invalidSpec = `invalid volume specification: '${raw}'`;
  const invalidConfig = (why: string) =>
    errInvalidArgument(`${invalidSpec}: invalid mount config for type "bind": ${why}`);

  if ((raw.match(/:/g) ?? []).length > 2) throw errInvalidArgument(invalidSpec);
  const parts = raw.split(":");
  if (parts[0] === "") throw errInvalidArgument(invalidSpec);
  if (parts.length === 1) {
    throw errInvalidArgument(`${invalidSpec}: anonymous volumes are not bind mounts`);
  }
  // "/foo:rw" is a destination and a mode without a source: not a valid bind.
  if (parts.length === 2 && isValidMountMode(parts[1] as string)) throw errInvalidArgument(invalidSpec);
  const [source = "", destination = "", mode = ""] = parts;
  if (!isValidMountMode(mode)) throw errInvalidArgument(`invalid mode: ${mode}`);
  const modes = mode === "" ? [] : mode.split(",");

  // dockerd's order of checks: target, then the bind-specific ones.
  const badDestination = validateMountDestination(destination);
  if (badDestination !== undefined) throw invalidConfig(badDestination);
  // nocopy is a volume option; on a bind dockerd reports it as an extra VolumeOptions field.
  if (modes.includes("nocopy")) throw invalidConfig("field VolumeOptions must not be specified");
  if (!posix.isAbsolute(source)) throw invalidConfig(`invalid mount path: '${source}' mount path must be absolute`);

  return {
    source: cleanPath(source),
    destination: cleanPath(destination),
    readonly: modes.includes("ro"),
    propagation: modes.find((m) => propagationModes.has(m)) ?? "rprivate",
  };
}

export interface BindHost {
  /**
   * Whether a host path exists. dockerd's `-v` would create a missing source directory; berth
   * refuses instead, with --mount's message.
   */
  exists: (path: string) => boolean;
}

/**
 * -v / HostConfig.Binds host-path binds: rbind, "ro" when asked, and the propagation mode
 * (rprivate by default), as dockerd writes them. A shared or slave bind makes the rootfs
 * propagation shared / rslave as dockerd does; dockerd also checks that the host mount really is
 * shared or slave, which needs mountinfo and is not done here.
 */
export function withBinds(binds: readonly string[], host: BindHost): SpecOpt {
  const parsed = binds.map((raw) => ({ raw, bind: parseBind(raw) }));
  const seen = new Set<string>();
  for (const { raw, bind } of parsed) {
    if (seen.has(bind.destination)) throw errInvalidArgument(`Duplicate mount point: ${bind.destination}`);
    seen.add(bind.destination);
    if (!host.exists(bind.source)) {
      throw errInvalidArgument(
        `invalid volume specification: '${raw}': invalid mount config for type "bind": bind source path does not exist: ${bind.source}`,
      );
    }
  }
  return withMounts(
    parsed.map(({ bind }) => ({
      destination: bind.destination,
      type: "bind",
      source: bind.source,
      options: ["rbind", ...(bind.readonly ? ["ro"] : []), bind.propagation],
    })),
  );
}

/** The shared/slave propagation of a bind's options, if any. */
function propagationOf(m: Mount): string | undefined {
  return (m.options ?? []).find((o) => propagationModes.has(o));
}

/**
 * Host-path bind mounts already resolved (volumes, binds): placed after the defaults as dockerd
 * does, and a shared or slave bind makes the rootfs propagation shared / rslave.
 */
export function withMounts(mounts: readonly Mount[]): SpecOpt {
  return (spec) => {
    placeMounts(spec, mounts.map((m) => ({ ...m, options: [...(m.options ?? [])] })));
    for (const m of mounts) {
      const propagation = propagationOf(m);
      const linux = linuxOf(spec);
      const root = linux.rootfsPropagation ?? "";
      if (propagation === "shared" || propagation === "rshared") {
        if (root !== "shared" && root !== "rshared") linux.rootfsPropagation = "shared";
      } else if (propagation === "slave" || propagation === "rslave") {
        if (!["shared", "rshared", "slave", "rslave"].includes(root)) linux.rootfsPropagation = "rslave";
      }
    }
  };
}

export interface NetworkFiles {
  resolvConf?: string;
  hostname?: string;
  hosts?: string;
}

/**
 * Binds the container's generated /etc/resolv.conf, /etc/hostname and /etc/hosts (host paths,
 * absolute) in dockerd's order. They are writable, as in dockerd, unless the rootfs is
 * read-only: `readonly` defaults to the spec's root.readonly at the time this option runs.
 */
export function withHostsAndResolvConf(files: NetworkFiles, opts: { readonly?: boolean } = {}): SpecOpt {
  const entries: Array<[string, string]> = [];
  for (const [destination, source] of [
    ["/etc/resolv.conf", files.resolvConf],
    ["/etc/hostname", files.hostname],
    ["/etc/hosts", files.hosts],
  ] as const) {
    if (source === undefined) continue;
    if (!posix.isAbsolute(source)) {
      throw errInvalidArgument(`${destination} source must be an absolute host path, got ${quote(source)}`);
    }
    entries.push([destination, source]);
  }
  return (spec) => {
    const readonly = opts.readonly ?? spec.root?.readonly ?? false;
    placeMounts(
      spec,
      entries.map(([destination, source]) => ({
        destination,
        type: "bind",
        source,
        options: ["rbind", ...(readonly ? ["ro"] : []), "rprivate"],
      })),
    );
  };
}

// ---------------------------------------------------------------------------------------------
// Namespaces and network

function setNamespace(spec: Spec, ns: LinuxNamespace): void {
  const linux = linuxOf(spec);
  const list = (linux.namespaces ??= []);
  const i = list.findIndex((n) => n.type === ns.type);
  if (i >= 0) list[i] = ns;
  else list.push(ns);
}

function removeNamespace(spec: Spec, type: LinuxNamespaceType): void {
  const linux = linuxOf(spec);
  if (linux.namespaces) linux.namespaces = linux.namespaces.filter((n) => n.type !== type);
}

/**
 * The sysctls dockerd (20.10+) sets in a container's own network namespace: unprivileged ping
 * without CAP_NET_RAW, and binding ports below 1024 without CAP_NET_BIND_SERVICE.
 */
export const DEFAULT_NETWORK_SYSCTLS: Readonly<Record<string, string>> = Object.freeze({
  "net.ipv4.ping_group_range": "0 2147483647",
  "net.ipv4.ip_unprivileged_port_start": "0",
});

export interface NetworkModeOptions {
  /** An existing network namespace to join (e.g. one set up by CNI, or another container's). */
  netnsPath?: string;
  /**
   * Whether a sysctl exists on the host (runc fails on one that does not). dockerd checks
   * /proc/sys; the default assumes both exist (Linux ≥ 4.11; Debian 12 runs 6.1). Pass false for
   * ping_group_range when berth itself runs in a user namespace, as dockerd skips it there.
   */
  sysctlAvailable?: (name: string) => boolean;
}

/**
 * docker's network mode as it shapes the spec:
 *  - "host": no network namespace of its own (the host's);
 *  - "container:<id>": join that container's namespace, whose path must be given;
 *  - anything else ("bridge", "default", "", "none", a user-defined network): a private
 *    namespace (at `netnsPath` when given) with dockerd's network sysctls. A sysctl already in
 *    the spec (the user's --sysctl) is kept.
 */
export function withNetworkMode(mode: string, opts: NetworkModeOptions = {}): SpecOpt {
  const { netnsPath } = opts;
  if (netnsPath !== undefined && !posix.isAbsolute(netnsPath)) {
    throw errInvalidArgument(`network namespace path must be absolute, got ${quote(netnsPath)}`);
  }
  const isHost = mode === "host";
  const isContainer = mode.startsWith("container:");
  if (isHost && netnsPath !== undefined) {
    throw errInvalidArgument('network mode "host" takes no network namespace path');
  }
  if (isContainer && netnsPath === undefined) {
    throw errInvalidArgument(`network mode ${quote(mode)} needs the network namespace path of that container`);
  }
  const available = opts.sysctlAvailable ?? (() => true);
  return (spec) => {
    if (isHost) removeNamespace(spec, "network");
    else setNamespace(spec, { type: "network", ...(netnsPath !== undefined ? { path: netnsPath } : {}) });

    const sysctl = sysctlOf(spec);
    for (const [name, value] of Object.entries(DEFAULT_NETWORK_SYSCTLS)) {
      if (isHost || isContainer) {
        // net.* sysctls need a namespace of our own; drop ours (not a user's different value).
        if (sysctl[name] === value) delete sysctl[name];
      } else if (!(name in sysctl) && available(name)) {
        sysctl[name] = value;
      }
    }
    pruneSysctl(spec);
  };
}

// withInit (docker --init: bind docker-init at /sbin/docker-init and prefix args) is not
// provided yet: berth ships no init binary.
