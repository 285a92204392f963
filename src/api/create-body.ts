// POST /containers/create and /containers/{id}/update bodies → engine options. Every field berth
// implements is read and type-checked; every other field of Docker's API must be absent or at its
// zero/default value, otherwise the request is refused with 400 naming the fields — never
// silently ignored. Keys that are not part of Docker's API (dockerode's top-level `name`, whatever
// a client adds) are ignored, as dockerd's JSON decoding ignores them.
// (The docker CLI always sends the full struct, mostly zeros; dockerode and testcontainers send
// sparse bodies. Both pass as long as what they ask for is something berth does.)
import { errInvalidArgument } from "../base/errors.js";
import { RESTART_POLICY_NAMES, type HealthcheckConfig, type RestartPolicyName } from "../container/index.js";
import type { CreateOptions, UpdateOptions } from "../daemon/types.js";
import type { EndpointConfigRecord, HostConfigInit, Resources } from "../container/index.js";
import { portBindingsFromApi } from "../network/index.js";
import { readSpecOptions } from "./create-spec-options.js";

// The readers moved to body-readers.ts; network-json, volumes-router and exec-router import them from here.
export { Problems, isZeroValue, readBool, readInt, readString, readStringList, readStringMap };
import { isPlainObject } from "./http-io.js";
import { Problems, isZeroValue, readBool, readInt, readMacAddress, readString, readStringList, readStringMap } from "./body-readers.js";
import { versionBelow } from "./versions.js";

type Json = Record<string, unknown>;

/** Config fields read (the other fields of Docker's API must be zero). */
export const SUPPORTED_CONFIG_FIELDS = [
  "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "ExposedPorts", "Tty",
  "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck", "Image", "Volumes", "WorkingDir", "Entrypoint",
  "Labels", "StopSignal", "StopTimeout", "MacAddress",
] as const;

/** HostConfig fields read (the other fields of Docker's API must be zero). */
export const SUPPORTED_HOST_CONFIG_FIELDS = [
  "Binds", "RestartPolicy", "AutoRemove", "Memory", "MemorySwap", "NanoCpus", "CpuShares", "CpuQuota",
  "CpuPeriod", "CpusetCpus", "PidsLimit", "ReadonlyRootfs", "Tmpfs", "CapAdd", "CapDrop", "SecurityOpt",
  "Init", "NetworkMode", "LogConfig", "ConsoleSize", "Mounts", "VolumeDriver", "PortBindings", "PublishAllPorts",
  "ExtraHosts", "Dns", "DnsSearch", "DnsOptions",
  "Privileged", "Devices", "DeviceCgroupRules", "Ulimits", "ShmSize", "Sysctls", "PidMode", "IpcMode", "UTSMode",
  "UsernsMode", "GroupAdd", "OomScoreAdj", "OomKillDisable", "MemoryReservation", "MemorySwappiness", "BlkioWeight",
  "BlkioWeightDevice", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CgroupParent", "MaskedPaths", "ReadonlyPaths",
  "Isolation", "VolumesFrom", "Links", "CgroupnsMode",
] as const;

/**
 * The container Config fields of Docker's API (moby api/types/container Config, 20.10 through
 * API 1.43): a key outside this list is not Docker's and is ignored, as dockerd ignores it.
 */
export const DOCKER_CONFIG_FIELDS: ReadonlySet<string> = new Set([
  "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "ExposedPorts", "Tty",
  "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck", "ArgsEscaped", "Image", "Volumes", "WorkingDir",
  "Entrypoint", "NetworkDisabled", "MacAddress", "OnBuild", "Labels", "StopSignal", "StopTimeout", "Shell",
]);

/** HostConfig's Resources fields (also the body of /update, with RestartPolicy). */
export const DOCKER_RESOURCES_FIELDS: ReadonlySet<string> = new Set([
  "CpuShares", "Memory", "NanoCpus", "CgroupParent", "BlkioWeight", "BlkioWeightDevice", "BlkioDeviceReadBps",
  "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "CpuPeriod", "CpuQuota",
  "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "Devices", "DeviceCgroupRules",
  "DeviceRequests", "KernelMemory", "KernelMemoryTCP", "MemoryReservation", "MemorySwap", "MemorySwappiness",
  "OomKillDisable", "PidsLimit", "Ulimits", "CpuCount", "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth",
]);

