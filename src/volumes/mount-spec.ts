/**
 * A container's mount requests, parsed and validated as dockerd's Linux mount parser does
 * (moby `volume/mounts/linux_parser.go`, `validate.go`), with its messages, so the docker CLI
 * shows the same errors:
 *
 *  - `-v` / HostConfig.Binds: `NAME:/path[:mode]` (a named volume), `/host:/path[:mode]` (a bind),
 *    `/path` (an anonymous volume); mode is rw|ro, z|Z, a propagation, nocopy, a consistency.
 *  - `--mount` / HostConfig.Mounts objects (`MountSpec`), types volume, bind and tmpfs.
 *  - `parseMountFlag`: the docker CLI's `--mount` flag syntax (opts/mount.go), for berth's CLI.
 *
 * Pure: the one host question, whether a bind source exists, is a parameter.
 */
import { posix } from "node:path";

import { errInvalidArgument } from "../base/errors.js";
import { cleanPath } from "../base/go-parse.js";
import { ramInBytes } from "./driver-options.js";

/** HostConfig.Mounts, engine vocabulary (the API's Mount object, camelCased). */
export interface MountSpec {
  /** "volume", "bind" or "tmpfs" (image, npipe and cluster are not supported). */
  type: string;
  source?: string;
  target?: string;
  readOnly?: boolean;
  consistency?: string;
  bindOptions?: {
    propagation?: string;
    nonRecursive?: boolean;
    createMountpoint?: boolean;
  };
  volumeOptions?: {
    noCopy?: boolean;
    labels?: Record<string, string>;
    driverConfig?: { name?: string; options?: Record<string, string> };
    subpath?: string;
  };
  tmpfsOptions?: {
    /** Bytes; 0 for the kernel's default. */
    sizeBytes?: number;
    /** Permission bits, e.g. 0o1777. */
    mode?: number;
    /** [["exec"]] / [["noexec"]]: the only options dockerd accepts (API 1.46+). */
    options?: string[][];
  };
}

/** One requested mount point, validated, before volumes exist. */
export type ParsedMount =
  | {
      type: "bind";
      source: string;
      destination: string;
      readonly: boolean;
      propagation: string;
      mode: string;
      nonRecursive: boolean;
      createMountpoint: boolean;
    }
  | {
      type: "volume";
      /** undefined: anonymous. */
      name: string | undefined;
      destination: string;
      readonly: boolean;
      mode: string;
      copyUp: boolean;
      driver: string;
      driverOptions?: Record<string, string>;
      labels?: Record<string, string>;
    }
  | { type: "tmpfs"; destination: string; readonly: boolean; tmpfsOptions: string };

const PROPAGATIONS = new Set(["private", "rprivate", "shared", "rshared", "slave", "rslave"]);
const CONSISTENCIES = new Set(["consistent", "cached", "delegated"]);
export const DEFAULT_PROPAGATION = "rprivate";

export { cleanPath };

/** docker's mode grammar: at most one each of rw/ro, z/Z, propagation, nocopy, consistency. */
export function isValidMountMode(mode: string): boolean {
  if (mode === "") return true;
  const counts = { rw: 0, label: 0, propagation: 0, copy: 0, consistency: 0 };
  for (const o of mode.split(",")) {
    if (o === "rw" || o === "ro") counts.rw++;
    else if (o === "z" || o === "Z") counts.label++;
    else if (PROPAGATIONS.has(o)) counts.propagation++;
    else if (o === "nocopy") counts.copy++;
    else if (CONSISTENCIES.has(o)) counts.consistency++;
    else return false;
  }
  return Object.values(counts).every((n) => n <= 1);
}

const invalidSpec = (raw: string) => `invalid volume specification: '${raw}'`;
const mountConfig = (type: string, why: string) => `invalid mount config for type ${JSON.stringify(type)}: ${why}`;
const extraField = (name: string) => `field ${name} must not be specified`;
const missingField = (name: string) => `field ${name} must not be empty`;

function destinationProblem(target: string): string | undefined {
  if (cleanPath(target) === "/") return "invalid specification: destination can't be '/'";
  if (!posix.isAbsolute(target)) return `invalid mount path: '${target}' mount path must be absolute`;
  return undefined;
}

