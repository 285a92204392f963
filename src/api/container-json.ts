// ContainerView → Docker's JSON: the `docker ps` summary (types.Container) and `docker inspect`
// (types.ContainerJSON), with dockerd 20.10–24's field set and defaults.
import type { Health } from "../container/index.js";
import { defaultNetworkName } from "../container/index.js";
import type { ContainerView } from "../daemon/types.js";
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, DEFAULT_SHM_SIZE } from "../daemon/oci/index.js";
import { rfc3339Nano, unixSeconds } from "./json-time.js";

const MS_TO_NS = 1_000_000;

/** "sha256:<hex>" for a bare 64-hex ID; anything else unchanged. */
export function imageIdJson(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? `sha256:${id}` : id;
}

/** moby's ps Command: path and args, args containing a space quoted. */
export function commandLine(v: Pick<ContainerView, "path" | "args">): string {
  if (v.args.length === 0) return v.path;
  return `${v.path} ${v.args.map((a) => (a.includes(" ") ? `'${a}'` : a)).join(" ")}`;
}

/** Mount points (volumes and binds) as dockerd lists them; Name and Driver only for volumes. */
export function mountsJson(v: ContainerView) {
  return v.mounts.map((m) => ({
    Type: m.type,
    ...(m.type === "volume" ? { Name: m.name } : {}),
    Source: m.source,
    Destination: m.destination,
    ...(m.type === "volume" ? { Driver: m.driver } : {}),
    Mode: m.mode,
    RW: m.rw,
    Propagation: m.propagation,
  }));
}

type NetworkSettings = NonNullable<ContainerView["networkSettings"]>;
type Endpoint = NetworkSettings["networks"][string];

/** NetworkSettings.Ports: "80/tcp" → [{HostIp, HostPort}], or null when exposed but not published. */
export function portMapJson(ports: NetworkSettings["ports"]) {
  return Object.fromEntries(Object.entries(ports).map(([k, b]) => [k, b === null ? null : b.map((x) => ({ HostIp: x.hostIp, HostPort: x.hostPort }))]));
}

export function endpointJson(e: Endpoint) {
  return {
    IPAMConfig: e.ipamConfig
      ? {
          ...(e.ipamConfig.ipv4Address ? { IPv4Address: e.ipamConfig.ipv4Address } : {}),
          ...(e.ipamConfig.linkLocalIPs ? { LinkLocalIPs: [...e.ipamConfig.linkLocalIPs] } : {}),
        }
      : null,
    Links: e.links && e.links.length > 0 ? [...e.links] : null,
    Aliases: e.aliases.length === 0 ? null : [...e.aliases],
    MacAddress: e.macAddress,
    NetworkID: e.networkId,
    EndpointID: e.endpointId,
    Gateway: e.gateway,
    IPAddress: e.ipAddress,
    IPPrefixLen: e.ipPrefixLen,
    IPv6Gateway: "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    DriverOpts: e.driverOpts ? { ...e.driverOpts } : null,
    DNSNames: e.dnsNames.length === 0 ? null : [...e.dnsNames],
  };
}

/** A network's ID by name; undefined when there is no such network. */
export type NetworkIdOf = (name: string) => string | undefined;

/** An endpoint with no addresses: a configured network of a container that has none live. */
function configuredEndpointJson(networkId: string) {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    MacAddress: "",
    NetworkID: networkId,
    EndpointID: "",
    Gateway: "",
    IPAddress: "",
    IPPrefixLen: 0,
    IPv6Gateway: "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    DriverOpts: null,
    DNSNames: null,
  };
}

/**
 * NetworkSettings.Networks: the live endpoints while the container has them; otherwise (stopped,
 * `none`, `host`) the network of its mode with empty addresses, as dockerd lists it (dockerd
 * keeps none/host endpoints even while running; berth has none to show).
 */