/** The HostConfig fields of Docker's API (moby api/types/container HostConfig, Resources inlined). */
export const DOCKER_HOST_CONFIG_FIELDS: ReadonlySet<string> = new Set([
  ...DOCKER_RESOURCES_FIELDS,
  "Binds", "ContainerIDFile", "LogConfig", "NetworkMode", "PortBindings", "RestartPolicy", "AutoRemove",
  "VolumeDriver", "VolumesFrom", "ConsoleSize", "Annotations", "CapAdd", "CapDrop", "CgroupnsMode", "Dns",
  "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "IpcMode", "Cgroup", "Links", "OomScoreAdj", "PidMode",
  "Privileged", "PublishAllPorts", "ReadonlyRootfs", "SecurityOpt", "StorageOpt", "Tmpfs", "UTSMode", "UsernsMode",
  "ShmSize", "Sysctls", "Runtime", "Isolation", "Mounts", "MaskedPaths", "ReadonlyPaths", "Init",
]);

/** Resource fields /update applies (a zero leaves the current value). */
export const SUPPORTED_UPDATE_FIELDS = [
  "Memory", "MemorySwap", "NanoCpus", "CpuShares", "CpuQuota", "CpuPeriod", "CpusetCpus", "PidsLimit", "RestartPolicy",
] as const;

/** Values that mean "the default" although they are not zero: Runtime "runc" is what berth runs. */
// A Map: the keys looked up are the client's, and "constructor" must not find Object's.
const DEFAULT_VALUES: ReadonlyMap<string, readonly unknown[]> = new Map<string, readonly unknown[]>([
  ["Runtime", ["runc"]],
]);

/** Linux's PID_MAX_LIMIT on 64-bit: the largest value pids.max takes. */
const PID_MAX_LIMIT = 4 * 1024 * 1024;

/** strslice.StrSlice: a list of strings, or one string. */
function readStrSlice(p: Problems, path: string, v: unknown): string[] | undefined {
  if (typeof v === "string") return [v];
  return readStringList(p, path, v);
}

/** {"80/tcp": {}} → ["80/tcp"] */
function readKeySet(p: Problems, path: string, v: unknown): string[] | undefined {
  if (v === null || v === undefined) return undefined;
  if (isPlainObject(v)) return Object.keys(v);
  p.invalid.push(`invalid ${path}: expected an object`);
  return undefined;
}

function readDurationMs(p: Problems, path: string, v: unknown): number {
  const ns = readInt(p, path, v) ?? 0;
  if (ns < 0) p.invalid.push(`${path} in Healthcheck cannot be negative`);
  else if (ns > 0 && ns < 1_000_000) p.invalid.push(`${path} in Healthcheck cannot be less than 1ms`);
  return Math.floor(Math.max(ns, 0) / 1_000_000);
}

function readHealthcheck(p: Problems, v: unknown): HealthcheckConfig | undefined {
  if (v === null || v === undefined) return undefined;
  if (!isPlainObject(v)) {
    p.invalid.push("invalid Healthcheck: expected an object");
    return undefined;
  }
  // StartInterval arrived in API 1.44; older APIs ignore it (dockerd resets it), as berth does.
  const known = new Set(["Test", "Interval", "Timeout", "StartPeriod", "Retries", "StartInterval"]);
  for (const [k, x] of Object.entries(v)) if (!known.has(k) && !isZeroValue(x)) p.unsupportedField(`Healthcheck.${k}`, x);
  const retries = readInt(p, "Healthcheck.Retries", v.Retries) ?? 0;
  if (retries < 0) p.invalid.push("Retries in Healthcheck cannot be negative");
  return {
    test: readStrSlice(p, "Healthcheck.Test", v.Test) ?? [],
    interval: readDurationMs(p, "Interval", v.Interval),
    timeout: readDurationMs(p, "Timeout", v.Timeout),
    startPeriod: readDurationMs(p, "StartPeriod", v.StartPeriod),
    retries,
  };
}

