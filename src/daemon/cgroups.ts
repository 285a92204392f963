// The host's cgroups as dockerd 20.10 reads them at start: the version (v1, or the unified v2
// hierarchy), the cgroup driver (cgroupfs, or systemd: the default on a systemd v2 host), the
// controllers, and which container settings the host can honour (dockerd's sysinfo). Read once
// at start and injected into spec building; tests pass a fake HostFs for either version.
import { existsSync, readdirSync, readFileSync, statfsSync } from "node:fs";
import path from "node:path";
import { errInvalidArgument } from "../base/errors.js";
import { cleanPath } from "../base/go-parse.js";
import type { RuncOptionsInit } from "../containerd/index.js";

export type CgroupDriver = "cgroupfs" | "systemd";
export type CgroupnsMode = "host" | "private";

/** What container settings the host's cgroups can take (dockerd's sysinfo flags). */
export interface HostCgroupFeatures {
  blkioWeight: boolean;
  blkioWeightDevice: boolean;
  cpuRealtime: boolean;
  /** Swap accounting (v1 memory.memsw.*, v2 memory.swap.max); without it memory+swap is not written. */
  swapLimit?: boolean;
  /** v1 only: v2 has no memory.swappiness. */
  memorySwappiness?: boolean;
  /** v1 only: v2 has no memory.oom_control. */
  oomKillDisable?: boolean;
}

export interface CgroupHost {
  version: 1 | 2;
  driver: CgroupDriver;
  /** Enabled controllers: v2's root cgroup.controllers, v1's enabled hierarchies (/proc/cgroups). */
  controllers: readonly string[];
  features: HostCgroupFeatures;
  /** systemd is PID 1 (/run/systemd/system exists), as go-systemd checks it. */
  systemd: boolean;
  /** A container's cgroup namespace when it asks for none: dockerd's "private" on v2, "host" on v1. */
  defaultCgroupnsMode: CgroupnsMode;
}

/** The few reads the probe makes, so tests can hand it either host. */
export interface HostFs {
  /** statfs f_type of a path; undefined if it cannot be read. */
  fsType(p: string): number | undefined;
  read(p: string): string | undefined;
  exists(p: string): boolean;
  list(p: string): string[];
}

export const realHostFs: HostFs = {
  fsType: (p) => { try { return Number(statfsSync(p).type); } catch { return undefined; } },
  read: (p) => { try { return readFileSync(p, "utf8"); } catch { return undefined; } },
  exists: (p) => existsSync(p),
  list: (p) => { try { return readdirSync(p); } catch { return []; } },
};

/** CGROUP2_SUPER_MAGIC: /sys/fs/cgroup is the unified hierarchy itself (not v1's tmpfs of hierarchies). */
export const CGROUP2_SUPER_MAGIC = 0x63677270;

export interface ProbeOptions {
  /** Where the hierarchy is mounted (default /sys/fs/cgroup). */
  root?: string;
  /** dockerd's `--exec-opt`s (only native.cgroupdriver is known). */
  execOpts?: readonly string[];
  fs?: HostFs;
}

/** `--exec-opt key=value`s: the cgroup driver asked for, if any. Unknown keys are refused. */
export function parseExecOpts(opts: readonly string[]): { cgroupDriver?: CgroupDriver } {
  const out: { cgroupDriver?: CgroupDriver } = {};
  for (const opt of opts) {
    const eq = opt.indexOf("=");
    if (eq <= 0) throw errInvalidArgument(`invalid exec-opt ${JSON.stringify(opt)}: expected key=value`);
    const key = opt.slice(0, eq).trim().toLowerCase();
    const value = opt.slice(eq + 1).trim();
    if (key !== "native.cgroupdriver") {
      throw errInvalidArgument(`unknown exec-opt ${JSON.stringify(key)}: berth knows only native.cgroupdriver`);
    }
    if (value !== "cgroupfs" && value !== "systemd") {
      throw errInvalidArgument(`native.cgroupdriver option ${value} not supported`);
    }
    out.cgroupDriver = value;
  }
  return out;
}

/** The cgroup version of the hierarchy at `root`: cgroup2fs magic, or cgroup.controllers at its top. */
export function cgroupVersionOf(root = "/sys/fs/cgroup", hostFs: HostFs = realHostFs): 1 | 2 {
  const t = hostFs.fsType(root);
  if (t === CGROUP2_SUPER_MAGIC) return 2;
  // A v1 (or hybrid) host mounts a tmpfs there; a statfs that fails falls back to the file v2 has.
  if (t === undefined && hostFs.exists(path.join(root, "cgroup.controllers"))) return 2;
  return 1;
}

/** This process's own v2 cgroup ("0::/path" in /proc/self/cgroup). */
function ownV2Group(hostFs: HostFs): string {
  const line = (hostFs.read("/proc/self/cgroup") ?? "").split("\n").find((l) => l.startsWith("0::"));
  return line ? line.slice(3).trim() || "/" : "/";
}

