import { readFileSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { errInvalidArgument } from "../base/errors.js";
import type { ContainerRecord, RootfsRecord } from "../container/index.js";
import { parseExtraHosts, renderHosts } from "../network/index.js";
import type { LinuxDevice, Spec } from "../containerd/index.js";
import { blockDeviceNumbers, hostDevices, resolveDeviceMapping } from "./host-devices.js";
import { cgroupsPathFor, hostCgroups, type CgroupDriver, type HostCgroupFeatures } from "./cgroups.js";
import {
  KNOWN_CAPABILITIES,
  buildSpec,
  resolveUser,
  withArgs,
  withCapabilities,
  withCgroupns,
  withCgroupsPath,
  withCpu,
  withBlkio,
  withCpuRealtime,
  withCwd,
  withDeviceCgroupRules,
  withDevices,
  withDomainname,
  withInit,
  withIpcMode,
  withMaskedPaths,
  withMemoryTuning,
  withOomScoreAdj,
  withPidMode,
  withPrivileged,
  withReadonlyPaths,
  withShmSize,
  withSysctls,
  withUlimits,
  withUtsMode,
  withEnv,
  withHostname,
  withHostsAndResolvConf,
  withMemoryLimit,
  withMounts,
  withNetworkMode,
  withPidsLimit,
  withReadonlyRootfs,
  withRootfsPath,
  withSecurityOpts,
  withTmpfs,
  withTty,
  withUser,
  type SpecOpt,
} from "./oci/index.js";
import { DEFAULT_PATH_ENV } from "./oci/index.js";
import { withSeccomp, type DaemonSeccomp } from "./oci/seccomp.js";
import { withAppArmor } from "./oci/apparmor.js";
import { withNoNewPrivileges } from "./oci/security.js";
import { withUserNamespace } from "./oci/userns.js";
import { mergeUlimits, type DaemonSecurity } from "./daemon-security.js";
import { withShimGroup } from "./shim-groups.js";

export interface SpecInputs {
  record: ContainerRecord;
  rootfs: RootfsRecord;
  /** cgroup parent: `/<cgroupParent>/<id>` (cgroupfs), or the slice of `<parent>:berth:<id>` (systemd). */
  cgroupParent: string;
  /** The daemon's cgroup driver (default cgroupfs). */
  cgroupDriver?: CgroupDriver;
  /** Host paths of the container's generated network files. */
  files: { hosts: string; resolvConf: string; hostname: string };
  /** Contents of the image's /etc/passwd and /etc/group (undefined when absent). */
  passwd: string | undefined;
  group: string | undefined;
  numCpus?: number;
  /** Resolved volume and bind mounts (volumes layer) and tmpfs mounts from them. */
  mounts: { binds: import("../containerd/index.js").Mount[]; tmpfs: Record<string, string> };
  /** The container's network namespace (CNI-managed), for the default and user networks. */
  netnsPath?: string;
  /**
   * Namespaces of other containers for `--pid container:<id>` / `--ipc container:<id>`
   * (/proc/<pid>/ns/pid, /proc/<pid>/ns/ipc). Without one such a mode is refused (400).
   */
  namespacePaths?: { pid?: string; ipc?: string; net?: string };
  /** Legacy links' variables (`linksEnv`), between dockerd's own and the container's. */
  linkEnv?: string[];
  /** The init binary bound at /sbin/docker-init for `--init` (`findInitBinary`); required then. */
  initPath?: string;
  /** What the host's cgroups can do (cgroups.ts); probed from /sys/fs/cgroup when not given. */
  host?: HostCgroupFeatures;
  /** The host's device nodes for --privileged; read from /dev when not given. */
  hostDevices?: () => LinuxDevice[];
  /** The daemon's own bounding set ("CAP_*"), what --privileged can give; read from /proc when not given. */
  daemonCapabilities?: () => string[];
  /** The daemon's default seccomp profile (`--seccomp-profile`); dockerd's built-in when absent. */
  seccomp?: DaemonSeccomp;
  /** Daemon-wide defaults: --no-new-privileges, --default-ulimit, AppArmor, --userns-remap. */
  security?: DaemonSecurity;
}

let ownBounding: string[] | undefined;

/** This process's bounding capabilities, by name (KNOWN_CAPABILITIES is in bit order). */
export function daemonBoundingCapabilities(status = "/proc/self/status"): string[] {
  if (ownBounding) return ownBounding;
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync(status, "utf8"))?.[1];
  const bits = hex === undefined ? undefined : BigInt(`0x${hex}`);
  ownBounding = KNOWN_CAPABILITIES.filter((_, bit) => bits === undefined || ((bits >> BigInt(bit)) & 1n) === 1n);
  return ownBounding;
}

export type { HostCgroupFeatures };

/**
 * Whether the spec needs the image's /etc/passwd and /etc/group: a user given by name, or a
 * --group-add by name (numbers need no lookup).
 */
