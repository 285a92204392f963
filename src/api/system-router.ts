// /_ping, /version, /info, /events, /system/df.
import { readFileSync } from "node:fs";
import os from "node:os";
import { errInvalidArgument } from "../base/errors.js";
import type { EngineEvent } from "../daemon/types.js";
import type { SystemBackend } from "./backends.js";
import { containerSummaryJson } from "./container-json.js";
import type { RequestContext, RouteDef } from "./context.js";
import { Filters, parseFilters } from "./filters.js";
import { sendJson } from "./http-io.js";
import { imageSummaryJson } from "./image-json.js";
import { goArch } from "./images-router.js";
import { JsonStream } from "./json-stream.js";
import { parseUnixTimestamp, rfc3339Nano } from "./json-time.js";
import { MAX_API_VERSION, MIN_API_VERSION } from "./versions.js";
import { volumeJson } from "./volumes-router.js";

export function systemRoutes(b: SystemBackend, o: { serverVersion: string }): RouteDef[] {
  return [
    { method: ["GET", "HEAD"], path: "/_ping", handler: ping },
    { method: "GET", path: "/version", handler: async (ctx) => sendJson(ctx.res, 200, versionJson(await b.version(), o.serverVersion)) },
    { method: "GET", path: "/info", handler: async (ctx) => sendJson(ctx.res, 200, infoJson(await b.info(), o.serverVersion)) },
    { method: "GET", path: "/events", handler: (ctx) => events(b, ctx) },
    { method: "GET", path: "/system/df", handler: (ctx) => df(b, ctx) },
  ];
}

function ping(ctx: RequestContext): void {
  const res = ctx.res;
  res.setHeader("Cache-Control", "no-cache, no-store, must-revalidate");
  res.setHeader("Pragma", "no-cache");
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.statusCode = 200;
  if (ctx.req.method === "HEAD") {
    res.setHeader("Content-Length", 0);
    res.end();
    return;
  }
  res.setHeader("Content-Length", 2);
  res.end("OK");
}

function versionJson(v: Awaited<ReturnType<SystemBackend["version"]>>, serverVersion: string) {
  const kernel = os.release();
  const version = v.version || serverVersion;
  const gitCommit = v.gitCommit ?? "";
  const buildTime = v.buildTime ?? "";
  const nodeVersion = `node${process.versions.node}`;
  // An "Engine" component from the backend adds details; the API facts stay the API's.
  const engine = v.components?.find((c) => c.name === "Engine");
  return {
    Platform: { Name: "berth" },
    Components: [
      {
        Name: "Engine",
        Version: version,
        Details: {
          BuildTime: buildTime,
          Experimental: "false",
          GitCommit: gitCommit,
          GoVersion: nodeVersion,
          KernelVersion: kernel,
          ...engine?.details,
          ApiVersion: MAX_API_VERSION,
          Arch: goArch(),
          MinAPIVersion: MIN_API_VERSION,
          Os: "linux",
        },
      },
      ...(v.components ?? []).filter((c) => c !== engine).map((c) => ({ Name: c.name, Version: c.version, Details: { ...(c.details ?? {}) } })),
    ],
    Version: version,
    ApiVersion: MAX_API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: gitCommit,
    GoVersion: nodeVersion,
    Os: "linux",
    Arch: goArch(),
    KernelVersion: kernel,
    BuildTime: buildTime,
  };
}

/** PRETTY_NAME of /etc/os-release, as dockerd's OperatingSystem. */
function osPrettyName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync("/etc/os-release", "utf8"));
    return m ? m[1]! : "Linux";
  } catch {
    return "Linux";
  }
}

