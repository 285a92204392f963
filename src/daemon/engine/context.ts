// The state every engine operation works on: the containers (entries by ID, name and prefix),
// their records on disk, the event bus, the libcontainerd client and the options. Operations are
// functions over this context, one module per concern (create.ts, lifecycle.ts, monitor.ts, ...);
// index.ts assembles them into the Engine. The helpers here are the ones several operations share.
import { runcOptionsFor, type CgroupHost } from "../cgroups.js";
import type { RuncOptionsInit } from "../../containerd/index.js";
import os from "node:os";
import path from "node:path";
import diagnosticsChannel from "node:diagnostics_channel";
import {
  DEFAULT_NETWORK,
  createState,
  defaultNetworkName,
  type ContainerIndex,
  type ContainerRecord,
  type ContainerState,
  type ContainerStore,
  type NameRegistry,
} from "../../container/index.js";
import { errConflict, isBerthError, isNotFound } from "../../base/errors.js";
import { type ContainerdClient, type Spec } from "../../containerd/index.js";
import type { Backend, Container, LibcontainerdClient, Task } from "../../libcontainerd/index.js";
import { Mutex } from "../../base/lock.js";
import type { DaemonSeccomp } from "../oci/seccomp.js";
import type { DaemonSecurity } from "../daemon-security.js";
import { findInitBinary } from "../oci/index.js";
import { joinedInputs, joinsAnother } from "./joined.js";
import { linksEnv } from "./links.js";
import { buildContainerSpec, containerHostname, needsImageUserFiles, networkFilePaths } from "../container-spec.js";
import type { EventBus } from "../event-bus.js";
import { readRootfsFile, type ImageSource, type PreparedRootfs } from "../image-source.js";
import { StreamHub } from "../stream-hub.js";
import type { RootfsViews } from "../rootfs-view.js";
import type { ContainerLogs, LogWriter } from "../container-logs.js";
import type { ExecStore } from "../exec-store.js";
import { RestartManager } from "../restart-policy.js";
import type { ShimGroups } from "../shim-groups.js";
import { deactivateContainerMounts, ociMounts, type ResolvedMount, type VolumeStore } from "../../volumes/index.js";
import type { NetworkManager } from "../../network/index.js";
import type { EngineEvent, StatsSample } from "../types.js";

export interface EngineOptions {
  /** berthd's root: containers/<id>/ (record, logs, network files), exec FIFOs under state. */
  root: string;
  containerd: ContainerdClient;
  images: ImageSource;
  logs: ContainerLogs;
  /** Where the engine publishes its events; the composition root makes it first and shares it. */
  events?: EventBus;
  /** cgroup parent of containers (default: the containerd namespace; system.slice with systemd). */
  cgroupParent?: string;
  /** The host's cgroups and the driver (cgroups.ts probeCgroups); probed from the host when absent. */
  cgroups?: CgroupHost;
  /** containerd's state dir: a running task's rootfs is mounted under it (default /run/containerd). */
  containerdStateDir?: string;
  /** Named and anonymous volumes. */
  volumes: VolumeStore;
  /**
   * CNI networking for the default bridge and user networks. Without it (dockerd's
   * `--bridge none`), those modes get a private namespace with loopback only.
   */
  network?: NetworkManager;
  /** The default seccomp profile (dockerd's `--seccomp-profile`); dockerd's built-in when absent. */
  seccomp?: DaemonSeccomp;
  /** Daemon-wide --no-new-privileges, --default-ulimit, AppArmor and --userns-remap. */
  security?: DaemonSecurity;
  /** The init binary for `--init` (dockerd's `--init-path`); found on the host when absent (`findInitBinary`). */
  initPath?: string;
  /**
   * `--shim-group-size`: up to this many containers share one runc v2 shim (../shim-groups.ts).
   * 1 or absent: one shim per container, as dockerd.
   */
  shimGroupSize?: number;
  now?: () => Date;
  /**
   * Makes the libcontainerd client that delivers containerd's events to `backend` (the
   * engine's monitor). Default: the real client over `containerd`; unit tests pass an
   * in-memory one (engine/testdata/fake-libcontainerd.ts).
   */
  libcontainerd?: (backend: Backend) => Promise<LibcontainerdClient>;
}

