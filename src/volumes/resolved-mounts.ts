/**
 * Views of a container's resolved mounts: the OCI mounts the engine gives runc, the list
 * container inspect shows, and the decoder for the list as the engine persists it in its
 * container record. Pure.
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

function fail(path: string, expected: string): never {
  throw new Error(`${path}: expected ${expected}`);
}

/** Checks a persisted list (JSON.parse output); throws an Error naming the first bad field. */
export function decodeResolvedMounts(v: unknown, path = "mountPoints"): ResolvedMount[] {
  if (!Array.isArray(v)) fail(path, "an array");
  return v.map((x, i) => {
    const p = `${path}[${i}]`;
    if (typeof x !== "object" || x === null) fail(p, "an object");
    const o = x as Record<string, unknown>;
    const str = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : fail(`${p}.${k}`, "a string"));
    const bool = (k: string) => (typeof o[k] === "boolean" ? (o[k] as boolean) : fail(`${p}.${k}`, "a boolean"));
    const optStr = (k: string) => (o[k] === undefined ? undefined : str(k));
    const optBool = (k: string) => (o[k] === undefined ? undefined : bool(k));
    const type = str("type");
    if (type !== "volume" && type !== "bind" && type !== "tmpfs") fail(`${p}.type`, "volume|bind|tmpfs");
    const m: ResolvedMount = {
      type,
      source: str("source"),
      destination: str("destination"),
      readonly: bool("readonly"),
      propagation: str("propagation"),
      copyUp: bool("copyUp"),
      mode: str("mode"),
    };
    const volumeName = optStr("volumeName");
    if (volumeName !== undefined) m.volumeName = volumeName;
    if (type === "volume" && volumeName === undefined) fail(`${p}.volumeName`, "a string");
    const anonymous = optBool("anonymous");
    if (anonymous !== undefined) m.anonymous = anonymous;
    const tmpfsOptions = optStr("tmpfsOptions");
    if (tmpfsOptions !== undefined) m.tmpfsOptions = tmpfsOptions;
    const nonRecursive = optBool("nonRecursive");
    if (nonRecursive !== undefined) m.nonRecursive = nonRecursive;
    const createMountpoint = optBool("createMountpoint");
    if (createMountpoint !== undefined) m.createMountpoint = createMountpoint;
    return m;
  });
}