export function needsImageUserFiles(record: ContainerRecord): boolean {
  const user = record.config.user;
  if (user && !/^\d+(:\d+)?$/.test(user)) return true;
  return (record.hostConfig.groupAdd ?? []).some((g) => !/^\d+$/.test(g));
}

/** cgroupfs path of a container: `<parent>/<id>`, always absolute (`--cgroup-parent foo` is /foo). */
export function cgroupsPathOf(parent: string, id: string): string {
  return cgroupsPathFor("cgroupfs", parent, id);
}

export function containerHostname(record: ContainerRecord): string {
  return record.config.hostname || record.id.slice(0, 12);
}

/**
 * dockerd's container environment: PATH (unless the container sets one), HOSTNAME, TERM=xterm
 * with a TTY, then the container's own variables (which replace same-named ones).
 */
export function containerEnv(record: ContainerRecord): string[] {
  const base = [`PATH=${DEFAULT_PATH_ENV}`, `HOSTNAME=${containerHostname(record)}`];
  if (record.config.tty) base.push("TERM=xterm");
  return base;
}

/** The OCI spec of a container from its record: dockerd's defaults plus the user's settings. */
export function buildContainerSpec(i: SpecInputs): Spec {
  const { record } = i;
  const { config, hostConfig: hc } = record;
  const r = hc.resources;
  const user = resolveUser(config.user, i.passwd, i.group, hc.groupAdd ?? []);
  const host = i.host ?? hostCgroups().features;
  const utsMode = hc.utsMode ?? "";
  if (utsMode === "host" && config.hostname) throw errInvalidArgument("conflicting options: hostname and the UTS mode");
  const sec = i.security ?? {};
  const remap = remapOf(record, sec);
  if (remap && hc.privileged) {
    throw errInvalidArgument("privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode");
  }
  const ulimits = mergeUlimits(hc.ulimits ?? [], sec.defaultUlimits ?? []);
  const netnsPath = i.netnsPath ?? i.namespacePaths?.net;
  if (hc.init && !i.initPath) {
    throw errInvalidArgument("--init: no init binary on this host (install Debian's tini package: /usr/bin/tini-static)");
  }
  const opts: SpecOpt[] = [
    withArgs([record.path, ...record.args].filter((a, idx) => idx > 0 || a !== "")),
    withEnv([...containerEnv(record), ...(i.linkEnv ?? []), ...config.env]),
    withCwd(config.workingDir || "/"),
    withHostname(containerHostname(record)),
    ...(config.domainname ? [withDomainname(config.domainname)] : []),
    withTty(config.tty),
    withUser({ uid: user.uid, gid: user.gid, additionalGids: user.additionalGids }),
    withNetworkMode(hc.networkMode === "host" ? "host" : hc.networkMode, netnsPath !== undefined ? { netnsPath } : {}),
    withPidMode(hc.pidMode ?? "", i.namespacePaths?.pid !== undefined ? { nsPath: i.namespacePaths.pid } : {}),
    withIpcMode(hc.ipcMode ?? "", i.namespacePaths?.ipc !== undefined ? { nsPath: i.namespacePaths.ipc } : {}),
    withUtsMode(utsMode),
    withCapabilities({ add: hc.capAdd, drop: hc.capDrop }),
    // The daemon's default first: a container's no-new-privileges[=bool] overrides it.
    ...(sec.noNewPrivileges ? [withNoNewPrivileges(true)] : []),
    withSecurityOpts(hc.securityOpt),
    withAppArmor(hc.securityOpt, hc.privileged === true, sec.apparmor ?? { enabled: false }),
    // After the capabilities: the profile's conditions read the bounding set.
    withSeccomp({
      securityOpt: hc.securityOpt,
      privileged: hc.privileged === true,
      ...(i.seccomp ? { daemon: i.seccomp } : {}),
    }),
    ...(hc.maskedPaths ? [withMaskedPaths(hc.maskedPaths)] : []),
    ...(hc.readonlyPaths ? [withReadonlyPaths(hc.readonlyPaths)] : []),
    withMemoryLimit(r.memory, r.memorySwap || undefined, host.swapLimit !== undefined ? { swapLimit: host.swapLimit } : {}),
    withMemoryTuning(
      {
        ...(r.memoryReservation ? { reservation: r.memoryReservation } : {}),
        ...(r.memorySwappiness !== undefined ? { swappiness: r.memorySwappiness } : {}),
        ...(r.oomKillDisable ? { oomKillDisable: true } : {}),
      },
      r.memory,
      { swappiness: host.memorySwappiness, oomKillDisable: host.oomKillDisable },
    ),
    withCpu(
      {
        ...(r.nanoCpus ? { nanoCpus: r.nanoCpus } : {}),
        ...(r.cpuShares ? { shares: r.cpuShares } : {}),
        ...(r.cpuQuota ? { quota: r.cpuQuota } : {}),
        ...(r.cpuPeriod ? { period: r.cpuPeriod } : {}),
        ...(r.cpusetCpus ? { cpusetCpus: r.cpusetCpus } : {}),
      },
      i.numCpus !== undefined ? { numCpus: i.numCpus } : {},
    ),
    withCpuRealtime({ period: r.cpuRealtimePeriod ?? 0, runtime: r.cpuRealtimeRuntime ?? 0 }, { realtime: host.cpuRealtime }),
    withBlkio(
      {
        weight: r.blkioWeight ?? 0,
        weightDevices: (r.blkioWeightDevice ?? []).map((d) => ({ ...blockDeviceNumbers(d.path), weight: d.weight })),
      },
      { weight: host.blkioWeight, weightDevice: host.blkioWeightDevice },
    ),
    ...(r.pidsLimit !== undefined && r.pidsLimit !== 0 ? [withPidsLimit(r.pidsLimit)] : []),
    withReadonlyRootfs(hc.readonlyRootfs),
    ...(i.rootfs.kind === "path" ? [withRootfsPath(i.rootfs.path)] : []),
    withTmpfs({ ...hc.tmpfs, ...i.mounts.tmpfs }),
    withMounts(i.mounts.binds),
    ...(hc.networkMode === "host" ? [] : [withHostsAndResolvConf({ hosts: i.files.hosts, resolvConf: i.files.resolvConf, hostname: i.files.hostname })]),
    withShmSize(hc.shmSize ?? 0),
    withCgroupsPath(cgroupsPathFor(i.cgroupDriver ?? "cgroupfs", hc.cgroupParent || i.cgroupParent, record.id)),
    ...(hc.cgroupnsMode ? [withCgroupns(hc.cgroupnsMode)] : []),
    ...(ulimits.length > 0 ? [withUlimits(ulimits)] : []),
    withOomScoreAdj(hc.oomScoreAdj ?? 0),
    // A privileged container has the host's nodes already: a --device at its own host path adds nothing.
    withDevices((hc.devices ?? []).filter((d) => !(hc.privileged && d.pathOnHost === (d.pathInContainer || d.pathOnHost))).flatMap(resolveDeviceMapping)),
    ...(hc.privileged ? [] : [withDeviceCgroupRules(hc.deviceCgroupRules ?? [])]),
    // After the capabilities, devices and paths it overrides. Seccomp (not applied yet) must
    // leave a privileged container unconfined: read record.hostConfig.privileged.
    ...(hc.privileged ? [withPrivileged((i.hostDevices ?? hostDevices)(), (i.daemonCapabilities ?? daemonBoundingCapabilities)())] : []),
    ...(hc.init ? [withInit(i.initPath!)] : []),
    // Last: checked against the namespaces the options above chose.
    ...(hc.sysctls && Object.keys(hc.sysctls).length > 0 ? [withSysctls(hc.sysctls)] : []),
    ...(remap ? [withUserNamespace(remap)] : []),
    ...(record.shimGroup ? [withShimGroup(record.shimGroup)] : []),
  ];
  return buildSpec(opts);
}