export type CState = ContainerState<Container, Task>;

/** One container as the engine holds it: record, State with its handles, lock, stdio. */
export interface Entry {
  record: ContainerRecord;
  state: CState;
  lock: Mutex;
  hub: StreamHub;
  log: LogWriter | undefined;
  /** Previous stats sample (docker's precpu). */
  lastStats: StatsSample | undefined;
  /** Set while an engine operation expects the exit (stop, kill, rm -f). */
  stopping: boolean;
  restart: RestartManager;
  /** The pending restart of a container in "Restarting (N)". */
  restartTimer: NodeJS.Timeout | undefined;
  /** Ends the health probe loop of the current run. */
  healthStop: AbortController | undefined;
  /** A stopped task restore could not reap (its shim did not answer): reaped before start or rm. */
  pendingReap: Task | undefined;
}

export interface EngineContext {
  readonly o: EngineOptions;
  readonly now: () => Date;
  readonly store: ContainerStore;
  readonly names: NameRegistry;
  readonly index: ContainerIndex<Entry>;
  readonly execs: ExecStore;
  readonly events: EventBus;
  readonly cgroupParent: string;
  readonly cgroups: CgroupHost;
  /** Delivers containerd's events to the monitor (monitor.ts). */
  readonly lcd: LibcontainerdClient;
  /** Mounts of stopped containers' snapshots for cp and export (archive.ts). */
  readonly views: RootfsViews;
  closed: boolean;
  /** Background cleanups of what a crash left (restore.ts). */
  readonly cleanups: Set<Promise<void>>;
  /** Which shared shim each container runs in; undefined with one shim per container. */
  readonly shimGroups: ShimGroups | undefined;
}

export const RUNTIME = "io.containerd.runc.v2";

/** The shim's runc options for the daemon's cgroup driver (systemd mode), none for cgroupfs. */
export function runcOptionsOf(ctx: EngineContext): { runcOptions?: RuncOptionsInit } {
  const runcOptions = runcOptionsFor(ctx.cgroups.driver);
  return runcOptions ? { runcOptions } : {};
}
export const DEFAULT_STOP_TIMEOUT = 10;

/** Published when an engine operation ends: `{ op, durationMs, outcome: "ok" | <error kind> }`. */
export const engineOpChannel = diagnosticsChannel.channel("berth:engine:op");

/** Times an engine operation for metrics (engineOpChannel); the result passes through. */
export async function timed<T>(op: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    const r = await fn();
    if (engineOpChannel.hasSubscribers) engineOpChannel.publish({ op, durationMs: performance.now() - t0, outcome: "ok" });
    return r;
  } catch (e) {
    if (engineOpChannel.hasSubscribers) engineOpChannel.publish({ op, durationMs: performance.now() - t0, outcome: isBerthError(e) ? e.kind : "unknown" });
    throw e;
  }
}

// ---- entries, records, events ---------------------------------------------------------------

export function entryOf(ctx: EngineContext, ref: string): Entry {
  return ctx.index.resolve(ref).value;
}

export function newEntry(ctx: EngineContext, record: ContainerRecord): Entry {
  const state = createState<Container, Task>({ id: record.id, now: ctx.now, snapshot: record.state });
  const entry: Entry = {
    record,
    state,
    lock: new Mutex(),
    // docker run -i: the client's EOF closes the container's stdin (StdinOnce).
    hub: new StreamHub({ onStdinEnd: (io) => { if (entry.record.config.stdinOnce) io.closeStdin(); } }),
    log: undefined,
    lastStats: undefined,
    stopping: false,
    restart: new RestartManager(record.hostConfig.restartPolicy, record.restartCount),
    restartTimer: undefined,
    healthStop: undefined,
    pendingReap: undefined,
  };
  return entry;
}

export function containerDir(ctx: EngineContext, id: string): string {
  return ctx.store.containerDir(id);
}

export function logPath(ctx: EngineContext, id: string): string {
  return path.join(containerDir(ctx, id), `${id}-json.log`);
}

