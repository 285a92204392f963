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

// withInit (docker --init: bind docker-init at /sbin/docker-init and prefix args) is not
// provided yet: berth ships no init binary.
