import { randomBytes } from "node:crypto";
import { isValidHealthStatus, type HealthSnapshot, type ProbeResultSnapshot } from "./health.js";
import { isValidContainerName } from "./names.js";
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
  mountPoints?: Record<string, unknown>[];
  /** Networks the container is connected to, with its aliases (used at start). */
  networks?: Record<string, EndpointConfigRecord>;
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

// ---- decoding a record read from disk --------------------------------------------------------
//
// Required fields must be present with the right type. Fields that have a default may be absent
// (a record written by an older berth) but never of the wrong type: a wrong type means the file
// is not what we wrote, and the store sets it aside.

type Json = Record<string, unknown>;
type Check<T> = (v: unknown, path: string) => T;

function invalid(path: string, expected: string): never {
  throw new Error(`${path}: expected ${expected}`);
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const object: Check<Json> = (v, p) => (isObject(v) ? v : invalid(p, "an object"));
const string: Check<string> = (v, p) => (typeof v === "string" ? v : invalid(p, "a string"));
const number: Check<number> = (v, p) => (typeof v === "number" && Number.isFinite(v) ? v : invalid(p, "a number"));
const integer: Check<number> = (v, p) => (Number.isInteger(v) ? (v as number) : invalid(p, "an integer"));
const boolean: Check<boolean> = (v, p) => (typeof v === "boolean" ? v : invalid(p, "a boolean"));
const stringArray: Check<string[]> = (v, p) =>
  Array.isArray(v) ? v.map((x, i) => string(x, `${p}[${i}]`)) : invalid(p, "an array of strings");
const stringMap: Check<Record<string, string>> = (v, p) => {
  const o = object(v, p);
  for (const [k, x] of Object.entries(o)) string(x, `${p}.${k}`);
  return o as Record<string, string>;
};
const isoTime: Check<string> = (v, p) =>
  typeof v === "string" && !Number.isNaN(Date.parse(v)) ? v : invalid(p, "an ISO-8601 time");
const nullable =
  <T>(check: Check<T>): Check<T | null> =>
  (v, p) =>
    v === null ? null : check(v, p);

function req<T>(o: Json, key: string, path: string, check: Check<T>): T {
  if (o[key] === undefined) invalid(`${path}.${key}`, "a value");
  return check(o[key], `${path}.${key}`);
}

function opt<T>(o: Json, key: string, path: string, check: Check<T>): T | undefined {
  return o[key] === undefined ? undefined : check(o[key], `${path}.${key}`);
}

/** Copies the keys present in `o` through their checks; absent keys are left out. */
function present<S extends Record<string, Check<unknown>>>(
  o: Json,
  path: string,
  checks: S,
): { [K in keyof S]?: ReturnType<S[K]> } {
  const out: Record<string, unknown> = {};
  for (const [key, check] of Object.entries(checks)) {
    const v = opt(o, key, path, check);
    if (v !== undefined) out[key] = v;
  }
  return out as { [K in keyof S]?: ReturnType<S[K]> };
}

const healthcheck: Check<HealthcheckConfig> = (v, p) => {
  const o = object(v, p);
  return {
    test: req(o, "test", p, stringArray),
    interval: opt(o, "interval", p, number) ?? 0,
    timeout: opt(o, "timeout", p, number) ?? 0,
    retries: opt(o, "retries", p, integer) ?? 0,
    startPeriod: opt(o, "startPeriod", p, number) ?? 0,
  };
};

function decodeConfig(v: unknown, p: string): ContainerConfig {
  const o = object(v, p);
  return containerConfig({
    image: req(o, "image", p, string),
    ...present(o, p, {
      cmd: stringArray,
      entrypoint: stringArray,
      env: stringArray,
      workingDir: string,
      user: string,
      labels: stringMap,
      tty: boolean,
      openStdin: boolean,
      stdinOnce: boolean,
      attachStdin: boolean,
      attachStdout: boolean,
      attachStderr: boolean,
      stopSignal: string,
      stopTimeout: integer,
      healthcheck,
      exposedPorts: stringArray,
      volumes: stringArray,
      hostname: string,
      domainname: string,
    }),
  });
}

const restartPolicy: Check<RestartPolicy> = (v, p) => {
  const o = object(v, p);
  const name = req(o, "name", p, string);
  if (!(RESTART_POLICY_NAMES as readonly string[]).includes(name)) invalid(`${p}.name`, RESTART_POLICY_NAMES.join("|"));
  return { name: name as RestartPolicyName, maximumRetryCount: opt(o, "maximumRetryCount", p, integer) ?? 0 };
};

const resources: Check<Partial<Resources>> = (v, p) =>
  present(object(v, p), p, {
    memory: number,
    memorySwap: number,
    nanoCpus: number,
    cpuShares: number,
    cpuQuota: number,
    cpuPeriod: number,
    cpusetCpus: string,
    pidsLimit: number,
  });

const logConfig: Check<LogConfig> = (v, p) => {
  const o = object(v, p);
  return { type: req(o, "type", p, string), config: opt(o, "config", p, stringMap) ?? {} };
};

function decodeHostConfig(v: unknown, p: string): HostConfig {
  return hostConfig(
    present(object(v, p), p, {
      restartPolicy,
      resources,
      autoRemove: boolean,
      binds: stringArray,
      tmpfs: stringMap,
      readonlyRootfs: boolean,
      capAdd: stringArray,
      capDrop: stringArray,
      securityOpt: stringArray,
      init: boolean,
      networkMode: string,
      logConfig,
      mounts: objectArray,
      volumeDriver: string,
      portBindings,
      publishAllPorts: boolean,
      extraHosts: stringArray,
      dns: stringArray,
      dnsSearch: stringArray,
      dnsOptions: stringArray,
    }),
  );
}

const objectArray: Check<Record<string, unknown>[]> = (v, p) =>
  Array.isArray(v) ? v.map((x, i) => object(x, `${p}[${i}]`)) : invalid(p, "an array of objects");

const portBindings: Check<Record<string, { hostIp: string; hostPort: string }[]>> = (v, p) => {
  const o = object(v, p);
  const out: Record<string, { hostIp: string; hostPort: string }[]> = {};
  for (const [port, list] of Object.entries(o)) {
    if (!Array.isArray(list)) invalid(`${p}.${port}`, "an array");
    out[port] = (list as unknown[]).map((b, i) => {
      const bo = object(b, `${p}.${port}[${i}]`);
      return { hostIp: opt(bo, "hostIp", p, string) ?? "", hostPort: opt(bo, "hostPort", p, string) ?? "" };
    });
  }
  return out;
};

const networksRecord: Check<NonNullable<ContainerRecord["networks"]>> = (v, p) => {
  const o = object(v, p);
  const out: NonNullable<ContainerRecord["networks"]> = {};
  for (const [name, e] of Object.entries(o)) {
    const eo = object(e, `${p}.${name}`);
    out[name] = {
      aliases: opt(eo, "aliases", p, stringArray) ?? [],
      ...present(eo, p, { ipv4Address: string, macAddress: string, links: stringArray, driverOpts: stringMap, linkLocalIPs: stringArray }),
    };
  }
  return out;
};

const probeResult: Check<ProbeResultSnapshot> = (v, p) => {
  const o = object(v, p);
  return {
    start: req(o, "start", p, isoTime),
    end: req(o, "end", p, isoTime),
    exitCode: req(o, "exitCode", p, integer),
    output: req(o, "output", p, string),
  };
};

const health: Check<HealthSnapshot> = (v, p) => {
  const o = object(v, p);
  const status = req(o, "status", p, string);
  if (!isValidHealthStatus(status) || status === "none") invalid(`${p}.status`, "starting|healthy|unhealthy");
  const log = req(o, "log", p, (x, q) =>
    Array.isArray(x) ? x.map((r, i) => probeResult(r, `${q}[${i}]`)) : invalid(q, "an array"),
  );
  return { status, failingStreak: req(o, "failingStreak", p, integer), log };
};

function decodeState(v: unknown, p: string): StateSnapshot {
  const o = object(v, p);
  return {
    running: req(o, "running", p, boolean),
    paused: req(o, "paused", p, boolean),
    restarting: req(o, "restarting", p, boolean),
    oomKilled: req(o, "oomKilled", p, boolean),
    removalInProgress: req(o, "removalInProgress", p, boolean),
    dead: req(o, "dead", p, boolean),
    pid: req(o, "pid", p, integer),
    exitCode: req(o, "exitCode", p, integer),
    error: req(o, "error", p, string),
    startedAt: req(o, "startedAt", p, nullable(isoTime)),
    finishedAt: req(o, "finishedAt", p, nullable(isoTime)),
    health: opt(o, "health", p, nullable(health)) ?? null,
  };
}

/** Checks a parsed record; throws an Error naming the first offending field. */
export function decodeContainerRecord(v: unknown): ContainerRecord {
  const p = "record";
  const o = object(v, p);
  const id = req(o, "id", p, string);
  if (!isValidContainerId(id)) invalid(`${p}.id`, "64 lowercase hex digits");
  const name = req(o, "name", p, string);
  if (!name.startsWith("/") || !isValidContainerName(name)) invalid(`${p}.name`, 'a container name like "/web"');
  return {
    id,
    name,
    created: req(o, "created", p, isoTime),
    path: req(o, "path", p, string),
    args: req(o, "args", p, stringArray),
    imageId: req(o, "imageId", p, string),
    driver: req(o, "driver", p, string),
    rootfsSnapshotKey: req(o, "rootfsSnapshotKey", p, string),
    restartCount: opt(o, "restartCount", p, integer) ?? 0,
    hasBeenStartedBefore: opt(o, "hasBeenStartedBefore", p, boolean) ?? false,
    hasBeenManuallyStopped: opt(o, "hasBeenManuallyStopped", p, boolean) ?? false,
    config: decodeConfig(req(o, "config", p, object), `${p}.config`),
    hostConfig: decodeHostConfig(req(o, "hostConfig", p, object), `${p}.hostConfig`),
    state: decodeState(req(o, "state", p, object), `${p}.state`),
    ...present(o, p, { rootfs: rootfsRecord, mountPoints: objectArray, networks: networksRecord }),
  };
}

const rootfsMount = (v: unknown, p: string) => {
  const o = object(v, p);
  return {
    type: req(o, "type", p, string),
    source: req(o, "source", p, string),
    ...present(o, p, { target: string }),
    options: req(o, "options", p, stringArray),
  };
};

const rootfsRecord: Check<RootfsRecord> = (v, p) => {
  const o = object(v, p);
  const kind = req(o, "kind", p, string);
  if (kind === "path") return { kind, path: req(o, "path", p, string) };
  if (kind !== "snapshot") invalid(`${p}.kind`, "snapshot|path");
  const mounts = req(o, "mounts", p, (x, q) =>
    Array.isArray(x) ? x.map((m, i) => rootfsMount(m, `${q}[${i}]`)) : invalid(q, "an array"),
  );
  return { kind: "snapshot", snapshotter: req(o, "snapshotter", p, string), key: req(o, "key", p, string), mounts };
};