export interface BindSourceHost {
  /** Whether a host path exists; checked for --mount binds and, unlike dockerd, -v binds. */
  exists: (path: string) => boolean;
}

/**
 * dockerd's validateMountConfig: the problem with a Mounts entry, as "invalid mount config for
 * type ...: ...", or undefined. `host` undefined skips the bind-source existence check.
 */
function mountSpecProblem(m: MountSpec, host: BindSourceHost | undefined): string | undefined {
  const cfg = (why: string) => mountConfig(m.type, why);
  if (!m.target) return cfg(missingField("Target"));
  const badTarget = destinationProblem(m.target);
  if (badTarget !== undefined) return cfg(badTarget);
  switch (m.type) {
    case "bind": {
      if (!m.source) return cfg(missingField("Source"));
      const propagation = m.bindOptions?.propagation ?? "";
      if (propagation !== "" && !PROPAGATIONS.has(propagation)) return cfg(`invalid propagation mode: ${propagation}`);
      if (m.volumeOptions !== undefined) return cfg(extraField("VolumeOptions"));
      if (!posix.isAbsolute(m.source)) return cfg(`invalid mount path: '${m.source}' mount path must be absolute`);
      if (host !== undefined && !m.bindOptions?.createMountpoint && !host.exists(cleanPath(m.source))) {
        return cfg(`bind source path does not exist: ${m.source}`);
      }
      return undefined;
    }
    case "volume": {
      if (m.bindOptions !== undefined) return cfg(extraField("BindOptions"));
      const anonymous = !m.source;
      if (m.volumeOptions?.subpath) {
        if (anonymous) return cfg("must not set Subpath when using anonymous volumes");
        // Accepted by dockerd 26+; not implemented by berth.
        return cfg("VolumeOptions.Subpath is not supported");
      }
      if (m.readOnly && anonymous) return cfg("must not set ReadOnly mode when using anonymous volumes");
      return undefined;
    }
    case "tmpfs": {
      if (m.bindOptions !== undefined) return cfg(extraField("BindOptions"));
      if (m.source) return cfg(extraField("Source"));
      try {
        convertTmpfsOptions(m.tmpfsOptions, m.readOnly ?? false);
      } catch (e) {
        return cfg((e as Error).message);
      }
      return undefined;
    }
    default:
      return cfg("mount type unknown");
  }
}

/**
 * dockerd's ConvertTmpfsOptions: the tmpfs data string for a Mounts entry: "ro", "mode=<octal>",
 * "size=<n>[kmg]" (the largest unit that divides evenly), then exec/noexec.
 */
export function convertTmpfsOptions(o: MountSpec["tmpfsOptions"], readOnly: boolean): string {
  const raw: string[] = [];
  if (readOnly) raw.push("ro");
  if (o?.mode) raw.push(`mode=${o.mode.toString(8)}`);
  if (o?.sizeBytes) {
    let size = o.sizeBytes;
    let suffix = "";
    for (const [s, d] of [["g", 2 ** 30], ["m", 2 ** 20], ["k", 2 ** 10]] as const) {
      if (size % d === 0) {
        size /= d;
        suffix = s;
        break;
      }
    }
    raw.push(`size=${size}${suffix}`);
  }
  for (const opt of o?.options ?? []) {
    if (opt.length < 1 || opt.length > 2) throw new Error("invalid option array length");
    if (opt[0] !== "exec" && opt[0] !== "noexec") throw new Error(`invalid option: ${opt[0]}`);
    raw.push(opt.length === 1 ? opt[0] : `${opt[0]}=${opt[1]}`);
  }
  return raw.join(",");
}

/**
 * One HostConfig.Mounts entry (dockerd ParseMountSpec; its messages, invalid-argument). A bind
 * source must exist unless `bindOptions.createMountpoint`.
 */
export function parseMountSpec(m: MountSpec, host: BindSourceHost): ParsedMount {
  const problem = mountSpecProblem(m, host);
  if (problem !== undefined) throw errInvalidArgument(problem);
  return toParsed(m, "");
}