/** The daemon's --userns-remap mappings for this container, unless it runs with `--userns host`. */
export function remapOf(record: ContainerRecord, sec: DaemonSecurity | undefined): DaemonSecurity["remap"] {
  return sec?.remap && record.hostConfig.usernsMode !== "host" ? sec.remap : undefined;
}

/** Where a container's /etc/hosts, /etc/resolv.conf and /etc/hostname live in its directory. */
export function networkFilePaths(dir: string): SpecInputs["files"] {
  return { hosts: path.join(dir, "hosts"), resolvConf: path.join(dir, "resolv.conf"), hostname: path.join(dir, "hostname") };
}

/**
 * Writes the container's /etc/hosts, /etc/resolv.conf and /etc/hostname into its directory.
 * resolv.conf is the host's without loopback nameservers (unreachable from a private network
 * namespace), as dockerd filters it; with none left, dockerd's fallback public resolvers are not
 * added because berth's containers have no network yet.
 */
export async function writeNetworkFiles(dir: string, record: ContainerRecord): Promise<SpecInputs["files"]> {
  await fs.mkdir(dir, { recursive: true });
  const files = networkFilePaths(dir);
  const hostname = containerHostname(record);
  await fs.writeFile(files.hostname, hostname + "\n");
  // The network layer rewrites it with the container's address and peers when it is networked.
  await fs.writeFile(files.hosts, renderHosts({ extra: parseExtraHosts(record.hostConfig.extraHosts ?? [], undefined), self: [], peers: [] }));
  const host = await fs.readFile("/etc/resolv.conf", "utf8").catch(() => "");
  const filtered = host
    .split("\n")
    .filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l))
    .join("\n");
  await fs.writeFile(files.resolvConf, filtered.endsWith("\n") || filtered === "" ? filtered : filtered + "\n");
  return files;
}