function infoJson(i: Awaited<ReturnType<SystemBackend["info"]>>, serverVersion: string) {
  const arch = os.machine?.() ?? process.arch;
  return {
    ID: i.id,
    Containers: i.containers.total,
    ContainersRunning: i.containers.running,
    ContainersPaused: i.containers.paused,
    ContainersStopped: i.containers.stopped,
    Images: i.images,
    Driver: i.driver ?? "overlayfs",
    DriverStatus: i.driverStatus ?? [],
    Plugins: { Volume: ["local"], Network: ["host", "null"], Authorization: null, Log: ["json-file", "none"] },
    MemoryLimit: i.host?.memoryLimit ?? false,
    SwapLimit: i.host?.swapLimit ?? false,
    KernelMemoryTCP: i.host?.kernelMemoryTCP ?? false,
    CpuCfsPeriod: i.host?.cpuCfsPeriod ?? false,
    CpuCfsQuota: i.host?.cpuCfsQuota ?? false,
    CPUShares: i.host?.cpuShares ?? false,
    CPUSet: i.host?.cpuSet ?? false,
    PidsLimit: i.host?.pidsLimit ?? false,
    IPv4Forwarding: i.host?.ipv4Forwarding ?? false,
    BridgeNfIptables: i.host?.bridgeNfIptables ?? false,
    BridgeNfIp6tables: i.host?.bridgeNfIp6tables ?? false,
    Debug: i.debug ?? false,
    NFd: 0,
    OomKillDisable: i.host?.oomKillDisable ?? false,
    NGoroutines: 0,
    SystemTime: rfc3339Nano(new Date()),
    LoggingDriver: i.loggingDriver ?? "json-file",
    CgroupDriver: i.cgroupDriver ?? "cgroupfs",
    CgroupVersion: i.cgroupVersion ?? "1",
    NEventsListener: i.eventsListeners ?? 0,
    KernelVersion: i.kernelVersion ?? os.release(),
    OperatingSystem: i.operatingSystem ?? osPrettyName(),
    OSVersion: i.osVersion ?? "",
    OSType: "linux",
    Architecture: i.architecture ?? arch,
    IndexServerAddress: "https://index.docker.io/v1/",
    RegistryConfig: registryConfigJson(i.registry),
    NCPU: i.ncpu ?? os.cpus().length,
    MemTotal: i.memTotal ?? os.totalmem(),
    GenericResources: null,
    DockerRootDir: i.rootDir,
    HttpProxy: i.proxies?.http ?? "",
    HttpsProxy: i.proxies?.https ?? "",
    NoProxy: i.proxies?.no ?? "",
    Name: i.name ?? os.hostname(),
    Labels: i.labels ?? [],
    ExperimentalBuild: false,
    ServerVersion: serverVersion,
    Runtimes: i.runtimes ?? { runc: { path: "runc" } },
    DefaultRuntime: i.defaultRuntime ?? "runc",
    Swarm: { NodeID: "", NodeAddr: "", LocalNodeState: "inactive", ControlAvailable: false, Error: "", RemoteManagers: null },
    LiveRestoreEnabled: i.liveRestoreEnabled ?? true,
    Isolation: "",
    InitBinary: i.initBinary ?? "",
    ContainerdCommit: { ID: i.containerdCommit ?? "", Expected: i.containerdCommit ?? "" },
    RuncCommit: { ID: i.runcCommit ?? "", Expected: i.runcCommit ?? "" },
    InitCommit: { ID: "", Expected: "" },
    SecurityOptions: i.securityOptions ?? [],
    Warnings: i.warnings ?? [],
  };
}

/** registry.ServiceConfig as dockerd 20.10 shows it: insecure hosts are index configs. */
function registryConfigJson(r: SystemInfoView["registry"]) {
  const mirrors = r?.mirrors.map((m) => (m.endsWith("/") ? m : `${m}/`)) ?? [];
  const index: Record<string, { Name: string; Mirrors: string[]; Secure: boolean; Official: boolean }> = {};
  for (const h of r?.insecureHosts ?? []) index[h] = { Name: h, Mirrors: [], Secure: false, Official: false };
  index["docker.io"] = { Name: "docker.io", Mirrors: mirrors, Secure: true, Official: true };
  return {
    AllowNondistributableArtifactsCIDRs: [],
    AllowNondistributableArtifactsHostnames: [],
    InsecureRegistryCIDRs: r?.insecureCidrs ?? ["127.0.0.0/8"],
    IndexConfigs: index,
    Mirrors: mirrors,
  };
}

type SystemInfoView = Awaited<ReturnType<SystemBackend["info"]>>;

// ---- events ---------------------------------------------------------------------------------

const EVENT_FILTERS = [
  "config", "container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope", "secret",
  "service", "type", "volume",
] as const;