function toParsed(m: MountSpec, mode: string): ParsedMount {
  const destination = cleanPath(m.target as string);
  const readonly = m.readOnly ?? false;
  switch (m.type) {
    case "bind":
      return {
        type: "bind",
        source: cleanPath(m.source as string),
        destination,
        readonly,
        propagation: m.bindOptions?.propagation || DEFAULT_PROPAGATION,
        mode,
        nonRecursive: m.bindOptions?.nonRecursive ?? false,
        createMountpoint: m.bindOptions?.createMountpoint ?? false,
      };
    case "volume": {
      const vo = m.volumeOptions;
      const labels = vo?.labels && Object.keys(vo.labels).length > 0 ? { ...vo.labels } : undefined;
      const driverOptions = vo?.driverConfig?.options && Object.keys(vo.driverConfig.options).length > 0 ? { ...vo.driverConfig.options } : undefined;
      return {
        type: "volume",
        name: m.source ? m.source : undefined,
        destination,
        readonly,
        mode,
        copyUp: !(vo?.noCopy ?? false),
        driver: vo?.driverConfig?.name ?? "",
        ...(driverOptions ? { driverOptions } : {}),
        ...(labels ? { labels } : {}),
      };
    }
    default:
      return { type: "tmpfs", destination, readonly, tmpfsOptions: convertTmpfsOptions(m.tmpfsOptions, readonly) };
  }
}

/**
 * One `-v` / HostConfig.Binds entry (dockerd ParseMountRaw). A source that is an absolute path
 * is a bind; anything else names a volume; a lone path is an anonymous volume. `volumeDriver`
 * is HostConfig.VolumeDriver. With `host`, a bind source must exist (berth refuses a missing one
 * where dockerd would create it; the message is --mount's).
 */
export function parseVolumeSpec(raw: string, o: { volumeDriver?: string; host?: BindSourceHost } = {}): ParsedMount {
  const arr = raw.split(":");
  if (arr[0] === "" || arr.length > 3) throw errInvalidArgument(invalidSpec(raw));
  const spec: MountSpec = { type: "volume" };
  let mode = "";
  if (arr.length === 1) {
    spec.target = arr[0];
  } else if (arr.length === 2) {
    // "/foo:rw" is a destination and a mode without a source.
    if (isValidMountMode(arr[1] as string)) throw errInvalidArgument(invalidSpec(raw));
    [spec.source, spec.target] = arr;
  } else {
    [spec.source, spec.target, mode] = arr as [string, string, string];
  }
  if (!isValidMountMode(mode)) throw errInvalidArgument(`invalid mode: ${mode}`);
  const modes = mode === "" ? [] : mode.split(",");

  spec.type = spec.source !== undefined && posix.isAbsolute(spec.source) ? "bind" : "volume";
  spec.readOnly = modes.includes("ro");
  if (o.volumeDriver && spec.type === "volume") spec.volumeOptions = { driverConfig: { name: o.volumeDriver } };
  if (modes.includes("nocopy")) spec.volumeOptions = { ...(spec.volumeOptions ?? {}), noCopy: true };
  const propagation = modes.find((m) => PROPAGATIONS.has(m));
  if (propagation !== undefined) spec.bindOptions = { propagation };

  // dockerd validates -v binds without checking the source; berth checks it after the rest.
  const problem = mountSpecProblem(spec, undefined);
  if (problem !== undefined) throw errInvalidArgument(`${invalidSpec(raw)}: ${problem}`);
  if (spec.type === "bind" && o.host !== undefined && !o.host.exists(cleanPath(spec.source as string))) {
    throw errInvalidArgument(`${invalidSpec(raw)}: ${mountConfig("bind", `bind source path does not exist: ${cleanPath(spec.source as string)}`)}`);
  }
  return toParsed(spec, mode);
}