export function networksJson(v: Pick<ContainerView, "networkSettings" | "hostConfig">, networkIdOf?: NetworkIdOf) {
  const n = v.networkSettings;
  if (n) return Object.fromEntries(Object.entries(n.networks).map(([name, e]) => [name, endpointJson(e)]));
  const mode = v.hostConfig.networkMode;
  if (mode.startsWith("container:")) return {};
  const name = defaultNetworkName(mode);
  return { [name]: configuredEndpointJson(networkIdOf?.(name) ?? "") };
}

/** docker ps's Ports: one entry per binding, or just the private port when unpublished. */
export function portsSummaryJson(n: NetworkSettings | undefined) {
  const out: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] = [];
  for (const [key, bindings] of Object.entries(n?.ports ?? {})) {
    const [port, proto = "tcp"] = key.split("/");
    const privatePort = Number(port);
    if (!bindings || bindings.length === 0) out.push({ PrivatePort: privatePort, Type: proto });
    else for (const b of bindings) out.push({ IP: b.hostIp, PrivatePort: privatePort, PublicPort: Number(b.hostPort), Type: proto });
  }
  return out;
}

/** docker ps: one entry of GET /containers/json. */
export function containerSummaryJson(v: ContainerView, o: { size?: { rw: number; rootFs: number }; networkIdOf?: NetworkIdOf } = {}) {
  return {
    Id: v.id,
    Names: [v.name],
    Image: v.image,
    ImageID: imageIdJson(v.imageId),
    Command: commandLine(v),
    Created: unixSeconds(v.created),
    Ports: portsSummaryJson(v.networkSettings),
    ...(o.size ? { SizeRw: o.size.rw, SizeRootFs: o.size.rootFs } : {}),
    Labels: { ...v.config.labels },
    State: v.state.status,
    Status: v.humanStatus,
    HostConfig: { NetworkMode: v.hostConfig.networkMode },
    NetworkSettings: { Networks: networksJson(v, o.networkIdOf) },
    Mounts: mountsJson(v),
  };
}

export function healthJson(h: Health) {
  return {
    Status: h.status,
    FailingStreak: h.failingStreak,
    Log: h.log.map((r) => ({ Start: rfc3339Nano(r.start), End: rfc3339Nano(r.end), ExitCode: r.exitCode, Output: r.output })),
  };
}

const nullIfEmpty = <T>(a: readonly T[]): T[] | null => (a.length === 0 ? null : [...a]);
const setOf = (keys: readonly string[]): Record<string, Record<string, never>> | null =>
  keys.length === 0 ? null : Object.fromEntries(keys.map((k) => [k, {}]));

export function configJson(v: ContainerView) {
  const c = v.config;
  return {
    Hostname: c.hostname || v.id.slice(0, 12),
    Domainname: c.domainname,
    User: c.user,
    AttachStdin: c.attachStdin,
    AttachStdout: c.attachStdout,
    AttachStderr: c.attachStderr,
    ...(c.exposedPorts.length > 0 ? { ExposedPorts: setOf(c.exposedPorts) } : {}),
    Tty: c.tty,
    OpenStdin: c.openStdin,
    StdinOnce: c.stdinOnce,
    Env: nullIfEmpty(c.env),
    Cmd: nullIfEmpty(c.cmd),
    ...(c.healthcheck
      ? {
          Healthcheck: {
            Test: [...c.healthcheck.test],
            ...(c.healthcheck.interval ? { Interval: c.healthcheck.interval * MS_TO_NS } : {}),
            ...(c.healthcheck.timeout ? { Timeout: c.healthcheck.timeout * MS_TO_NS } : {}),
            ...(c.healthcheck.startPeriod ? { StartPeriod: c.healthcheck.startPeriod * MS_TO_NS } : {}),
            ...(c.healthcheck.retries ? { Retries: c.healthcheck.retries } : {}),
          },
        }
      : {}),
    Image: c.image,
    Volumes: setOf(c.volumes),
    WorkingDir: c.workingDir,
    Entrypoint: nullIfEmpty(c.entrypoint),
    ...(c.macAddress ? { MacAddress: c.macAddress } : {}),
    OnBuild: null,
    Labels: { ...c.labels },
    ...(c.stopSignal ? { StopSignal: c.stopSignal } : {}),
    ...(c.stopTimeout !== undefined ? { StopTimeout: c.stopTimeout } : {}),
  };
}

