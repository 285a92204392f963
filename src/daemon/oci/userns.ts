/** A user namespace with uid/gid mappings (dockerd's `--userns-remap`). */
import type { LinuxIdMapping } from "../../containerd/oci/spec-types.js";
import { DEFAULT_NETWORK_SYSCTLS } from "./namespaces.js";
import { type SpecOpt, linuxOf } from "./spec-opt.js";

export interface UserNamespaceMaps {
  uids: readonly LinuxIdMapping[];
  gids: readonly LinuxIdMapping[];
}

/**
 * Adds the user namespace and its mappings; runc maps them before the container's root exists.
 * Apply after the network mode: the default net.ipv4.ping_group_range ("0 2147483647") names
 * gids the namespace does not map, which the kernel refuses (EINVAL), so it is narrowed to the
 * mapped gids.
 */
export function withUserNamespace(maps: UserNamespaceMaps): SpecOpt {
  const mappedGids = maps.gids.reduce((n, m) => Math.max(n, m.containerID + m.size), 0);
  return (spec) => {
    const linux = linuxOf(spec);
    const ping = "net.ipv4.ping_group_range";
    if (linux.sysctl?.[ping] === DEFAULT_NETWORK_SYSCTLS[ping] && mappedGids > 0) linux.sysctl[ping] = `0 ${mappedGids - 1}`;
    const ns = (linux.namespaces ??= []);
    if (!ns.some((n) => n.type === "user")) ns.push({ type: "user" });
    linux.uidMappings = maps.uids.map((m) => ({ ...m }));
    linux.gidMappings = maps.gids.map((m) => ({ ...m }));
  };
}