/** Go's encoding/csv for one record: comma-separated, fields may be "quoted" with "" escapes. */
function csvFields(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= value.length) throw errInvalidArgument(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += value[i++];
      }
      if (i < value.length && value[i] !== ",") {
        throw errInvalidArgument(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
      }
    } else {
      const comma = value.indexOf(",", i);
      field = value.slice(i, comma < 0 ? value.length : comma);
      if (field.includes('"')) throw errInvalidArgument(`parse error on line 1, column ${i + field.indexOf('"') + 1}: bare " in non-quoted-field`);
      i = comma < 0 ? value.length : comma;
    }
    out.push(field);
    if (i >= value.length) return out;
    i++; // the comma
  }
}

function parseFlagBool(key: string, val: string, message = `invalid value for ${key}: ${val}`): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(val)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(val)) return false;
  throw errInvalidArgument(message);
}

/**
 * The docker CLI's `--mount` flag (cli opts/mount.go), with its messages: comma-separated
 * key=value fields (CSV quoting), type defaulting to volume. Relative "./" sources are the
 * caller's to make absolute.
 */
export function parseMountFlag(value: string): MountSpec {
  const m: MountSpec = { type: "volume" };
  const volumeOptions = () => {
    m.volumeOptions ??= { labels: {} };
    m.volumeOptions.driverConfig ??= {};
    return m.volumeOptions;
  };
  const bindOptions = () => (m.bindOptions ??= {});
  const tmpfsOptions = () => (m.tmpfsOptions ??= {});
  const setOnMap = (target: Record<string, string>, v: string) => {
    const eq = v.indexOf("=");
    const k = eq < 0 ? v : v.slice(0, eq);
    if (k !== "") target[k] = eq < 0 ? "" : v.slice(eq + 1);
  };
  for (const field of csvFields(value)) {
    const eq = field.indexOf("=");
    if (eq < 0) {
      if (field === "readonly" || field === "ro") m.readOnly = true;
      else if (field === "volume-nocopy") volumeOptions().noCopy = true;
      else if (field === "bind-nonrecursive") bindOptions().nonRecursive = true;
      else throw errInvalidArgument(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const key = field.slice(0, eq);
    const val = field.slice(eq + 1);
    switch (key) {
      case "type":
        m.type = val.toLowerCase();
        break;
      case "source":
      case "src":
        m.source = val;
        break;
      case "target":
      case "dst":
      case "destination":
        m.target = val;
        break;
      case "readonly":
      case "ro":
        m.readOnly = parseFlagBool(key, val);
        break;
      case "consistency":
        m.consistency = val.toLowerCase();
        break;
      case "bind-propagation":
        bindOptions().propagation = val.toLowerCase();
        break;
      case "bind-nonrecursive":
        bindOptions().nonRecursive = parseFlagBool(key, val);
        break;
      case "volume-nocopy":
        volumeOptions().noCopy = parseFlagBool(key, val, `invalid value for volume-nocopy: ${val}`);
        break;
      case "volume-label":
        setOnMap((volumeOptions().labels ??= {}), val);
        break;
      case "volume-driver":
        volumeOptions().driverConfig!.name = val;
        break;
      case "volume-opt":
        setOnMap((volumeOptions().driverConfig!.options ??= {}), val);
        break;
      case "tmpfs-size":
        try {
          tmpfsOptions().sizeBytes = ramInBytes(val);
        } catch {
          throw errInvalidArgument(`invalid value for ${key}: ${val}`);
        }
        break;
      case "tmpfs-mode": {
        if (!/^[0-7]+$/.test(val) || parseInt(val, 8) > 0xffffffff) throw errInvalidArgument(`invalid value for ${key}: ${val}`);
        tmpfsOptions().mode = parseInt(val, 8);
        break;
      }
      default:
        throw errInvalidArgument(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (m.type === "") throw errInvalidArgument("type is required");
  if (!m.target) throw errInvalidArgument("target is required");
  if (m.volumeOptions !== undefined && m.type !== "volume") throw errInvalidArgument(`cannot mix 'volume-*' options with mount type '${m.type}'`);
  if (m.bindOptions !== undefined && m.type !== "bind") throw errInvalidArgument(`cannot mix 'bind-*' options with mount type '${m.type}'`);
  if (m.tmpfsOptions !== undefined && m.type !== "tmpfs") throw errInvalidArgument(`cannot mix 'tmpfs-*' options with mount type '${m.type}'`);
  return m;
}
