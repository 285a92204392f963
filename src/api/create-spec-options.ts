// The HostConfig fields of a create body that shape the container's OCI spec beyond the basics:
// privileges, devices, limits, namespaces, sysctls, cgroup tuning. Read and type-checked here;
// their values are validated (dockerd's messages) by the spec options in daemon/oci at create.
import type { DeviceMapping, HostConfigInit, Resources, Ulimit } from "../container/index.js";
import { type Problems, isZeroValue, readBool, readInt, readString, readStringList, readStringMap } from "./body-readers.js";
import { isPlainObject } from "./http-io.js";
import { versionBelow } from "./versions.js";

type Json = Record<string, unknown>;

/** A list of objects, each read by `one`; undefined for null/absent. */
function readObjects<T>(p: Problems, path: string, v: unknown, one: (o: Json, at: string) => T): T[] | undefined {
  if (v === null || v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every(isPlainObject)) {
    p.invalid.push(`invalid ${path}: expected a list of objects`);
    return undefined;
  }
  return v.map((o, i) => one(o as Json, `${path}[${i}]`));
}

/** Reads the spec-shaping HostConfig fields of `hc` into `out`. */
export function readSpecOptions(p: Problems, hp: string, hc: Json, out: HostConfigInit, version: string): void {
  const put = <K extends keyof HostConfigInit>(key: K, v: HostConfigInit[K] | undefined) => {
    if (v !== undefined && !isZeroValue(v)) out[key] = v;
  };
  const int = (k: string) => readInt(p, hp + k, hc[k]);
  const str = (k: string) => readString(p, hp + k, hc[k]);

  put("privileged", readBool(p, hp + "Privileged", hc.Privileged));
  put(
    "devices",
    readObjects<DeviceMapping>(p, hp + "Devices", hc.Devices, (o, at) => ({
      pathOnHost: readString(p, `${at}.PathOnHost`, o.PathOnHost) ?? "",
      pathInContainer: readString(p, `${at}.PathInContainer`, o.PathInContainer) ?? "",
      // The CLI always sends one; dockerd's default is "rwm".
      cgroupPermissions: readString(p, `${at}.CgroupPermissions`, o.CgroupPermissions) || "rwm",
    })),
  );
  put("deviceCgroupRules", readStringList(p, hp + "DeviceCgroupRules", hc.DeviceCgroupRules));
  put(
    "ulimits",
    readObjects<Ulimit>(p, hp + "Ulimits", hc.Ulimits, (o, at) => ({
      name: readString(p, `${at}.Name`, o.Name) ?? "",
      soft: readInt(p, `${at}.Soft`, o.Soft) ?? 0,
      hard: readInt(p, `${at}.Hard`, o.Hard) ?? 0,
    })),
  );
  put("shmSize", int("ShmSize"));
  put("sysctls", readStringMap(p, hp + "Sysctls", hc.Sysctls));

  const pidMode = str("PidMode");
  const utsMode = str("UTSMode");
  let ipcMode = str("IpcMode") ?? "";
  // dockerd's default IPC mode is "private" (what "" means here and is echoed as), "shareable"
  // for clients older than API 1.40.
  if (ipcMode === "" && versionBelow(version, "1.40")) ipcMode = "shareable";
  // "container:<id>" modes pass through: the spec option refuses them until the engine gives it
  // that container's namespace path (daemon/oci/namespaces.ts).
  put("pidMode", pidMode);
  put("ipcMode", ipcMode);
  put("utsMode", utsMode);
  // dockerd: "" or "host" ("host" opts a container out of the daemon's --userns-remap).
  const usernsMode = str("UsernsMode");
  if (usernsMode !== undefined && usernsMode !== "" && usernsMode !== "host") p.invalid.push(`invalid USER mode: ${usernsMode}`);
  else put("usernsMode", usernsMode);

  put("groupAdd", readStringList(p, hp + "GroupAdd", hc.GroupAdd));
  put("oomScoreAdj", int("OomScoreAdj"));
  put("cgroupParent", str("CgroupParent"));
  // "" is the daemon's default (private on cgroup v2, host on v1), resolved by the engine.
  const cgroupns = str("CgroupnsMode") ?? "";
  if (cgroupns !== "" && cgroupns !== "host" && cgroupns !== "private") p.invalid.push(`invalid cgroup namespace mode: ${cgroupns}`);
  else if (cgroupns !== "") put("cgroupnsMode", cgroupns);
  // [] is not "unset" here: it masks nothing (the CLI's --security-opt systempaths=unconfined).
  const masked = readStringList(p, hp + "MaskedPaths", hc.MaskedPaths);
  if (masked) out.maskedPaths = masked;
  const readonly = readStringList(p, hp + "ReadonlyPaths", hc.ReadonlyPaths);
  if (readonly) out.readonlyPaths = readonly;

  const isolation = str("Isolation") ?? "";
  if (isolation !== "" && isolation !== "default") {
    p.invalid.push(`Invalid isolation: ${JSON.stringify(isolation)} - linux only supports 'default'`);
  } else put("isolation", isolation);

  const resources: Partial<Resources> = {};
  const rput = <K extends keyof Resources>(key: K, v: Resources[K] | undefined) => {
    if (v !== undefined && !isZeroValue(v)) resources[key] = v;
  };
  rput("memoryReservation", int("MemoryReservation"));
  // -1 (what the CLI sends) and null mean "unset"; 0 is a value.
  const swappiness = int("MemorySwappiness");
  if (swappiness !== undefined && swappiness !== -1) resources.memorySwappiness = swappiness;
  rput("oomKillDisable", readBool(p, hp + "OomKillDisable", hc.OomKillDisable));
  rput("blkioWeight", int("BlkioWeight"));
  rput(
    "blkioWeightDevice",
    readObjects(p, hp + "BlkioWeightDevice", hc.BlkioWeightDevice, (o, at) => ({
      path: readString(p, `${at}.Path`, o.Path) ?? "",
      weight: readInt(p, `${at}.Weight`, o.Weight) ?? 0,
    })),
  );
  rput("cpuRealtimePeriod", int("CpuRealtimePeriod"));
  rput("cpuRealtimeRuntime", int("CpuRealtimeRuntime"));
  if (Object.keys(resources).length > 0) out.resources = { ...out.resources, ...resources };
}
