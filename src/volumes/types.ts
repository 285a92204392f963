// The volume library's vocabulary (engine side: camelCase; Docker's JSON is made in src/api).

/** A volume as `docker volume inspect` shows it. */
export interface VolumeInfo {
  name: string;
  /** Always "local": the only driver berth has. */
  driver: string;
  /** Host path of the data: `<root>/volumes/<name>/_data`. */
  mountpoint: string;
  /** RFC 3339, UTC, whole seconds ("2024-05-01T10:00:00Z"), as dockerd formats it. */
  createdAt: string;
  labels: Record<string, string>;
  /** Driver options as given at create ({} for none). */
  options: Record<string, string>;
  scope: "local";
  /** Only when asked for (`docker system df`); size -1 when not available. */
  usageData?: { size: number; refCount: number };
}

export type { ResolvedMount } from "../container/mount-points.js";

/** A container mount as inspect lists it (engine vocabulary; the API writes the Docker JSON). */
export interface InspectMount {
  type: "volume" | "bind" | "tmpfs";
  /** Volume name; "" otherwise. */
  name: string;
  source: string;
  destination: string;
  /** "local" for volumes; "" otherwise. */
  driver: string;
  mode: string;
  rw: boolean;
  propagation: string;
}
