// --volumes-from <container>[:ro|:rw]: the mounts (volumes, binds, --mount tmpfs) of another
// container added to a new one at create, as dockerd's registerMountPoints copies them: before
// the container's own binds and mounts (which win at the same destination) and over its image's
// anonymous VOLUMEs; a copied volume is the donor's (never copied up, never anonymous here).
import { errInvalidArgument } from "../base/errors.js";
import type { ResolvedMount } from "../container/index.js";
import { isValidMountMode } from "./mount-spec.js";
import type { PlannedMount } from "./mount-plan.js";

/** `id[:mode]` → the donor reference and whether the copies are read-only (moby ParseVolumesFrom). */
export function parseVolumesFrom(spec: string): { ref: string; readonly: boolean } {
  if (spec === "") throw errInvalidArgument(`volumes-from specification cannot be an empty string`);
  const parts = spec.split(":");
  const [ref, mode = "rw"] = parts;
  if (parts.length > 2 || !isValidMountMode(mode)) throw errInvalidArgument(`invalid mode: ${mode}`);
  return { ref: ref!, readonly: mode.split(",").includes("ro") };
}

/**
 * The donor's mounts as planned mounts of the new container: read-write only where the donor's
 * is and the mode does not say `ro`; the mode string itself is not kept (dockerd shows "").
 */
export function volumesFromPlan(donor: readonly ResolvedMount[], readonly: boolean): PlannedMount[] {
  return donor.map((m): PlannedMount => {
    const ro = m.readonly || readonly;
    switch (m.type) {
      case "bind":
        return { type: "bind", source: m.source, destination: m.destination, readonly: ro, propagation: m.propagation, mode: "", nonRecursive: !!m.nonRecursive, createMountpoint: false };
      case "volume":
        return { type: "volume", name: m.volumeName!, destination: m.destination, readonly: ro, mode: "", copyUp: false, driver: "" };
      case "tmpfs":
        return { type: "tmpfs", destination: m.destination, readonly: ro, tmpfsOptions: m.tmpfsOptions ?? "" };
    }
  });
}

/**
 * The new container's plan with its donors' mounts: its own binds and mounts win at a
 * destination, a donor's mount wins over an image VOLUME there, a later donor over an earlier.
 */
export function mergeVolumesFrom(own: readonly PlannedMount[], inherited: readonly PlannedMount[]): PlannedMount[] {
  const explicit = new Set(own.filter((m) => !m.fromConfig).map((m) => m.destination));
  const byDest = new Map<string, PlannedMount>();
  for (const m of inherited) if (!explicit.has(m.destination)) byDest.set(m.destination, m);
  return [...byDest.values(), ...own.filter((m) => !(m.fromConfig && byDest.has(m.destination)))];
}
