import fs from "node:fs/promises";
import path from "node:path";
import type { ContainerRecord, RootfsRecord } from "../container/index.js";
import { parseExtraHosts, renderHosts } from "../network/index.js";
import type { Spec } from "../containerd/index.js";
import {
  buildSpec,
  resolveUser,
  withArgs,
  withCapabilities,
  withCgroupsPath,
  withCpu,
  withCwd,
  withDomainname,
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

export interface SpecInputs {
  record: ContainerRecord;
  rootfs: RootfsRecord;
  /** cgroup parent: containers live at `/<cgroupParent>/<id>` (cgroupfs driver). */
  cgroupParent: string;
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
  /** The daemon's default seccomp profile (`--seccomp-profile`); dockerd's built-in when absent. */
  seccomp?: DaemonSeccomp;
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
  const user = resolveUser(config.user, i.passwd, i.group);
  const opts: SpecOpt[] = [
    withArgs([record.path, ...record.args].filter((a, idx) => idx > 0 || a !== "")),
    withEnv([...containerEnv(record), ...config.env]),
    withCwd(config.workingDir || "/"),
    withHostname(containerHostname(record)),
    ...(config.domainname ? [withDomainname(config.domainname)] : []),
    withTty(config.tty),
    withUser({ uid: user.uid, gid: user.gid, additionalGids: user.additionalGids }),
    withNetworkMode(hc.networkMode === "host" ? "host" : hc.networkMode, i.netnsPath ? { netnsPath: i.netnsPath } : {}),
    withCapabilities({ add: hc.capAdd, drop: hc.capDrop }),
    withSecurityOpts(hc.securityOpt),
    // After the capabilities: the profile's conditions read the bounding set.
    withSeccomp({
      securityOpt: hc.securityOpt,
      privileged: "privileged" in hc && hc.privileged === true,
      ...(i.seccomp ? { daemon: i.seccomp } : {}),
    }),
    withMemoryLimit(r.memory, r.memorySwap || undefined),
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
    ...(r.pidsLimit !== undefined && r.pidsLimit !== 0 ? [withPidsLimit(r.pidsLimit)] : []),
    withReadonlyRootfs(hc.readonlyRootfs),
    ...(i.rootfs.kind === "path" ? [withRootfsPath(i.rootfs.path)] : []),
    withTmpfs({ ...hc.tmpfs, ...i.mounts.tmpfs }),
    withMounts(i.mounts.binds),
    ...(hc.networkMode === "host" ? [] : [withHostsAndResolvConf({ hosts: i.files.hosts, resolvConf: i.files.resolvConf, hostname: i.files.hostname })]),
    withCgroupsPath(`/${i.cgroupParent}/${record.id}`),
  ];
  return buildSpec(opts);
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