export function hostConfigJson(v: ContainerView) {
  const h = v.hostConfig;
  const r = h.resources;
  return {
    Binds: nullIfEmpty(h.binds),
    ContainerIDFile: "",
    LogConfig: { Type: h.logConfig.type, Config: { ...h.logConfig.config } },
    NetworkMode: h.networkMode,
    PortBindings: Object.fromEntries(Object.entries(h.portBindings ?? {}).map(([k, b]) => [k, b.map((x) => ({ HostIp: x.hostIp, HostPort: x.hostPort }))])),
    RestartPolicy: { Name: h.restartPolicy.name, MaximumRetryCount: h.restartPolicy.maximumRetryCount },
    AutoRemove: h.autoRemove,
    VolumeDriver: h.volumeDriver ?? "",
    VolumesFrom: nullIfEmpty(h.volumesFrom ?? []),
    ConsoleSize: [0, 0],
    CapAdd: nullIfEmpty(h.capAdd),
    CapDrop: nullIfEmpty(h.capDrop),
    // Resolved at create; records from before berth recorded it ran in the host's namespace.
    CgroupnsMode: h.cgroupnsMode || "host",
    Dns: [...(h.dns ?? [])],
    DnsOptions: [...(h.dnsOptions ?? [])],
    DnsSearch: [...(h.dnsSearch ?? [])],
    ExtraHosts: nullIfEmpty(h.extraHosts ?? []),
    GroupAdd: nullIfEmpty(h.groupAdd ?? []),
    IpcMode: h.ipcMode || "private",
    Cgroup: "",
    // dockerd's form: "/<linked>:/<this container>/<alias>".
    Links: nullIfEmpty((h.links ?? []).map((l) => `/${l.slice(0, l.lastIndexOf(":"))}:${v.name}/${l.slice(l.lastIndexOf(":") + 1)}`)),
    OomScoreAdj: h.oomScoreAdj ?? 0,
    PidMode: h.pidMode ?? "",
    Privileged: h.privileged ?? false,
    PublishAllPorts: h.publishAllPorts ?? false,
    ReadonlyRootfs: h.readonlyRootfs,
    SecurityOpt: nullIfEmpty(h.securityOpt),
    ...(Object.keys(h.tmpfs).length > 0 ? { Tmpfs: { ...h.tmpfs } } : {}),
    UTSMode: h.utsMode ?? "",
    UsernsMode: h.usernsMode ?? "",
    ShmSize: h.shmSize || DEFAULT_SHM_SIZE,
    ...(h.sysctls && Object.keys(h.sysctls).length > 0 ? { Sysctls: { ...h.sysctls } } : {}),
    Runtime: "runc",
    // As the client sent it ("" or "default"), as dockerd echoes it.
    Isolation: h.isolation ?? "",
    CpuShares: r.cpuShares,
    Memory: r.memory,
    NanoCpus: r.nanoCpus,
    CgroupParent: h.cgroupParent ?? "",
    BlkioWeight: r.blkioWeight ?? 0,
    BlkioWeightDevice: (r.blkioWeightDevice ?? []).map((d) => ({ Path: d.path, Weight: d.weight })),
    BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: r.cpuPeriod,
    CpuQuota: r.cpuQuota,
    CpuRealtimePeriod: r.cpuRealtimePeriod ?? 0,
    CpuRealtimeRuntime: r.cpuRealtimeRuntime ?? 0,
    CpusetCpus: r.cpusetCpus,
    CpusetMems: "",
    Devices: (h.devices ?? []).map((d) => ({ PathOnHost: d.pathOnHost, PathInContainer: d.pathInContainer, CgroupPermissions: d.cgroupPermissions })),
    DeviceCgroupRules: nullIfEmpty(h.deviceCgroupRules ?? []),
    DeviceRequests: null,
    MemoryReservation: r.memoryReservation ?? 0,
    MemorySwap: r.memorySwap,
    MemorySwappiness: r.memorySwappiness ?? null,
    OomKillDisable: r.oomKillDisable ?? false,
    PidsLimit: r.pidsLimit !== undefined && r.pidsLimit > 0 ? r.pidsLimit : null,
    Ulimits: h.ulimits && h.ulimits.length > 0 ? h.ulimits.map((u) => ({ Name: u.name, Hard: u.hard, Soft: u.soft })) : null,
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    // dockerd stores no paths for a privileged container: none are masked.
    MaskedPaths: h.privileged ? null : [...(h.maskedPaths ?? DEFAULT_MASKED_PATHS)],
    ReadonlyPaths: h.privileged ? null : [...(h.readonlyPaths ?? DEFAULT_READONLY_PATHS)],
    ...(h.mounts && h.mounts.length > 0 ? { Mounts: h.mounts.map(mountSpecToApi) } : {}),
    ...(h.init !== undefined ? { Init: h.init } : {}),
  };
}

