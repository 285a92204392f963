// The mounts a container record keeps: volumes, binds and tmpfs as the volumes layer resolved
// them at create (fixed for the container's life), and the decoder of their persisted form.
// The shape lives here, with the record, so that the record is typed; the volumes layer makes
// and uses them.

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