function readRestartPolicy(p: Problems, path: string, v: unknown): { name: RestartPolicyName; maximumRetryCount: number } | undefined {
  if (v === null || v === undefined) return undefined;
  if (!isPlainObject(v)) {
    p.invalid.push(`invalid ${path}: expected an object`);
    return undefined;
  }
  const name = readString(p, `${path}.Name`, v.Name) ?? "";
  const max = readInt(p, `${path}.MaximumRetryCount`, v.MaximumRetryCount) ?? 0;
  if (name === "") {
    if (max !== 0) p.invalid.push(`maximum retry count cannot be used with restart policy ''`);
    return undefined;
  }
  if (!(RESTART_POLICY_NAMES as readonly string[]).includes(name)) {
    p.invalid.push(`invalid restart policy '${name}'`);
    return undefined;
  }
  return { name: name as RestartPolicyName, maximumRetryCount: max };
}

/**
 * The fields of Docker's API (`api`) that berth did not read (`handled`) must be zero; keys that
 * are not Docker's are ignored.
 */
function checkRest(p: Problems, prefix: string, o: Json, handled: ReadonlySet<string>, api: ReadonlySet<string>, version: string): void {
  for (const [k, v] of Object.entries(o)) {
    if (handled.has(k) || !api.has(k)) continue;
    if (isZeroValue(v)) continue;
    if (DEFAULT_VALUES.get(k)?.includes(v)) continue;
    // KernelMemory was removed in API 1.42; dockerd ignores it from such clients.
    if (k === "KernelMemory" && !versionBelow(version, "1.42")) continue;
    // KernelMemoryTCP arrived in API 1.40; dockerd resets it for older clients.
    if (k === "KernelMemoryTCP" && versionBelow(version, "1.40")) continue;
    p.unsupportedField(prefix + k, v);
  }
}

/** One network's endpoint settings, in engine vocabulary: what the record keeps. */
export type EndpointSettingsInit = EndpointConfigRecord;

/** Per-network endpoint settings of a create body (by network name). */
export type EndpointSettings = Record<string, EndpointSettingsInit>;

/**
 * NetworkingConfig.EndpointsConfig. With `endpointSettings` (the engine can carry them), each
 * entry's Aliases and IPAMConfig.IPv4Address are read; otherwise, and for every other field,
 * an entry must be all zeros (the CLI always sends one for the network mode).
 */
function readNetworking(p: Problems, v: unknown, endpointSettings: boolean): EndpointSettings | undefined {
  if (v === null || v === undefined) return undefined;
  if (!isPlainObject(v)) {
    p.invalid.push("invalid NetworkingConfig: expected an object");
    return undefined;
  }
  let out: EndpointSettings | undefined;
  for (const [k, x] of Object.entries(v)) {
    if (k !== "EndpointsConfig") {
      if (!isZeroValue(x)) p.unsupportedField(`NetworkingConfig.${k}`, x);
      continue;
    }
    if (x === null || x === undefined) continue;
    if (!isPlainObject(x)) {
      p.invalid.push("invalid NetworkingConfig.EndpointsConfig: expected an object");
      continue;
    }
    for (const [net, ep] of Object.entries(x)) {
      if (ep === null || ep === undefined) continue;
      const path = `NetworkingConfig.EndpointsConfig.${net}`;
      if (!isPlainObject(ep)) {
        p.invalid.push(`invalid ${path}: expected an object`);
        continue;
      }
      if (!endpointSettings) {
        for (const [f, fv] of Object.entries(ep)) if (!isZeroValue(fv)) p.unsupportedField(`${path}.${f}`, fv);
        continue;
      }
      const read = readEndpointSettings(p, path, ep);
      if (read.aliases.length > 0 || Object.keys(read).length > 1) (out ??= {})[net] = read;
    }
  }
  return out;
}

/**
 * One EndpointSettings object (create's EndpointsConfig entry, network connect's EndpointConfig):
 * Aliases, Links, DriverOpts, MacAddress, IPAMConfig.IPv4Address and IPAMConfig.LinkLocalIPs are
 * read (the network layer checks them); anything else must be zero.
 */