export async function persist(ctx: EngineContext, e: Entry): Promise<void> {
  e.record.state = e.state.snapshot();
  await ctx.store.save(e.record);
}

export function emit(ctx: EngineContext, e: Entry | ContainerRecord, action: string, extra: Record<string, string> = {}): EngineEvent {
  const record = "record" in e ? e.record : e;
  return ctx.events.publish({
    type: "container",
    action,
    id: record.id,
    attributes: { image: record.config.image, name: record.name.slice(1), ...record.config.labels, ...extra },
  });
}

// ---- the rules several operations share -------------------------------------------------------

/** Whether the container has a live task: running (paused included), not waiting to restart. */
export function hasLiveTask(e: Entry): boolean {
  return e.state.isRunning && !e.state.isRestarting;
}

export function errNotRunning(e: Entry) {
  return errConflict(`Container ${e.record.id} is not running`);
}

/**
 * The task of a container that has one, else dockerd's 409 "Container X is not running";
 * with `unpaused`, a paused container is refused as dockerd refuses exec in one.
 */
export function liveTask(e: Entry, o: { unpaused?: boolean } = {}): Task {
  if (!hasLiveTask(e)) throw errNotRunning(e);
  if (o.unpaused && e.state.isPaused) throw errConflict(`Container ${e.record.id} is paused, unpause the container before exec`);
  return e.state.runningTask();
}

/** Ignores containerd's not-found: what was to be removed or signalled is gone already. */
export function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}

// ---- mounts, network, spec, logs -----------------------------------------------------------------

export function mountsOf(record: ContainerRecord): ResolvedMount[] {
  return record.mountPoints ?? [];
}

/** Whether the container's network is set up by CNI (the default bridge or a user network). */
export function networked(ctx: EngineContext, record: ContainerRecord): boolean {
  const m = record.hostConfig.networkMode;
  return !!ctx.o.network && m !== "none" && m !== "host" && !m.startsWith("container:");
}

/**
 * docker run --mac-address (Config.MacAddress) is the MAC of the endpoint on the network-mode
 * network, as dockerd 20.10 applies it at every start; the endpoint's own MacAddress wins.
 */
export function withConfigMac<T extends { macAddress?: string }>(record: ContainerRecord, network: string, e: T): T {
  const mac = record.config.macAddress;
  if (!mac || e.macAddress || network !== defaultNetworkName(record.hostConfig.networkMode)) return e;
  return { ...e, macAddress: mac };
}

export function attachRequest(record: ContainerRecord) {
  const hc = record.hostConfig;
  const legacy = hc.links ?? [];
  const networks = Object.entries(record.networks ?? { bridge: { aliases: [] } }).map(([network, e]) => ({
    network,
    ...withConfigMac(record, network, e),
    // Legacy links name the linked containers in /etc/hosts as endpoint links on the default bridge do.
    ...(legacy.length > 0 && network === DEFAULT_NETWORK ? { links: [...(e.links ?? []), ...legacy] } : {}),
  }));
  return {
    name: record.name.slice(1),
    hostname: containerHostname(record),
    ...(record.config.domainname ? { domainname: record.config.domainname } : {}),
    networks,
    portBindings: Object.fromEntries(Object.entries(hc.portBindings ?? {}).map(([p, bs]) => [p, bs.map((b) => ({ hostIp: b.hostIp, hostPort: b.hostPort }))])),
    publishAllPorts: !!hc.publishAllPorts,
    exposedPorts: record.config.exposedPorts,
    extraHosts: hc.extraHosts ?? [],
    dns: { servers: hc.dns ?? [], search: hc.dnsSearch ?? [], options: hc.dnsOptions ?? [] },
  };
}

/** Whether a user name needs the image's /etc/passwd and /etc/group (a numeric uid[:gid] does not). */
export function needsUserFiles(user: string): boolean {
  return !!user && !/^\d+(:\d+)?$/.test(user);
}

/** The rootfs's passwd and group files when `user` names a user or group. */
/** The image's /etc/passwd and /etc/group, read through the snapshot without mounting it. */
function readUserFiles(rootfs: PreparedRootfs): Promise<[string | undefined, string | undefined]> {
  return Promise.all([readRootfsFile(rootfs, "etc/passwd"), readRootfsFile(rootfs, "etc/group")]);
}

