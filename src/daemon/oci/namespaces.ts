/** Linux namespaces and the network mode. */
import { posix } from "node:path";

import { errInvalidArgument } from "../../base/errors.js";
import { goQuote as quote } from "../../base/go-parse.js";
import type { LinuxNamespace, LinuxNamespaceType, Spec } from "../../containerd/oci/spec-types.js";
import { type SpecOpt, linuxOf, pruneSysctl, sysctlOf } from "./spec-opt.js";

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

/**
 * How a container gets one namespace: its own, the host's (no namespace in the spec), or an
 * existing one at `path` (another container's: /proc/<pid>/ns/<type>).
 */
export type NamespaceMode = { kind: "private" } | { kind: "host" } | { kind: "path"; path: string };

export function withNamespace(type: LinuxNamespaceType, mode: NamespaceMode): SpecOpt {
  if (mode.kind === "path" && !posix.isAbsolute(mode.path)) {
    throw errInvalidArgument(`${type} namespace path must be absolute, got ${quote(mode.path)}`);
  }
  return (spec) => {
    if (mode.kind === "host") removeNamespace(spec, type);
    else setNamespace(spec, { type, ...(mode.kind === "path" ? { path: mode.path } : {}) });
  };
}

/** A `container:<id>` mode joins that container's namespace, whose path the caller must find. */
function joinedMode(what: string, mode: string, nsPath: string | undefined): NamespaceMode {
  if (nsPath === undefined) {
    throw errInvalidArgument(
      `${what} mode ${quote(mode)} is not supported yet: joining another container's namespace needs its path`,
    );
  }
  return { kind: "path", path: nsPath };
}

/** docker `--pid`: "" (own namespace), "host", or "container:<id>" with that container's path. */
export function withPidMode(mode: string, opts: { nsPath?: string } = {}): SpecOpt {
  if (mode === "" || mode === "private") return withNamespace("pid", { kind: "private" });
  if (mode === "host") return withNamespace("pid", { kind: "host" });
  if (mode.startsWith("container:") && mode.length > "container:".length) {
    return withNamespace("pid", joinedMode("PID", mode, opts.nsPath));
  }
  throw errInvalidArgument(`invalid PID mode: ${mode}`);
}

/** The host's /dev/shm, bound into an `--ipc host` container as dockerd does. */
export const HOST_SHM = "/dev/shm";

/**
 * docker `--ipc` (dockerd 20.10's modes): "" and "private" (own namespace, own /dev/shm),
 * "shareable" (the same here: berth keeps no host-side /dev/shm for others to join yet),
 * "none" (own namespace, no /dev/shm at all), "host" (the host's namespace and /dev/shm), and
 * "container:<id>" (that container's namespace; its path must be given).
 */
export function withIpcMode(mode: string, opts: { nsPath?: string; hostShm?: string } = {}): SpecOpt {
  let ns: NamespaceMode;
  if (mode === "" || mode === "private" || mode === "shareable" || mode === "none") ns = { kind: "private" };
  else if (mode === "host") ns = { kind: "host" };
  else if (mode.startsWith("container:") && mode.length > "container:".length) ns = joinedMode("IPC", mode, opts.nsPath);
  else throw errInvalidArgument(`invalid IPC mode: ${mode}`);
  const setNs = withNamespace("ipc", ns);
  const hostShm = opts.hostShm ?? HOST_SHM;
  return (spec) => {
    setNs(spec);
    if (mode !== "none" && mode !== "host") return;
    // Only the default /dev/shm (source "shm"): a container's own mount there stays.
    const i = (spec.mounts ?? []).findIndex((m) => m.destination === "/dev/shm" && m.source === "shm");
    if (i < 0) return;
    if (mode === "none") spec.mounts!.splice(i, 1);
    else spec.mounts![i] = { destination: "/dev/shm", type: "bind", source: hostShm, options: ["rbind", "rprivate"] };
  };
}

/**
 * docker `--uts`: "" (own namespace) or "host", where the container sees the host's hostname:
 * the spec then sets none (runc cannot set one without a namespace of its own).
 */
export function withUtsMode(mode: string): SpecOpt {
  if (mode !== "" && mode !== "host") throw errInvalidArgument(`invalid UTS mode: ${mode}`);
  const setNs = withNamespace("uts", { kind: mode === "host" ? "host" : "private" });
  return (spec) => {
    setNs(spec);
    if (mode === "host") delete spec.hostname;
  };
}

/** The IPC sysctls runc allows in a container's own IPC namespace. */
const IPC_SYSCTLS = new Set([
  "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
  "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
]);

/**
 * Why runc would refuse a sysctl for this spec's namespaces, in runc 1.1's words, or undefined
 * when it is namespaced: IPC ones need an IPC namespace, net.* a network namespace,
 * kernel.domainname a UTS namespace; kernel.hostname conflicts with the hostname field and any
 * other sysctl is global to the host.
 */
function sysctlRefusal(name: string, has: (t: LinuxNamespaceType) => boolean): string | undefined {
  if (IPC_SYSCTLS.has(name) || name.startsWith("fs.mqueue.")) {
    return has("ipc") ? undefined : `sysctl ${quote(name)} is not allowed in the hosts ipc namespace`;
  }
  if (name.startsWith("net.")) {
    return has("network") ? undefined : `sysctl ${quote(name)} is not allowed in the hosts network namespace`;
  }
  if (has("uts")) {
    if (name === "kernel.domainname") return undefined;
    if (name === "kernel.hostname") return `sysctl ${quote(name)} is not allowed as it conflicts with the OCI "hostname" field`;
  }
  return `sysctl ${quote(name)} is not in a separate kernel namespace`;
}

/**
 * docker `--sysctl`: merged over the spec's (the user's value wins over dockerd's network
 * defaults). dockerd hands any sysctl to runc, which refuses at start the ones that are not
 * namespaced for this container; berth refuses them at create, with runc's message. Apply it
 * after the namespace options, whose result it checks.
 */
export function withSysctls(sysctls: Readonly<Record<string, string>>): SpecOpt {
  const copy = { ...sysctls };
  return (spec) => {
    const present = new Set((spec.linux?.namespaces ?? []).map((n) => n.type));
    const problems = Object.keys(copy)
      .map((name) => sysctlRefusal(name, (t) => present.has(t)))
      .filter((why): why is string => why !== undefined);
    if (problems.length > 0) throw errInvalidArgument(problems.join("; "));
    Object.assign(sysctlOf(spec), copy);
    pruneSysctl(spec);
  };
}

/**
 * --cgroupns: "private" gives the container its own cgroup namespace (its cgroup is its "/",
 * and runc mounts only its own subtree at /sys/fs/cgroup), "host" shares the host's. dockerd
 * 20.10 defaults to private on cgroup v2 and host on v1; the caller resolves the default.
 */
export function withCgroupns(mode: string): SpecOpt {
  if (mode !== "host" && mode !== "private") throw errInvalidArgument(`invalid cgroup namespace mode: ${mode}`);
  return (spec) => {
    if (mode === "private") setNamespace(spec, { type: "cgroup" });
    else removeNamespace(spec, "cgroup");
  };
}