export function readEndpointSettings(p: Problems, path: string, ep: Json): EndpointSettingsInit {
  const aliases = readStringList(p, `${path}.Aliases`, ep.Aliases) ?? [];
  const links = readStringList(p, `${path}.Links`, ep.Links) ?? [];
  const driverOpts = readStringMap(p, `${path}.DriverOpts`, ep.DriverOpts) ?? {};
  const macAddress = readMacAddress(p, `${path}.MacAddress`, ep.MacAddress);
  let ipv4Address: string | undefined;
  let linkLocalIPs: string[] = [];
  const ipam = ep.IPAMConfig;
  if (ipam !== null && ipam !== undefined) {
    if (!isPlainObject(ipam)) p.invalid.push(`invalid ${path}.IPAMConfig: expected an object`);
    else {
      ipv4Address = readString(p, `${path}.IPAMConfig.IPv4Address`, ipam.IPv4Address) || undefined;
      linkLocalIPs = readStringList(p, `${path}.IPAMConfig.LinkLocalIPs`, ipam.LinkLocalIPs) ?? [];
      for (const [f, fv] of Object.entries(ipam)) {
        if (f !== "IPv4Address" && f !== "LinkLocalIPs" && !isZeroValue(fv)) p.unsupportedField(`${path}.IPAMConfig.${f}`, fv);
      }
    }
  }
  for (const [f, fv] of Object.entries(ep)) {
    if (!["Aliases", "Links", "DriverOpts", "IPAMConfig", "MacAddress"].includes(f) && !isZeroValue(fv)) p.unsupportedField(`${path}.${f}`, fv);
  }
  return {
    aliases,
    ...(ipv4Address ? { ipv4Address } : {}),
    ...(macAddress ? { macAddress } : {}),
    ...(links.length > 0 ? { links } : {}),
    ...(Object.keys(driverOpts).length > 0 ? { driverOpts } : {}),
    ...(linkLocalIPs.length > 0 ? { linkLocalIPs } : {}),
  };
}

function readResources(p: Problems, prefix: string, o: Json): Partial<Resources> {
  const r: Partial<Resources> = {};
  const int = (k: string) => readInt(p, prefix + k, o[k]);
  const set = <K extends keyof Resources>(key: K, v: Resources[K] | undefined) => {
    if (v !== undefined) r[key] = v;
  };
  set("memory", int("Memory"));
  set("memorySwap", int("MemorySwap"));
  set("nanoCpus", int("NanoCpus"));
  set("cpuShares", int("CpuShares"));
  set("cpuQuota", int("CpuQuota"));
  set("cpuPeriod", int("CpuPeriod"));
  set("cpusetCpus", readString(p, prefix + "CpusetCpus", o.CpusetCpus));
  const pids = int("PidsLimit");
  // dockerd: 0 and any negative value mean "no limit" at create.
  if (pids !== undefined && pids > 0) r.pidsLimit = pids;
  // The kernel refuses a larger pids.max (EINVAL), which runc would report only at start/update.
  if (pids !== undefined && pids > PID_MAX_LIMIT) p.invalid.push(`invalid ${prefix}PidsLimit: ${pids} is above the kernel's maximum of ${PID_MAX_LIMIT}`);
  for (const k of ["memory", "nanoCpus", "cpuShares", "cpuQuota", "cpuPeriod"] as const) {
    if ((r[k] ?? 0) < 0) p.invalid.push(`invalid ${prefix}${k[0]!.toUpperCase()}${k.slice(1)}: cannot be negative`);
  }
  return r;
}