/** The files `resolveUser` needs for `user` and `groupAdd` (none when both are numeric). */
export async function userFiles(rootfs: PreparedRootfs, user: string, groupAdd: readonly string[] = []): Promise<[string | undefined, string | undefined]> {
  return needsUserFiles(user) || groupAdd.some((g) => !/^\d+$/.test(g)) ? readUserFiles(rootfs) : [undefined, undefined];
}

let foundInit: string | undefined | null = null;

/**
 * The container's OCI spec. `joined`: "start" when the namespaces of `container:<id>` modes must
 * be the donors' current ones (they must run then), "create" when a placeholder will do.
 */
export async function specOf(ctx: EngineContext, record: ContainerRecord, o: { joinedAt?: "create" | "start" } = {}): Promise<Spec> {
  const rootfs = record.rootfs!;
  const [passwd, group] = needsImageUserFiles(record) ? await readUserFiles(rootfs as PreparedRootfs) : [undefined, undefined];
  const joined = joinsAnother(record) ? joinedInputs(ctx, record, o.joinedAt === "start") : undefined;
  // dockerd: a container in another's network takes its hostname at start (and shows it).
  if (joined?.hostname !== undefined && o.joinedAt === "start") record.config.hostname = joined.hostname;
  // Written once at create: later specs (update) must not reset the /etc/hosts that the
  // network layer keeps current with the container's address and its peers.
  const files = joined?.files ?? networkFilePaths(containerDir(ctx, record.id));
  if (foundInit === null) foundInit = findInitBinary();
  const initPath = ctx.o.initPath ?? foundInit;
  return buildContainerSpec({
    record, rootfs, cgroupParent: ctx.cgroupParent, files, passwd, group, numCpus: os.availableParallelism(),
    cgroupDriver: ctx.cgroups.driver, host: ctx.cgroups.features,
    mounts: ociMounts(mountsOf(record)),
    ...(networked(ctx, record) ? { netnsPath: ctx.o.network!.netnsPath(record.id) } : {}),
    ...(ctx.o.seccomp ? { seccomp: ctx.o.seccomp } : {}),
    ...(ctx.o.security ? { security: ctx.o.security } : {}),
    ...(joined?.namespacePaths ? { namespacePaths: joined.namespacePaths } : {}),
    ...(initPath !== undefined ? { initPath } : {}),
    ...((record.hostConfig.links ?? []).length > 0 ? { linkEnv: linksEnv(ctx, record, o.joinedAt === "start") } : {}),
  });
}

/** The containerd container's rootfs argument for the record's prepared rootfs. */
export function rootfsArg(record: ContainerRecord) {
  const rootfs = record.rootfs!;
  return rootfs.kind === "snapshot" ? { kind: "snapshot" as const, snapshotter: rootfs.snapshotter, key: rootfs.key, mounts: rootfs.mounts } : { kind: "path" as const };
}

export async function openLog(ctx: EngineContext, e: Entry): Promise<LogWriter | undefined> {
  if (e.record.hostConfig.logConfig.type === "none") return undefined;
  return ctx.o.logs.open(logPath(ctx, e.record.id), e.record.hostConfig.logConfig.config);
}

/** What a run holds outside containerd: the network and volume mounts (CNI DEL, unmounts). */
export async function releaseRunResources(ctx: EngineContext, e: Entry): Promise<void> {
  await ctx.o.network?.detach(e.record.id).catch(() => {});
  await deactivateContainerMounts(ctx.o.volumes, e.record.id, mountsOf(e.record)).catch(() => {});
}

/**
 * A task restore could not reap must be gone before the container starts again or its
 * containerd container is deleted (containerd would delete the container under the task).
 */
export async function reapPending(e: Entry): Promise<void> {
  const t = e.pendingReap;
  if (!t) return;
  try {
    await t.forceDelete({ timeoutMs: 10_000 });
  } catch (err) {
    if (!isNotFound(err)) throw errConflict(`the old task of container ${e.record.id} could not be removed yet, try again: ${err instanceof Error ? err.message : String(err)}`);
  }
  e.pendingReap = undefined;
}
