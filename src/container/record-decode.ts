// Decoding a container record read from disk: every field checked, defaults for fields an older
// berth did not write. (The record's types and factories are in record.ts.)
import { isValidHealthStatus, type HealthSnapshot, type ProbeResultSnapshot } from "./health.js";
import { isValidContainerName } from "./names.js";
import { decodeResolvedMounts } from "./mount-points.js";
import {
  RESTART_POLICY_NAMES,
  containerConfig,
  hostConfig,
  isValidContainerId,
  type ContainerConfig,
  type ContainerRecord,
  type DeviceMapping,
  type HealthcheckConfig,
  type HostConfig,
  type LogConfig,
  type Resources,
  type RestartPolicy,
  type RestartPolicyName,
  type RootfsRecord,
  type Ulimit,
} from "./record.js";
import type { StateSnapshot } from "./state-reducer.js";

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
      macAddress: string,
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
    memoryReservation: number,
    memorySwappiness: number,
    oomKillDisable: boolean,
    blkioWeight: number,
    blkioWeightDevice: (x, q) => objects(x, q).map((o, i) => ({ path: req(o, "path", `${q}[${i}]`, string), weight: req(o, "weight", `${q}[${i}]`, number) })),
    cpuRealtimePeriod: number,
    cpuRealtimeRuntime: number,
  });

/** An array of objects, each checked by the caller. */
function objects(v: unknown, p: string): Json[] {
  return Array.isArray(v) ? v.map((x, i) => object(x, `${p}[${i}]`)) : invalid(p, "an array of objects");
}

const devices: Check<DeviceMapping[]> = (v, p) =>
  objects(v, p).map((o, i) => ({
    pathOnHost: req(o, "pathOnHost", `${p}[${i}]`, string),
    pathInContainer: req(o, "pathInContainer", `${p}[${i}]`, string),
    cgroupPermissions: req(o, "cgroupPermissions", `${p}[${i}]`, string),
  }));

const ulimits: Check<Ulimit[]> = (v, p) =>
  objects(v, p).map((o, i) => ({
    name: req(o, "name", `${p}[${i}]`, string),
    soft: req(o, "soft", `${p}[${i}]`, number),
    hard: req(o, "hard", `${p}[${i}]`, number),
  }));

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
      privileged: boolean,
      devices,
      deviceCgroupRules: stringArray,
      ulimits,
      shmSize: number,
      sysctls: stringMap,
      pidMode: string,
      ipcMode: string,
      utsMode: string,
      usernsMode: string,
      groupAdd: stringArray,
      oomScoreAdj: integer,
      cgroupParent: string,
      cgroupnsMode: string,
      maskedPaths: stringArray,
      readonlyPaths: stringArray,
      isolation: string,
      volumesFrom: stringArray,
      links: stringArray,
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
    ...present(o, p, { rootfs: rootfsRecord, mountPoints: decodeResolvedMounts, networks: networksRecord, shimGroup: string }),
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
