import { randomBytes } from "node:crypto";
import type { ResolvedMount } from "./mount-points.js";
import type { StateSnapshot } from "./state-reducer.js";

// The engine's own vocabulary for a container: camelCase, durations in milliseconds. Docker's
// JSON shapes (PascalCase, nanoseconds) are translated in src/api only.

export interface HealthcheckConfig {
  /** ["NONE"], ["CMD", arg...] or ["CMD-SHELL", command], as docker; [] inherits the image's. */
  test: string[];
  /** Milliseconds; 0 means the default (30 s). */
  interval: number;
  /** Milliseconds; 0 means the default (30 s). */
  timeout: number;
  /** 0 means the default (3). */
  retries: number;
  /** Milliseconds; failures of a starting container within this period do not count. */
  startPeriod: number;
}

/** What the container runs: portable, independent of the host. */
export interface ContainerConfig {
  image: string;
  cmd: string[];
  entrypoint: string[];
  /** "KEY=value" entries. */
  env: string[];
  workingDir: string;
  user: string;
  labels: Record<string, string>;
  tty: boolean;
  openStdin: boolean;
  stdinOnce: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  stopSignal?: string;
  /** Seconds to wait after the stop signal before SIGKILL. */
  stopTimeout?: number;
  healthcheck?: HealthcheckConfig;
  /** "80/tcp" entries. */
  exposedPorts: string[];
  /** Anonymous volume mount points. */
  volumes: string[];
  hostname: string;
  domainname: string;
  /** docker run --mac-address: the interface's MAC on the network-mode network, as given. */
  macAddress?: string;
}

export type RestartPolicyName = "no" | "always" | "unless-stopped" | "on-failure";
export const RESTART_POLICY_NAMES: readonly RestartPolicyName[] = ["no", "always", "unless-stopped", "on-failure"];

export interface RestartPolicy {
  name: RestartPolicyName;
  /** Only for on-failure; 0 means unlimited. */
  maximumRetryCount: number;
}

export interface Resources {
  /** Bytes; 0 is unlimited. */
  memory: number;
  /** Memory + swap in bytes; -1 unlimited swap, 0 unset. */
  memorySwap: number;
  /** CPUs × 1e9. */
  nanoCpus: number;
  cpuShares: number;
  cpuQuota: number;
  cpuPeriod: number;
  cpusetCpus: string;
  /** Unset or <= 0 is unlimited. */
  pidsLimit?: number;
  /** Soft memory limit in bytes; unset or 0 is none. */
  memoryReservation?: number;
  /** 0–100; unset is the kernel's (dockerd's -1). */
  memorySwappiness?: number;
  oomKillDisable?: boolean;
  /** 10–1000; unset or 0 is the kernel's. */
  blkioWeight?: number;
  /** Per-device weights, by host device path. */
  blkioWeightDevice?: { path: string; weight: number }[];
  /** µs; unset or 0 is the parent's. */
  cpuRealtimePeriod?: number;
  cpuRealtimeRuntime?: number;
}

/** One `--device` mapping: a host device node (or a directory of them) made available inside. */
export interface DeviceMapping {
  pathOnHost: string;
  pathInContainer: string;
  /** Devices cgroup access, any of "rwm". */
  cgroupPermissions: string;
}

export interface Ulimit {
  /** "nofile", "nproc", ... */
  name: string;
  soft: number;
  hard: number;
}

export interface LogConfig {
  type: string;
  config: Record<string, string>;
}

/** How this host runs it: resources, mounts, policies. */
export interface HostConfig {
  restartPolicy: RestartPolicy;
  resources: Resources;
  autoRemove: boolean;
  /** "src:dst[:opts]" entries. */
  binds: string[];
  /** Mount point → options. */
  tmpfs: Record<string, string>;
  readonlyRootfs: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  /** Run an init as PID 1; unset means the daemon's default. */
  init?: boolean;
  networkMode: string;
  logConfig: LogConfig;
  /** `--mount` specs as the API gave them (the volumes layer parses them). */
  mounts?: Record<string, unknown>[];
  volumeDriver?: string;
  /** Published ports: "80/tcp" → bindings (host IP and port, "" for any / a free one). */
  portBindings?: Record<string, { hostIp: string; hostPort: string }[]>;
  publishAllPorts?: boolean;
  /** "name:ip" entries for /etc/hosts. */
  extraHosts?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** All capabilities, the host's devices, no masked or read-only paths, no seccomp. */
  privileged?: boolean;
  devices?: DeviceMapping[];
  /** "c 1:3 rwm" rules for the devices cgroup. */
  deviceCgroupRules?: string[];
  ulimits?: Ulimit[];
  /** /dev/shm size in bytes; unset or 0 is dockerd's 64 MiB. */
  shmSize?: number;
  sysctls?: Record<string, string>;
  /** "" (own namespace), "host", "container:<id>". */
  pidMode?: string;
  /** "" / "private", "shareable", "host", "none", "container:<id>". */
  ipcMode?: string;
  /** "" (own namespace) or "host". */
  utsMode?: string;
  /** "" (the daemon's --userns-remap, if any) or "host" (no user namespace). */
  usernsMode?: string;
  /** Supplementary groups: names (from the image's /etc/group) or numbers. */
  groupAdd?: string[];
  oomScoreAdj?: number;
  /** Parent cgroup instead of the daemon's. */
  cgroupParent?: string;
  /** "host" or "private"; resolved at create (dockerd's default for the host's cgroup version). */
  cgroupnsMode?: string;
  /** Replace the default masked / read-only paths when set ([] means none). */
  maskedPaths?: string[];
  readonlyPaths?: string[];
  /** Legacy links: "<linked container's name>:<alias>" (made canonical at create). */
  links?: string[];
  /** `--volumes-from`: "<container>[:mode]" as given; their mounts were copied at create. */
  volumesFrom?: string[];
  /** As the client sent it: "" or "default" (the only isolation on Linux). */
  isolation?: string;
}

