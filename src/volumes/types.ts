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

/** One mount of a container, resolved: what the engine turns into an OCI mount. */
export interface ResolvedMount {
  type: "volume" | "bind" | "tmpfs";
  /** Host path: the volume's `_data`, the bind source; "" for tmpfs. */
  source: string;
  /** Cleaned absolute path in the container. */
  destination: string;
  readonly: boolean;
  /** Bind propagation ("rprivate" by default); "" for volumes and tmpfs, as dockerd. */
  propagation: string;
  /** The volume's name (type "volume"). */
  volumeName?: string;
  /** A volume the container did not name: removed with the container by `rm -v` / `--rm`. */
  anonymous?: boolean;
  /** Copy the image's content at `destination` into an empty volume before the first start. */
  copyUp: boolean;
  /** The mode as inspect shows it: "-v" mode string, "z" for local volumes without one, else "". */
  mode: string;
  /** tmpfs: dockerd's data string ("ro,mode=1777,size=64m"), to merge over docker's defaults. */
  tmpfsOptions?: string;
  /** Bind: "bind" instead of "rbind" (--mount bind-nonrecursive). */
  nonRecursive?: boolean;
  /** Bind: create a missing source directory at start (BindOptions.CreateMountpoint). */
  createMountpoint?: boolean;
}

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