/** docker inspect: GET /containers/{id}/json. */
export function containerInspectJson(v: ContainerView, o: { networkIdOf?: NetworkIdOf } = {}) {
  const s = v.state;
  return {
    Id: v.id,
    Created: rfc3339Nano(v.created),
    Path: v.path,
    Args: [...v.args],
    State: {
      Status: s.status,
      Running: s.running,
      Paused: s.paused,
      Restarting: s.restarting,
      OOMKilled: s.oomKilled,
      Dead: s.dead,
      Pid: s.pid,
      ExitCode: s.exitCode,
      Error: s.error,
      StartedAt: rfc3339Nano(s.startedAt),
      FinishedAt: rfc3339Nano(s.finishedAt),
      ...(s.health ? { Health: healthJson(s.health) } : {}),
    },
    Image: imageIdJson(v.imageId),
    ResolvConfPath: "",
    HostnamePath: "",
    HostsPath: "",
    LogPath: v.logPath,
    Name: v.name,
    RestartCount: v.restartCount,
    Driver: v.driver,
    Platform: "linux",
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    ExecIDs: nullIfEmpty(v.execIds),
    HostConfig: hostConfigJson(v),
    GraphDriver: { Data: null, Name: v.driver },
    Mounts: mountsJson(v),
    Config: configJson(v),
    NetworkSettings: networkSettingsJson(v, o.networkIdOf),
  };
}

/** The stored camelCase MountSpec back to Docker's PascalCase Mount object. */
export function mountSpecToApi(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(mountSpecToApi);
  if (typeof v !== "object" || v === null) return v;
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, x]) => {
      const pascal = k.charAt(0).toUpperCase() + k.slice(1);
      return [pascal, k === "labels" || k === "options" ? x : mountSpecToApi(x)];
    }),
  );
}

/** inspect's NetworkSettings; dockerd's top-level address fields are the default bridge's. */
export function networkSettingsJson(v: Pick<ContainerView, "networkSettings" | "hostConfig">, networkIdOf?: NetworkIdOf) {
  const n = v.networkSettings;
  return {
    Bridge: "",
    SandboxID: n?.sandboxId ?? "",
    HairpinMode: false,
    LinkLocalIPv6Address: "",
    LinkLocalIPv6PrefixLen: 0,
    Ports: portMapJson(n?.ports ?? {}),
    SandboxKey: n?.sandboxKey ?? "",
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: n?.networks.bridge?.endpointId ?? "",
    Gateway: n?.gateway ?? "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    IPAddress: n?.ipAddress ?? "",
    IPPrefixLen: n?.ipPrefixLen ?? 0,
    IPv6Gateway: "",
    MacAddress: n?.macAddress ?? "",
    Networks: networksJson(v, networkIdOf),
  };
}