/** A block device uses the BFQ scheduler: only then can runc write per-device weights on v2. */
function bfqActive(hostFs: HostFs): boolean {
  return hostFs.list("/sys/block").some((d) => /\[bfq\]/.test(hostFs.read(`/sys/block/${d}/queue/scheduler`) ?? ""));
}

export function probeCgroups(o: ProbeOptions = {}): CgroupHost {
  const root = o.root ?? "/sys/fs/cgroup";
  const hostFs = o.fs ?? realHostFs;
  const asked = parseExecOpts(o.execOpts ?? []).cgroupDriver;
  const version = cgroupVersionOf(root, hostFs);
  const systemd = hostFs.exists("/run/systemd/system");
  let controllers: string[];
  let features: HostCgroupFeatures;
  if (version === 2) {
    controllers = (hostFs.read(path.join(root, "cgroup.controllers")) ?? "").trim().split(/\s+/).filter(Boolean);
    const has = (c: string) => controllers.includes(c);
    const group = ownV2Group(hostFs);
    features = {
      blkioWeight: has("io"),
      blkioWeightDevice: has("io") && bfqActive(hostFs),
      cpuRealtime: false,
      // dockerd: memory.swap.max in its own group, or (in the root group, which has none) swap on the host.
      swapLimit: has("memory") && (hostFs.exists(path.join(root, group, "memory.swap.max")) || (group === "/" && hostFs.exists("/proc/swaps"))),
      memorySwappiness: false,
      oomKillDisable: false,
    };
  } else {
    controllers = (hostFs.read("/proc/cgroups") ?? "")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split(/\s+/))
      .filter((f) => f[3] === "1")
      .map((f) => f[0]!);
    features = {
      blkioWeight: hostFs.exists(path.join(root, "blkio", "blkio.weight")),
      blkioWeightDevice: hostFs.exists(path.join(root, "blkio", "blkio.weight_device")),
      cpuRealtime: hostFs.exists(path.join(root, "cpu", "cpu.rt_runtime_us")),
      swapLimit: hostFs.exists(path.join(root, "memory", "memory.memsw.limit_in_bytes")),
      memorySwappiness: hostFs.exists(path.join(root, "memory", "memory.swappiness")),
      oomKillDisable: hostFs.exists(path.join(root, "memory", "memory.oom_control")),
    };
  }
  // dockerd 20.10: systemd when asked, or by default on a v2 host booted by systemd.
  const driver: CgroupDriver = asked ?? (version === 2 && systemd ? "systemd" : "cgroupfs");
  if (driver === "systemd" && !systemd) {
    // runc would fail each start ("systemd not running"); said once, at start, instead.
    throw errInvalidArgument("native.cgroupdriver=systemd needs systemd running as PID 1 (/run/systemd/system is missing); use native.cgroupdriver=cgroupfs");
  }
  return { version, driver, controllers, features, systemd, defaultCgroupnsMode: version === 2 ? "private" : "host" };
}

/** dockerd's default parent: `system.slice` under systemd, a plain directory under cgroupfs. */
export function defaultCgroupParent(driver: CgroupDriver, cgroupfsParent: string): string {
  return driver === "systemd" ? "system.slice" : cgroupfsParent;
}

/**
 * The spec's cgroupsPath: `/<parent>/<id>` for cgroupfs; `<parent>:<prefix>:<id>` for systemd
 * (runc makes the scope `<prefix>-<id>.scope` in slice `<parent>`), as dockerd writes
 * `system.slice:docker:<id>`. A systemd parent must be a slice, as dockerd requires.
 */
export function cgroupsPathFor(driver: CgroupDriver, parent: string, id: string, scopePrefix = "berth"): string {
  if (driver === "systemd") {
    if (parent.length <= 6 || !parent.endsWith(".slice")) {
      throw errInvalidArgument('cgroup-parent for systemd cgroup should be a valid slice named as "xxx.slice"');
    }
    return `${parent}:${scopePrefix}:${id}`;
  }
  return cleanPath(`/${parent}/${id}`);
}

/** The runc shim's options for the driver: systemd mode is per container (dockerd sets it so too). */
export function runcOptionsFor(driver: CgroupDriver): RuncOptionsInit | undefined {
  return driver === "systemd" ? { systemdCgroup: true } : undefined;
}

/** The mode a new container records: its own, else privileged on v1 shares the host's, else the default. */
export function resolveCgroupnsMode(asked: string | undefined, privileged: boolean, host: Pick<CgroupHost, "version" | "defaultCgroupnsMode">): CgroupnsMode {
  if (asked === "host" || asked === "private") return asked;
  if (asked) throw errInvalidArgument(`invalid cgroup namespace mode: ${asked}`);
  return privileged && host.version === 1 ? "host" : host.defaultCgroupnsMode;
}

let probed: CgroupHost | undefined;

/** The real host, probed once per process (default driver). */
export function hostCgroups(): CgroupHost {
  return (probed ??= probeCgroups());
}
