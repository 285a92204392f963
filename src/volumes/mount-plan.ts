/**
 * A container's mount points, planned from its configuration the way dockerd's
 * registerMountPoints and createContainerOSSpecificSettings lay them out (moby
 * `daemon/volumes.go`, `daemon/create_unix.go`):
 *
 *  1. HostConfig.Binds in order; a destination given twice, or also in HostConfig.Tmpfs, is
 *     "Duplicate mount point: <dest>".
 *  2. HostConfig.Mounts in order; a destination already taken is a duplicate too.
 *  3. Config.Volumes (the container's and the image's VOLUME entries): an anonymous volume each,
 *     unless a mount of steps 1–2 or a HostConfig.Tmpfs entry already covers the path.
 *
 * Pure (the bind-source check is a parameter); volumes are created from the plan by
 * createContainerMounts (container-mounts.ts).
 */
import { errInvalidArgument } from "../base/errors.js";
import { cleanPath, parseMountSpec, parseVolumeSpec, type BindSourceHost, type MountSpec, type ParsedMount } from "./mount-spec.js";

export interface ContainerMountRequest {
  /** HostConfig.Binds: `-v` entries. */
  binds?: readonly string[];
  /** HostConfig.Mounts: `--mount` entries. */
  mounts?: readonly MountSpec[];
  /** HostConfig.Tmpfs (destination → options): only to find duplicates and covered paths. */
  tmpfs?: Readonly<Record<string, string>>;
  /** Config.Volumes merged with the image's: anonymous volume mount points. */
  volumes?: readonly string[];
  /** HostConfig.VolumeDriver ("" / "local"). */
  volumeDriver?: string;
}

/** A mount point of the plan; `fromConfig` marks an anonymous volume from Config.Volumes. */
export type PlannedMount = ParsedMount & { fromConfig?: boolean };

const duplicate = (destination: string) => errInvalidArgument(`Duplicate mount point: ${destination}`);

/** dockerd's setBindModeIfNull: a local volume from -v or --mount shows mode "z" unless given one. */
function withDefaultMode(m: ParsedMount): ParsedMount {
  return m.type === "volume" && m.mode === "" ? { ...m, mode: "z" } : m;
}

export function planMounts(req: ContainerMountRequest, host: BindSourceHost): PlannedMount[] {
  const tmpfs = new Set(Object.keys(req.tmpfs ?? {}).map(cleanPath));
  const taken = new Set<string>();
  const plan: PlannedMount[] = [];
  const volumeDriver = req.volumeDriver ?? "";

  for (const raw of req.binds ?? []) {
    const m = withDefaultMode(parseVolumeSpec(raw, { volumeDriver, host }));
    if (taken.has(m.destination) || tmpfs.has(m.destination)) throw duplicate(m.destination);
    taken.add(m.destination);
    plan.push(m);
  }

  for (const spec of req.mounts ?? []) {
    const m = withDefaultMode(parseMountSpec(spec, host));
    // dockerd names the target as given. It does not compare Mounts with HostConfig.Tmpfs and
    // would hand runc two mounts on one path; berth refuses that as a duplicate too.
    if (taken.has(m.destination) || tmpfs.has(m.destination)) throw duplicate(spec.target ?? m.destination);
    taken.add(m.destination);
    plan.push(m);
  }

  // A Go map in dockerd, so unordered there; sorted here for a stable result.
  for (const raw of [...new Set(req.volumes ?? [])].sort()) {
    let destination = cleanPath(raw);
    // runc reads a relative destination from "/" (with a warning); make that explicit.
    if (!destination.startsWith("/")) destination = cleanPath("/" + destination);
    if (destination === "/") throw errInvalidArgument("invalid specification: destination can't be '/'");
    if (taken.has(destination) || tmpfs.has(destination)) continue;
    taken.add(destination);
    plan.push({ type: "volume", name: undefined, destination, readonly: false, mode: "", copyUp: true, driver: volumeDriver, fromConfig: true });
  }
  return plan;
}
