/**
 * Views of a container's resolved mounts: the OCI mounts the engine gives runc, the list
 * container inspect shows (the decoder of the list the container record persists lives with the
 * record, in container/mount-points.ts). Pure.
 */
import type { Mount } from "../containerd/oci/spec-types.js";
import { LOCAL_DRIVER } from "./driver-options.js";
import type { InspectMount, ResolvedMount } from "./types.js";

export interface OciMounts {
  /** Volumes and binds as OCI bind mounts, in the order given. */
  binds: Mount[];
  /**
   * tmpfs mounts as destination → dockerd's data string, for the oci withTmpfs (which puts
   * docker's noexec,nosuid,nodev,rprivate defaults under them, as dockerd does).
   */
  tmpfs: Record<string, string>;
}

/**
 * The OCI form, as dockerd's WithMounts writes it: "rbind" ("bind" when non-recursive), "ro"
 * when read-only, and the propagation when there is one (binds; a volume has none).
 */
export function ociMounts(mounts: readonly ResolvedMount[]): OciMounts {
  const out: OciMounts = { binds: [], tmpfs: {} };
  for (const m of mounts) {
    if (m.type === "tmpfs") {
      out.tmpfs[m.destination] = m.tmpfsOptions ?? (m.readonly ? "ro" : "");
      continue;
    }
    out.binds.push({
      destination: m.destination,
      type: "bind",
      source: m.source,
      options: [m.nonRecursive ? "bind" : "rbind", ...(m.readonly ? ["ro"] : []), ...(m.propagation ? [m.propagation] : [])],
    });
  }
  return out;
}

/**
 * Container inspect's `Mounts`: every resolved mount (HostConfig.Tmpfs entries are not in the
 * resolved list, and dockerd does not show them either), sorted by destination (dockerd's order
 * is a Go map's, i.e. random).
 */
export function inspectMounts(mounts: readonly ResolvedMount[]): InspectMount[] {
  return [...mounts]
    .sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0))
    .map((m) => ({
      type: m.type,
      name: m.type === "volume" ? (m.volumeName ?? "") : "",
      source: m.source,
      destination: m.destination,
      driver: m.type === "volume" ? LOCAL_DRIVER : "",
      mode: m.mode,
      rw: !m.readonly,
      propagation: m.propagation,
    }));
}

/** The volume names a container's mounts reference. */
export function volumeNamesOf(mounts: readonly ResolvedMount[]): string[] {
  return mounts.flatMap((m) => (m.type === "volume" && m.volumeName ? [m.volumeName] : []));
}

export { decodeResolvedMounts } from "../container/mount-points.js";