/** moby's events filter (daemon/events/filter.go), over engine events. */
export function eventFilter(f: Filters): (e: EngineEvent) => boolean {
  f.validate(EVENT_FILTERS);
  const byName = (key: string, e: EngineEvent, type: string) =>
    !f.has(key) || (e.type === type && (f.fuzzyMatch(key, e.id) || f.fuzzyMatch(key, e.attributes.name ?? "")));
  const stripTag = (s: string) => s.replace(/:[^/:@]*$/, "");
  return (e) => {
    // exec_create/exec_start/health_status carry ": detail"; a filter without it matches the prefix.
    const action = e.action;
    const bare = action.includes(":") ? action.slice(0, action.indexOf(":")) : action;
    if (f.has("event") && !f.exactMatch("event", action) && !f.exactMatch("event", bare)) return false;
    if (!f.exactMatch("type", e.type)) return false;
    if (!f.exactMatch("scope", "local")) return false;
    if (!byName("container", e, "container")) return false;
    if (!byName("volume", e, "volume")) return false;
    if (!byName("network", e, "network")) return false;
    if (!byName("daemon", e, "daemon")) return false;
    for (const k of ["plugin", "service", "node", "secret", "config"]) if (f.has(k)) return false;
    if (f.has("image")) {
      const name = e.type === "image" ? e.attributes.name ?? "" : e.attributes.image ?? "";
      const ok = [e.id, name, stripTag(e.id), stripTag(name)].some((s) => s !== "" && f.exactMatch("image", s));
      if (!ok) return false;
    }
    return f.matchKeyValues("label", e.attributes);
  };
}

/** events.Message, with the deprecated status/id/from for container and image events. */
export function eventJson(e: EngineEvent): string {
  const legacy =
    e.type === "container"
      ? { status: e.action, id: e.id, ...(e.attributes.image ? { from: e.attributes.image } : {}) }
      : e.type === "image"
        ? { status: e.action, id: e.id }
        : {};
  const body = JSON.stringify({
    ...legacy,
    Type: e.type,
    Action: e.action,
    Actor: { ID: e.id, Attributes: { ...e.attributes } },
    scope: "local",
    time: Number(e.timeNano / 1_000_000_000n),
  });
  // timeNano exceeds 2^53: written from the bigint so no digit is lost (Go writes int64 exactly).
  return body.slice(0, -1) + `,"timeNano":${e.timeNano.toString()}}\n`;
}

async function events(b: SystemBackend, ctx: RequestContext): Promise<void> {
  const since = parseUnixTimestamp(ctx.query.get("since"), "since");
  const until = parseUnixTimestamp(ctx.query.get("until"), "until");
  if (until !== undefined && since !== undefined && until < since) {
    throw errInvalidArgument(`\`since\` time (${ctx.query.get("since")}) cannot be after \`until\` time (${ctx.query.get("until")})`);
  }
  const filter = eventFilter(parseFilters(ctx.query.get("filters")));
  const out = new JsonStream(ctx.res);
  out.start();
  try {
    for await (const e of b.events({
      filter,
      signal: ctx.signal,
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
    })) {
      if (ctx.signal.aborted) break;
      if (filter(e)) out.writeRaw(eventJson(e));
    }
  } catch (err) {
    if (!ctx.signal.aborted) ctx.log?.warn({ err }, "event stream failed");
  }
  out.end();
}

async function df(b: SystemBackend, ctx: RequestContext): Promise<void> {
  const u = await b.df({ signal: ctx.signal });
  sendJson(ctx.res, 200, {
    LayersSize: u.layersSize,
    Images: u.images.map(imageSummaryJson),
    Containers: u.containers.map((c) => containerSummaryJson(c, { size: { rw: c.sizeRw ?? 0, rootFs: c.sizeRootFs ?? 0 } })),
    Volumes: (u.volumes ?? []).map(volumeJson),
    // A cache record points at an image already counted under Images: shared, never in use.
    BuildCache: (u.buildCache ?? []).map((c) => ({
      ID: c.id, Parent: "", Type: "regular", Description: `classic build step: ${c.image}`, InUse: false, Shared: true,
      Size: c.size, CreatedAt: c.created.toISOString(), LastUsedAt: null, UsageCount: 0,
    })),
  });
}