/** Where the container's root filesystem is: kept so a start needs no Snapshots/Mounts. */
export type RootfsRecord =
  | {
      kind: "snapshot";
      snapshotter: string;
      key: string;
      mounts: { type: string; source: string; target?: string; options: string[] }[];
    }
  | { kind: "path"; path: string };

/** A container's settings on one network (docker's EndpointSettings that berth keeps). */
export interface EndpointConfigRecord {
  aliases: string[];
  ipv4Address?: string;
  macAddress?: string;
  links?: string[];
  driverOpts?: Record<string, string>;
  linkLocalIPs?: string[];
}

export interface ContainerRecord {
  /** 64 lowercase hex digits. */
  id: string;
  /** Canonical, with leading slash: "/web". */
  name: string;
  /** ISO-8601. */
  created: string;
  /** The process to run, resolved from entrypoint and cmd at create time. */
  path: string;
  args: string[];
  imageId: string;
  /** Snapshotter name. */
  driver: string;
  /** Key of the rootfs snapshot in the snapshotter. */
  rootfsSnapshotKey: string;
  restartCount: number;
  hasBeenStartedBefore: boolean;
  hasBeenManuallyStopped: boolean;
  config: ContainerConfig;
  hostConfig: HostConfig;
  state: StateSnapshot;
  rootfs?: RootfsRecord;
  /** The container's resolved volumes, binds and tmpfs mounts (volumes layer), fixed at create. */
  mountPoints?: ResolvedMount[];
  /** Networks the container is connected to, with its aliases (used at start). */
  networks?: Record<string, EndpointConfigRecord>;
  /**
   * The shared shim this container's tasks run in (`--shim-group-size` > 1, daemon/shim-groups.ts),
   * fixed at create; absent: a shim of its own.
   */
  shimGroup?: string;
}

export function containerConfig(init: Partial<ContainerConfig> & { image: string }): ContainerConfig {
  return {
    cmd: [],
    entrypoint: [],
    env: [],
    workingDir: "",
    user: "",
    labels: {},
    tty: false,
    openStdin: false,
    stdinOnce: false,
    attachStdin: false,
    attachStdout: false,
    attachStderr: false,
    exposedPorts: [],
    volumes: [],
    hostname: "",
    domainname: "",
    ...init,
  };
}

export function defaultResources(): Resources {
  return { memory: 0, memorySwap: 0, nanoCpus: 0, cpuShares: 0, cpuQuota: 0, cpuPeriod: 0, cpusetCpus: "" };
}

export type HostConfigInit = Partial<Omit<HostConfig, "resources">> & { resources?: Partial<Resources> };

export function hostConfig(init: HostConfigInit = {}): HostConfig {
  const { resources, ...rest } = init;
  return {
    restartPolicy: { name: "no", maximumRetryCount: 0 },
    autoRemove: false,
    binds: [],
    tmpfs: {},
    readonlyRootfs: false,
    capAdd: [],
    capDrop: [],
    securityOpt: [],
    networkMode: "default",
    logConfig: { type: "json-file", config: {} },
    ...rest,
    resources: { ...defaultResources(), ...resources },
  };
}

const CONTAINER_ID = /^[0-9a-f]{64}$/;

export function isValidContainerId(id: string): boolean {
  return CONTAINER_ID.test(id);
}

/**
 * A random 64-hex ID. An ID whose 12-character short form is all digits is drawn again: the short
 * form would read as a number in the CLI and in JSON (moby stringid.GenerateRandomID).
 */
export function generateContainerId(random: (bytes: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(32).toString("hex");
    if (!/^[0-9]{12}/.test(id)) return id;
  }
}

/** moby getEntrypointAndArgs: the entrypoint, if any, runs with cmd as its arguments. */
export function entrypointAndArgs(config: Pick<ContainerConfig, "entrypoint" | "cmd">): {
  path: string;
  args: string[];
} {
  const argv = config.entrypoint.length > 0 ? [...config.entrypoint, ...config.cmd] : [...config.cmd];
  return { path: argv[0] ?? "", args: argv.slice(1) };
}

export function initialStateSnapshot(): StateSnapshot {
  return {
    running: false,
    paused: false,
    restarting: false,
    oomKilled: false,
    removalInProgress: false,
    dead: false,
    pid: 0,
    exitCode: 0,
    error: "",
    startedAt: null,
    finishedAt: null,
    health: null,
  };
}

export interface NewRecordOptions {
  /** Defaults to a fresh generateContainerId(). */
  id?: string;
  /** Canonical name, already reserved in the NameRegistry. */
  name: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  imageId: string;
  driver: string;
  /** Defaults to the container ID. */
  rootfsSnapshotKey?: string;
  now: () => Date;
}

export function newContainerRecord(o: NewRecordOptions): ContainerRecord {
  const id = o.id ?? generateContainerId();
  const { path, args } = entrypointAndArgs(o.config);
  return {
    id,
    name: o.name,
    created: o.now().toISOString(),
    path,
    args,
    imageId: o.imageId,
    driver: o.driver,
    rootfsSnapshotKey: o.rootfsSnapshotKey ?? id,
    restartCount: 0,
    hasBeenStartedBefore: false,
    hasBeenManuallyStopped: false,
    config: o.config,
    hostConfig: o.hostConfig,
    state: initialStateSnapshot(),
  };
}