/** Docker's Mount object (PascalCase) → the engine's MountSpec (camelCase); the volumes layer validates. */
export function mountSpecFromApi(v: unknown): Record<string, unknown> {
  if (Array.isArray(v)) return v.map(mountSpecFromApi) as unknown as Record<string, unknown>;
  if (!isPlainObject(v)) return v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    // Labels, DriverConfig.Options and similar maps keep their keys; only struct fields are renamed.
    const camel = k.charAt(0).toLowerCase() + k.slice(1);
    // Defined, not assigned: a "__proto__" key stays a key (and an unknown field) instead of
    // becoming the object's prototype.
    Object.defineProperty(out, camel, { value: k === "Labels" || k === "Options" ? x : mountSpecFromApi(x), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function readMounts(p: Problems, v: unknown): Record<string, unknown>[] | undefined {
  if (v === null || v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every(isPlainObject)) {
    p.invalid.push("invalid HostConfig.Mounts: expected a list of objects");
    return undefined;
  }
  return v.map((m) => mountSpecFromApi(m));
}

export interface ParsedCreateBody {
  config: CreateOptions["config"];
  hostConfig: HostConfigInit;
  /** NetworkingConfig.EndpointsConfig entries with settings (only with `endpointSettings`). */
  networks?: EndpointSettings;
}

export interface ParseCreateOptions {
  /**
   * Read NetworkingConfig.EndpointsConfig's Aliases and IPAMConfig.IPv4Address (`--network-alias`,
   * `--ip`). Off while the engine's CreateOptions cannot carry them: they are refused then.
   */
  endpointSettings?: boolean;
}

/** Translates a create body at API `version`; throws invalid-argument (400) naming what is wrong. */
export function parseCreateBody(body: unknown, version: string, o: ParseCreateOptions = {}): ParsedCreateBody {
  if (body === undefined) throw errInvalidArgument("invalid JSON: got EOF while reading request body");
  if (!isPlainObject(body)) throw errInvalidArgument("invalid JSON: expected an object");
  const p = new Problems();
  const str = (k: string) => readString(p, k, body[k]);
  const bool = (k: string) => readBool(p, k, body[k]);

  const config: ParsedCreateBody["config"] = { image: str("Image") ?? "" };
  const put = <K extends keyof ParsedCreateBody["config"]>(key: K, v: ParsedCreateBody["config"][K] | undefined) => {
    if (v !== undefined) config[key] = v;
  };
  put("hostname", str("Hostname"));
  put("domainname", str("Domainname"));
  put("user", str("User"));
  put("attachStdin", bool("AttachStdin"));
  put("attachStdout", bool("AttachStdout"));
  put("attachStderr", bool("AttachStderr"));
  put("tty", bool("Tty"));
  put("openStdin", bool("OpenStdin"));
  put("stdinOnce", bool("StdinOnce"));
  put("env", readStringList(p, "Env", body.Env));
  const cmd = readStrSlice(p, "Cmd", body.Cmd);
  if (cmd && cmd.length > 0) config.cmd = cmd;
  const entrypoint = readStrSlice(p, "Entrypoint", body.Entrypoint);
  // [""] (docker run --entrypoint "") clears the image's entrypoint; null inherits it.
  if (entrypoint) config.entrypoint = entrypoint.length === 1 && entrypoint[0] === "" ? [] : entrypoint;
  put("volumes", readKeySet(p, "Volumes", body.Volumes));
  put("workingDir", str("WorkingDir"));
  put("labels", readStringMap(p, "Labels", body.Labels));
  const stopSignal = str("StopSignal");
  if (stopSignal) config.stopSignal = stopSignal;
  put("stopTimeout", readInt(p, "StopTimeout", body.StopTimeout));
  put("exposedPorts", readKeySet(p, "ExposedPorts", body.ExposedPorts));
  put("healthcheck", readHealthcheck(p, body.Healthcheck));
  put("macAddress", readMacAddress(p, "MacAddress", body.MacAddress));
  checkRest(p, "", body, new Set<string>(SUPPORTED_CONFIG_FIELDS), DOCKER_CONFIG_FIELDS, version);
  const networks = readNetworking(p, body.NetworkingConfig, o.endpointSettings ?? false);

  const hostConfig: HostConfigInit = {};
  const hc = body.HostConfig;
  if (hc !== null && hc !== undefined && !isPlainObject(hc)) p.invalid.push("invalid HostConfig: expected an object");
  else if (isPlainObject(hc)) {
    const hput = <K extends keyof HostConfigInit>(key: K, v: HostConfigInit[K] | undefined) => {
      if (v !== undefined) hostConfig[key] = v;
    };
    const hp = "HostConfig.";
    hput("binds", readStringList(p, hp + "Binds", hc.Binds));
    hput("restartPolicy", readRestartPolicy(p, hp + "RestartPolicy", hc.RestartPolicy));
    // API < 1.25: the client removes the container itself (dockerd resets AutoRemove).
    if (!versionBelow(version, "1.25")) hput("autoRemove", readBool(p, hp + "AutoRemove", hc.AutoRemove));
    // Zero is the engine's default for every resource (unlimited / unset): only the rest is passed.
    const resources = Object.fromEntries(Object.entries(readResources(p, hp, hc)).filter(([, v]) => !isZeroValue(v)));
    if (Object.keys(resources).length > 0) hostConfig.resources = resources;
    hput("readonlyRootfs", readBool(p, hp + "ReadonlyRootfs", hc.ReadonlyRootfs));
    hput("tmpfs", readStringMap(p, hp + "Tmpfs", hc.Tmpfs));
    hput("capAdd", readStringList(p, hp + "CapAdd", hc.CapAdd));
    hput("capDrop", readStringList(p, hp + "CapDrop", hc.CapDrop));
    hput("securityOpt", readStringList(p, hp + "SecurityOpt", hc.SecurityOpt));
    hput("init", readBool(p, hp + "Init", hc.Init));
    const volumesFrom = readStringList(p, hp + "VolumesFrom", hc.VolumesFrom);
    if (volumesFrom && volumesFrom.length > 0) hostConfig.volumesFrom = volumesFrom;
    const links = readStringList(p, hp + "Links", hc.Links);
    if (links && links.length > 0) hostConfig.links = links;
    const mode = readString(p, hp + "NetworkMode", hc.NetworkMode);
    if (mode) hostConfig.networkMode = mode;
    const lc = hc.LogConfig;
    if (lc !== null && lc !== undefined) {
      if (!isPlainObject(lc)) p.invalid.push("invalid HostConfig.LogConfig: expected an object");
      else if (!isZeroValue(lc)) {
        hostConfig.logConfig = {
          type: readString(p, hp + "LogConfig.Type", lc.Type) ?? "",
          config: readStringMap(p, hp + "LogConfig.Config", lc.Config) ?? {},
        };
      }
    }
    hput("volumeDriver", readString(p, hp + "VolumeDriver", hc.VolumeDriver) || undefined);
    const mounts = readMounts(p, hc.Mounts);
    if (mounts && mounts.length > 0) hostConfig.mounts = mounts;
    // {"80/tcp": []} publishes to any free port: an empty list here is not "zero".
    const pb = hc.PortBindings;
    if (pb !== null && pb !== undefined && !(isPlainObject(pb) && Object.keys(pb).length === 0)) {
      try {
        hostConfig.portBindings = portBindingsFromApi(pb);
      } catch (e) {
        p.invalid.push(e instanceof Error ? e.message : String(e));
      }
    }
    hput("publishAllPorts", readBool(p, hp + "PublishAllPorts", hc.PublishAllPorts) || undefined);
    for (const [field, key] of [["ExtraHosts", "extraHosts"], ["Dns", "dns"], ["DnsSearch", "dnsSearch"], ["DnsOptions", "dnsOptions"]] as const) {
      const v = readStringList(p, hp + field, hc[field]);
      if (v && v.length > 0) hostConfig[key] = v;
    }
    // ConsoleSize (API >= 1.42) is the initial size of the TTY; the docker CLI also resizes right
    // after start, which is what berth applies. It is read (type-checked) so it is not "unknown".
    if (hc.ConsoleSize !== null && hc.ConsoleSize !== undefined) {
      const cs = hc.ConsoleSize;
      if (!Array.isArray(cs) || cs.length !== 2 || !cs.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) {
        p.invalid.push("invalid HostConfig.ConsoleSize: expected [height, width]");
      }
    }
    readSpecOptions(p, hp, hc, hostConfig, version);
    checkRest(p, hp, hc, new Set<string>(SUPPORTED_HOST_CONFIG_FIELDS), DOCKER_HOST_CONFIG_FIELDS, version);
  }
  p.throwIfAny();
  return { config, hostConfig, ...(networks ? { networks } : {}) };
}

/** Translates an update body: non-zero resource fields and a named restart policy are applied. */
export function parseUpdateBody(body: unknown, version: string): UpdateOptions {
  if (body === undefined) throw errInvalidArgument("invalid JSON: got EOF while reading request body");
  if (!isPlainObject(body)) throw errInvalidArgument("invalid JSON: expected an object");
  const p = new Problems();
  const resources: Partial<Resources> = {};
  const all = readResources(p, "", body);
  for (const [k, v] of Object.entries(all) as [keyof Resources, never][]) {
    if (!isZeroValue(v)) resources[k] = v;
  }
  // PidsLimit on update: 0 and negatives mean "unlimited" (an explicit change), null means unchanged.
  const pids = body.PidsLimit;
  if (typeof pids === "number" && pids <= 0 && !versionBelow(version, "1.40")) resources.pidsLimit = 0;
  const out: UpdateOptions = {};
  if (Object.keys(resources).length > 0) out.resources = resources;
  const policy = readRestartPolicy(p, "RestartPolicy", body.RestartPolicy);
  if (policy) out.restartPolicy = policy;
  checkRest(p, "", body, new Set<string>(SUPPORTED_UPDATE_FIELDS), new Set([...DOCKER_RESOURCES_FIELDS, "RestartPolicy"]), version);
  p.throwIfAny();
  return out;
}
