import diagnosticsChannel from "node:diagnostics_channel";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  containerConfig,
  createContainerIndex,
  createContainerStore,
  createNameRegistry,
  createState,
  hostConfig as makeHostConfig,
  isValidContainerName,
  newContainerRecord,
  type ContainerIndex,
  type ContainerRecord,
  type ContainerState,
  type ContainerStore,
  type NameRegistry,
  type RootfsRecord,
  type WaitCondition,
} from "../container/index.js";
import {
  errConflict,
  errInvalidArgument,
  errNotFound,
  isBerthError,
  isNotFound,
  TaskStatus,
  type ContainerdClient,
  type Spec,
} from "../containerd/index.js";
import {
  createClient,
  StartError,
  type Backend,
  type Container,
  type EventInfo,
  type EventType,
  type LibcontainerdClient,
  statsFromCgroupsV1,
  type Process,
  type Task,
} from "../libcontainerd/index.js";
import { buildContainerSpec, containerHostname as containerHostnameOf, networkFilePaths, writeNetworkFiles } from "./container-spec.js";
import type { DaemonSeccomp } from "./oci/seccomp.js";
import { EventBus } from "./event-bus.js";
import { readRootfsFile, type ImageSource, type PreparedRootfs, type ResolvedImage } from "./image-source.js";
import { Mutex } from "../base/lock.js";
import { parseSignal, SIGKILL, SIGTERM } from "./signals.js";
import { StreamHub } from "./stream-hub.js";
import type { ContainerLogs, LogWriter } from "./container-logs.js";
import { ExecStore, type ExecInstance } from "./exec-store.js";
import { topOf } from "./top.js";
import { RestartManager, startsWithDaemon } from "./restart-policy.js";
import { DEFAULT_PROBE_INTERVAL_MS, probesEnabled, runProbe, validateHealthcheck } from "./health-probe.js";
import { readSystemCpuNs } from "./stats.js";
import { archiveOps } from "./archive.js";
import { mergeEnv, resolveUser } from "./oci/index.js";
import {
  activateContainerMounts,
  createContainerMounts,
  deactivateContainerMounts,
  decodeResolvedMounts,
  inspectMounts,
  ociMounts,
  planMounts,
  releaseContainerMounts,
  restoreContainerMounts,
  type MountSpec,
  type ResolvedMount,
  type VolumeStore,
} from "../volumes/index.js";
import type { NetworkManager } from "../network/index.js";
import { existsSync } from "node:fs";
import type {
  AttachOptions,
  ContainerView,
  CreateOptions,
  CreateResult,
  Engine,
  EngineEvent,
  EventQuery,
  ExecCreateOptions,
  ExecStartOptions,
  ExecView,
  ListOptions,
  LogEntry,
  LogOptions,
  PathStat,
  RemoveOptions,
  RestoreReport,
  StatsSample,
  StopOptions,
  TopResult,
  UpdateOptions,
} from "./types.js";

/** Published when a restore cleanup attempt fails: `{ id, attempt, error }` (it is retried). */
export const cleanupChannel = diagnosticsChannel.channel("berth:engine:cleanup");

/** Published when an engine operation ends: `{ op, durationMs, outcome: "ok" | <error kind> }`. */
export const engineOpChannel = diagnosticsChannel.channel("berth:engine:op");

/** Times an engine operation for metrics (engineOpChannel); the result passes through. */
async function timed<T>(op: string, fn: () => Promise<T>): Promise<T> {
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

export interface EngineOptions {
  /** berthd's root: containers/<id>/ (record, logs, network files), exec FIFOs under state. */
  root: string;
  containerd: ContainerdClient;
  images: ImageSource;
  logs: ContainerLogs;
  /** cgroup parent of containers (default: the containerd namespace). */
  cgroupParent?: string;
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
  now?: () => Date;
}

type CState = ContainerState<Container, Task>;

/** One container as the engine holds it: record, State with its handles, lock, stdio. */
interface Entry {
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

const RUNTIME = "io.containerd.runc.v2";
/** How long stats requests gather before their one Tasks/Metrics call. */
const STATS_BATCH_MS = 15;
/** How long restore waits to reap one task before it reports it and goes on. */
const RESTORE_REAP_TIMEOUT_MS = 5_000;
const DEFAULT_STOP_TIMEOUT = 10;

export interface EngineInternals {
  restore(): Promise<RestoreReport>;
  readonly libcontainerd: LibcontainerdClient;
  /** Engine events: the API publishes image, volume and network events here too. */
  readonly eventBus: EventBus;
  /** Whether any container, running or not, is configured on the network. */
  networkInUse(name: string): boolean;
  /** Resolves when the restore's background cleanups (what a crash left) are done. */
  cleanupsDone(): Promise<void>;
}

export async function createEngine(o: EngineOptions): Promise<Engine & EngineInternals> {
  const engine = new EngineImpl(o);
  await engine.init();
  return engine;
}

class EngineImpl implements Engine, Backend {
  readonly #o: EngineOptions;
  readonly #now: () => Date;
  readonly #store: ContainerStore;
  readonly #names: NameRegistry = createNameRegistry();
  readonly #index: ContainerIndex<Entry>;
  readonly #execs = new ExecStore();
  readonly #events = new EventBus();
  readonly #cgroupParent: string;
  #lcd!: LibcontainerdClient;
  #closed = false;
  readonly #cleanups = new Set<Promise<void>>();
  readonly #statsBatch = new Map<string, { resolve: (s: StatsSample) => void; reject: (e: unknown) => void }[]>();
  #statsTimer: NodeJS.Timeout | undefined;

  constructor(o: EngineOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.#store = createContainerStore({ root: o.root });
    this.#index = createContainerIndex<Entry>(this.#names);
    this.#cgroupParent = o.cgroupParent ?? o.containerd.namespace;
  }

  get libcontainerd(): LibcontainerdClient {
    return this.#lcd;
  }

  async init(): Promise<void> {
    await fs.mkdir(this.#o.root, { recursive: true, mode: 0o710 });
    this.#lcd = await createClient({ containerd: this.#o.containerd, stateDir: path.join(this.#o.root, "fifo"), backend: this });
  }

  // ---- helpers ----------------------------------------------------------------------------

  #entry(ref: string): Entry {
    return this.#index.resolve(ref).value;
  }

  #containerDir(id: string): string {
    return this.#store.containerDir(id);
  }

  #logPath(id: string): string {
    return path.join(this.#containerDir(id), `${id}-json.log`);
  }

  async #persist(e: Entry): Promise<void> {
    e.record.state = e.state.snapshot();
    await this.#store.save(e.record);
  }

  #emit(e: Entry | ContainerRecord, action: string, extra: Record<string, string> = {}): EngineEvent {
    const record = "record" in e ? e.record : e;
    return this.#events.publish({
      type: "container",
      action,
      id: record.id,
      attributes: { image: record.config.image, name: record.name.slice(1), ...record.config.labels, ...extra },
    });
  }

  #newEntry(record: ContainerRecord): Entry {
    const state = createState<Container, Task>({ id: record.id, now: this.#now, snapshot: record.state });
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

  // ---- create -----------------------------------------------------------------------------

  create(o: CreateOptions): Promise<CreateResult> {
    return timed("create", () => this.#createOp(o));
  }

  async #createOp(o: CreateOptions): Promise<CreateResult> {
    const warnings: string[] = [];
    if (o.name !== undefined && o.name !== "" && !isValidContainerName(o.name)) {
      throw errInvalidArgument(`Invalid container name (${o.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    if (!o.config.image) throw errInvalidArgument("No image was specified");
    const image = await this.#o.images.resolve(o.config.image, { ...(o.signal ? { signal: o.signal } : {}) });
    const config = mergeImageConfig(o.config, image);
    if (config.entrypoint.length === 0 && config.cmd.length === 0) throw errInvalidArgument("No command specified");
    const badHealth = validateHealthcheck(config.healthcheck);
    if (badHealth) throw errInvalidArgument(badHealth);
    const hc = makeHostConfig(o.hostConfig ?? {});
    if (hc.restartPolicy.name !== "no" && hc.autoRemove) {
      throw errInvalidArgument("can't create 'AutoRemove' container with restart policy");
    }
    if (hc.restartPolicy.name !== "on-failure" && hc.restartPolicy.maximumRetryCount !== 0) {
      throw errInvalidArgument(`maximum retry count cannot be used with restart policy '${hc.restartPolicy.name}'`);
    }
    if (hc.restartPolicy.maximumRetryCount < 0) throw errInvalidArgument("maximum retry count cannot be negative");
    if (hc.logConfig.type !== "json-file" && hc.logConfig.type !== "none" && hc.logConfig.type !== "") {
      throw errInvalidArgument(`logger: no log driver named '${hc.logConfig.type}' is registered`);
    }
    if (!hc.logConfig.type) hc.logConfig = { type: "json-file", config: hc.logConfig.config };
    this.#o.logs.validate(hc.logConfig.config);
    if (hc.networkMode.startsWith("container:")) {
      throw errInvalidArgument(`network mode ${JSON.stringify(hc.networkMode)} is not supported yet`);
    }
    if (!this.#o.network && !["default", "bridge", "", "none", "host"].includes(hc.networkMode)) {
      throw errInvalidArgument(`network ${hc.networkMode} not found: networking is disabled (bridge none)`);
    }
    if (!this.#o.network && ["default", "bridge", ""].includes(hc.networkMode) && (Object.keys(hc.portBindings ?? {}).length > 0 || hc.publishAllPorts)) {
      throw errInvalidArgument("ports cannot be published: networking is disabled (bridge none)");
    }

    const record = newContainerRecord({ name: "/pending", config, hostConfig: hc, imageId: image.id, driver: "overlayfs", now: this.#now });
    const networked = this.#networked(record);
    if (networked) {
      const name = ["default", "bridge", ""].includes(hc.networkMode) ? "bridge" : hc.networkMode;
      record.networks = { [name]: { aliases: [] } };
      for (const [n, ep] of Object.entries(o.networks ?? {})) {
        const key = ["default", "bridge", ""].includes(n) ? "bridge" : n;
        record.networks[key] = { aliases: [...ep.aliases], ...(ep.ipv4Address ? { ipv4Address: ep.ipv4Address } : {}) };
      }
      this.#o.network!.validate(this.#attachRequest(record));
    } else if (o.networks && Object.keys(o.networks).length > 0) {
      throw errInvalidArgument(`container in network mode ${JSON.stringify(hc.networkMode)} cannot have endpoint settings`);
    }
    // Volumes, binds and --mount: validated and planned before anything is created.
    const plan = planMounts(
      { binds: hc.binds, mounts: (hc.mounts ?? []) as unknown as MountSpec[], tmpfs: hc.tmpfs, volumes: config.volumes, volumeDriver: hc.volumeDriver ?? "" },
      { exists: existsSync },
    );
    // The name is reserved synchronously: of two creates racing for it, one gets a conflict.
    record.name = o.name ? this.#names.reserve(o.name, record.id) : this.#names.reserveGenerated(record.id);
    const undo: (() => Promise<unknown>)[] = [async () => this.#names.releaseAll(record.id)];
    try {
      // A create cut short by a crash leaves objects no record explains and the restore's two
      // list calls cannot see (a prepared snapshot): this durable note names them.
      await this.#intent(record.id, "write");
      undo.push(() => this.#intent(record.id, "remove"));
      const dir = this.#containerDir(record.id);
      await fs.mkdir(dir, { recursive: true, mode: 0o710 });
      undo.push(() => fs.rm(dir, { recursive: true, force: true }));
      const mounts = await createContainerMounts(this.#o.volumes, record.id, plan, o.signal ? { signal: o.signal } : {});
      record.mountPoints = mounts as unknown as Record<string, unknown>[];
      undo.push(() => releaseContainerMounts(this.#o.volumes, record.id, mounts, { removeAnonymous: true }));
      const rootfs = await this.#o.images.prepareRootfs(record.id, image, o.signal ? { signal: o.signal } : {});
      undo.push(() => this.#o.images.removeRootfs(record.id, rootfs));
      record.rootfs = toRootfsRecord(rootfs);
      record.driver = rootfs.kind === "snapshot" ? rootfs.snapshotter : "dir";
      record.rootfsSnapshotKey = rootfs.kind === "snapshot" ? rootfs.key : "";
      // Validating the spec before containerd sees it: a bad bind or user fails here.
      await writeNetworkFiles(this.#containerDir(record.id), record);
      const spec = await this.#spec(record);
      const container = await this.#lcd.newContainer(record.id, {
        spec,
        rootfs: rootfs.kind === "snapshot" ? { kind: "snapshot", snapshotter: rootfs.snapshotter, key: rootfs.key, mounts: rootfs.mounts } : { kind: "path" },
        runtime: RUNTIME,
        labels: { "berth.name": record.name.slice(1) },
        image: image.name,
      });
      undo.push(() => container.delete().catch(() => {}));
      const entry = this.#newEntry(record);
      entry.state.attachContainer(container);
      // Acknowledge after persisting: what the client was told exists survives a crash.
      await this.#persist(entry);
      await this.#intent(record.id, "remove");
      this.#index.add(record.id, entry);
      this.#emit(entry, "create");
      return { id: record.id, warnings };
    } catch (e) {
      for (const u of undo.reverse()) await u().catch(() => {});
      throw e;
    }
  }

  async #spec(record: ContainerRecord): Promise<Spec> {
    const rootfs = record.rootfs!;
    const prepared = rootfs as PreparedRootfs;
    const [passwd, group] = record.config.user && !/^\d+(:\d+)?$/.test(record.config.user)
      ? await Promise.all([readRootfsFile(prepared, "etc/passwd"), readRootfsFile(prepared, "etc/group")])
      : [undefined, undefined];
    // Written once at create: later specs (update) must not reset the /etc/hosts that the
    // network layer keeps current with the container's address and its peers.
    const files = networkFilePaths(this.#containerDir(record.id));
    return buildContainerSpec({
      record, rootfs, cgroupParent: this.#cgroupParent, files, passwd, group, numCpus: os.availableParallelism(),
      mounts: ociMounts(this.#mountsOf(record)),
      ...(this.#networked(record) ? { netnsPath: this.#o.network!.netnsPath(record.id) } : {}),
      ...(this.#o.seccomp ? { seccomp: this.#o.seccomp } : {}),
    });
  }

  /** `<root>/creating/<id>`: written and synced before a create makes anything, removed after. */
  async #intent(id: string, op: "write" | "remove"): Promise<void> {
    const dir = path.join(this.#o.root, "creating");
    const file = path.join(dir, id);
    if (op === "remove") {
      await fs.rm(file, { force: true });
      return;
    }
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const fh = await fs.open(file, "w", 0o600);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const d = await fs.open(dir, "r");
    try { await d.sync(); } finally { await d.close(); }
  }

  #mountsOf(record: ContainerRecord): ResolvedMount[] {
    return decodeResolvedMounts(record.mountPoints ?? []);
  }

  /** Whether the container's network is set up by CNI (the default bridge or a user network). */
  #networked(record: ContainerRecord): boolean {
    const m = record.hostConfig.networkMode;
    return !!this.#o.network && m !== "none" && m !== "host" && !m.startsWith("container:");
  }

  #attachRequest(record: ContainerRecord) {
    const hc = record.hostConfig;
    const networks = Object.entries(record.networks ?? { bridge: { aliases: [] } }).map(([network, e]) => ({
      network,
      aliases: e.aliases,
      ...(e.ipv4Address ? { ipv4Address: e.ipv4Address } : {}),
      ...(e.macAddress ? { macAddress: e.macAddress } : {}),
    }));
    return {
      name: record.name.slice(1),
      hostname: containerHostnameOf(record),
      ...(record.config.domainname ? { domainname: record.config.domainname } : {}),
      networks,
      portBindings: Object.fromEntries(Object.entries(hc.portBindings ?? {}).map(([p, bs]) => [p, bs.map((b) => ({ hostIp: b.hostIp, hostPort: b.hostPort }))])),
      publishAllPorts: !!hc.publishAllPorts,
      exposedPorts: record.config.exposedPorts,
      extraHosts: hc.extraHosts ?? [],
      dns: { servers: hc.dns ?? [], search: hc.dnsSearch ?? [], options: hc.dnsOptions ?? [] },
    };
  }

  // ---- start ------------------------------------------------------------------------------

  start(ref: string): Promise<boolean> {
    return timed("start", () => this.#startOp(ref));
  }

  async #startOp(ref: string): Promise<boolean> {
    const e = this.#entry(ref);
    try {
      return await e.lock.run(async () => {
        if (e.state.isRestarting) return false;
        e.restart.reset();
        return this.#startLocked(e);
      });
    } catch (err) {
      // dockerd removes an AutoRemove (--rm) container whose start failed: its client waits
      // for the removal (wait?condition=removed) before it reports the error.
      if (e.record.hostConfig.autoRemove && !e.state.isRunning) await this.remove(e.record.id, { force: true, removeVolumes: true }).catch(() => {});
      throw err;
    }
  }

  /**
   * A task restore could not reap must be gone before the container starts again or its
   * containerd container is deleted (containerd would delete the container under the task).
   */
  async #reapPending(e: Entry): Promise<void> {
    const t = e.pendingReap;
    if (!t) return;
    try {
      await t.forceDelete({ timeoutMs: 10_000 });
    } catch (err) {
      if (!isNotFound(err)) throw errConflict(`the old task of container ${e.record.id} could not be removed yet, try again: ${err instanceof Error ? err.message : String(err)}`);
    }
    e.pendingReap = undefined;
  }

  async #startLocked(e: Entry): Promise<boolean> {
    const s = e.state;
    await this.#reapPending(e);
    if (s.isRemovalInProgress || s.isDead) throw errConflict(`container is marked for removal and cannot be started`);
    if (s.isPaused) throw errConflict(`cannot start a paused container, try unpause instead`);
    if (s.isRunning && !s.isRestarting) return false;
    const container = await this.#containerHandle(e);
    e.log ??= await this.#openLog(e);
    e.hub.setSink(e.log);
    let task: Task;
    const mounts = this.#mountsOf(e.record);
    try {
      await activateContainerMounts(this.#o.volumes, e.record.id, mounts, { rootfs: e.record.rootfs!, populate: !e.record.hasBeenStartedBefore });
      if (this.#networked(e.record)) {
        const { hosts, resolvConf } = networkFilePaths(this.#containerDir(e.record.id));
        await this.#o.network!.attach(e.record.id, { ...this.#attachRequest(e.record), files: { hosts, resolvConf } });
      }
      task = await container.start({
        withStdin: e.record.config.openStdin,
        terminal: e.record.config.tty,
        attachStdio: e.hub.attachStdio,
      });
    } catch (err) {
      await this.#releaseRunResources(e);
      if (err instanceof StartError) {
        // dockerd: 127/126 from the translation; otherwise 128 unless an earlier code stands.
        s.setExitCode(err.exitCode !== 128 || s.exitCode === 0 ? err.exitCode : s.exitCode);
        s.setError(err.message);
        await this.#persist(e).catch(() => {});
      }
      throw err;
    }
    s.setRunning(container, task, true);
    e.record.hasBeenStartedBefore = true;
    e.record.hasBeenManuallyStopped = false;
    e.stopping = false;
    if (probesEnabled(e.record.config.healthcheck)) s.initHealth();
    await this.#persist(e);
    this.#emit(e, "start");
    this.#startHealth(e, task);
    return true;
  }

  /** What a run holds outside containerd: the network and volume mounts (CNI DEL, unmounts). */
  async #releaseRunResources(e: Entry): Promise<void> {
    await this.#o.network?.detach(e.record.id).catch(() => {});
    await deactivateContainerMounts(this.#o.volumes, e.record.id, this.#mountsOf(e.record)).catch(() => {});
  }

  /** The retained containerd container; recreated if containerd lost it (record without object). */
  async #containerHandle(e: Entry): Promise<Container> {
    const held = e.state.container;
    if (held) return held;
    try {
      const c = await this.#lcd.loadContainer(e.record.id, {
        ...(e.record.rootfs?.kind === "snapshot" ? { rootfsMounts: e.record.rootfs.mounts } : {}),
      });
      e.state.attachContainer(c);
      return c;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const rootfs = e.record.rootfs!;
      const c = await this.#lcd.newContainer(e.record.id, {
        spec: await this.#spec(e.record),
        rootfs: rootfs.kind === "snapshot" ? { kind: "snapshot", snapshotter: rootfs.snapshotter, key: rootfs.key, mounts: rootfs.mounts } : { kind: "path" },
        runtime: RUNTIME,
        labels: { "berth.name": e.record.name.slice(1) },
      });
      e.state.attachContainer(c);
      return c;
    }
  }

  async #openLog(e: Entry): Promise<LogWriter | undefined> {
    if (e.record.hostConfig.logConfig.type === "none") return undefined;
    return this.#o.logs.open(this.#logPath(e.record.id), e.record.hostConfig.logConfig.config);
  }

  // ---- the monitor: events → State ---------------------------------------------------------

  async processEvent(containerId: string, type: EventType, info: EventInfo): Promise<void> {
    const e = this.#index.get(containerId);
    if (!e) return;
    switch (type) {
      case "exit":
        if (info.processId === containerId) await this.#handleExit(e, info);
        else await this.#handleExecExit(e, info);
        return;
      case "oom":
        await e.lock.run(async () => {
          e.state.setOOMKilled();
          await this.#persist(e);
        });
        this.#emit(e, "oom");
        return;
      default:
        return;
    }
  }

  async #handleExit(e: Entry, info: EventInfo): Promise<void> {
    let removeAfter = false;
    await e.lock.run(async () => {
      const phase = e.state.data.phase;
      if (phase.kind !== "running" || !phase.task) return;
      // An exit of an earlier task of this container (same ID, other pid) is stale.
      if (info.pid !== 0 && phase.task.pid !== info.pid) return;
      const task = phase.task;
      e.healthStop?.abort();
      e.healthStop = undefined;
      let exitCode = info.exitCode;
      let exitedAt = info.exitedAt;
      try {
        // The one call an exit costs: reap the task (its stdio drains before this returns).
        const st = await task.delete();
        if (info.synthesized && exitCode === 255) { exitCode = st.exitCode; exitedAt = st.exitedAt ?? exitedAt; }
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      for (const x of this.#execs.ofContainer(e.record.id)) this.#execs.markExited(x.id, 137);
      await this.#releaseRunResources(e);
      const startedAt = e.state.startedAt?.getTime() ?? 0;
      const decision = e.state.isRemovalInProgress || this.#closed
        ? { restart: false as const }
        : e.restart.decide({
            exitCode,
            manuallyStopped: e.record.hasBeenManuallyStopped || e.stopping,
            runDurationMs: (exitedAt ?? this.#now()).getTime() - startedAt,
          });
      if (decision.restart) {
        e.state.setRestarting({ exitCode, ...(exitedAt ? { exitedAt } : {}) });
        e.record.restartCount = decision.restartCount;
        this.#scheduleRestart(e, decision.delayMs);
      } else {
        e.state.setStopped({ exitCode, ...(exitedAt ? { exitedAt } : {}) });
      }
      await this.#persist(e);
      this.#emit(e, "die", { exitCode: String(exitCode) });
      removeAfter = !decision.restart && e.record.hostConfig.autoRemove && !e.state.isRemovalInProgress;
    });
    if (removeAfter) await this.remove(e.record.id, { force: true, removeVolumes: true }).catch(() => {});
  }

  /** One probe loop per run: each probe an exec (3 calls), results into State, events on change. */
  #startHealth(e: Entry, task: Task): void {
    const hc = e.record.config.healthcheck;
    e.healthStop?.abort();
    e.healthStop = undefined;
    if (!probesEnabled(hc)) return;
    const stop = new AbortController();
    e.healthStop = stop;
    const interval = hc.interval || DEFAULT_PROBE_INTERVAL_MS;
    void (async () => {
      while (!stop.signal.aborted) {
        await sleep(interval, undefined, { signal: stop.signal }).catch(() => {});
        if (stop.signal.aborted || this.#closed) return;
        // dockerd probes only a running, unpaused container.
        if (e.state.isPaused) continue;
        const base = e.state.container?.spec.process;
        if (!base) return;
        const result = await runProbe(task, base, hc, this.#now);
        if (stop.signal.aborted) return;
        await e.lock.run(async () => {
          if (!e.state.isRunning || e.state.isRestarting || e.state.data.phase.kind !== "running" || e.state.data.phase.task !== task) return;
          const before = e.state.healthStatus;
          const h = e.state.recordProbeResult(result, { retries: hc.retries, startPeriodMs: hc.startPeriod });
          await this.#persist(e);
          if (h.status !== before) this.#emit(e, `health_status: ${h.status}`);
        });
      }
    })();
  }

  #scheduleRestart(e: Entry, delayMs: number): void {
    clearTimeout(e.restartTimer);
    e.restartTimer = setTimeout(() => {
      e.restartTimer = undefined;
      void e.lock.run(async () => {
        if (!e.state.isRestarting || e.restart.cancelled || this.#closed) return;
        try {
          await this.#startLocked(e);
        } catch (err) {
          // A restart that fails ends the restarting (dockerd does the same).
          e.state.setStopped({ exitCode: e.state.exitCode, error: err instanceof Error ? err.message : String(err) });
          await this.#persist(e).catch(() => {});
          this.#emit(e, "die", { exitCode: String(e.state.exitCode) });
        }
      });
    }, delayMs);
  }

  /** A container in "Restarting": stop waiting, record it stopped. Caller holds the lock. */
  async #cancelRestart(e: Entry): Promise<boolean> {
    e.restart.cancel();
    if (!e.state.isRestarting) return false;
    clearTimeout(e.restartTimer);
    e.restartTimer = undefined;
    e.state.setStopped({ exitCode: e.state.exitCode, ...(e.state.finishedAt ? { exitedAt: e.state.finishedAt } : {}) });
    await this.#persist(e);
    return true;
  }

  async #handleExecExit(e: Entry, info: EventInfo): Promise<void> {
    const x = this.#execs.get(info.processId);
    if (!x || x.containerId !== e.record.id) return;
    await x.lock.run(async () => {
      if (x.process) {
        try { await x.process.delete(); } catch (err) { if (!isNotFound(err)) throw err; }
      }
      this.#execs.markExited(x.id, info.exitCode);
    });
    this.#emit(e, "exec_die", { execID: x.id, exitCode: String(info.exitCode) });
  }

  // ---- stop, kill, restart, pause ----------------------------------------------------------

  stop(ref: string, o: StopOptions = {}): Promise<boolean> {
    return timed("stop", () => this.#stopOp(ref, o));
  }

  async #stopOp(ref: string, o: StopOptions = {}): Promise<boolean> {
    const e = this.#entry(ref);
    if (!e.state.isRunning) return false;
    e.record.hasBeenManuallyStopped = true;
    e.restart.cancel();
    if (await e.lock.run(() => this.#cancelRestart(e))) {
      this.#emit(e, "stop");
      return true;
    }
    await this.#stopEntry(e, o);
    return true;
  }

  async #stopEntry(e: Entry, o: StopOptions): Promise<void> {
    const sig = parseSignal(o.signal ?? e.record.config.stopSignal ?? "SIGTERM");
    const timeout = o.timeout ?? e.record.config.stopTimeout ?? DEFAULT_STOP_TIMEOUT;
    e.stopping = true;
    const stopped = e.state.wait("not-running");
    await e.lock.run(async () => {
      if (!e.state.isRunning) return;
      const t = e.state.runningTask();
      // A paused process cannot act on SIGTERM: dockerd sends it, the kill after the timeout ends it.
      await t.kill(sig).catch((err) => { if (!isNotFound(err)) throw err; });
    });
    this.#emit(e, "kill", { signal: String(sig) });
    if (timeout >= 0) {
      const timedOut = await Promise.race([stopped.then(() => false), sleep(timeout * 1000).then(() => true)]);
      if (timedOut && e.state.isRunning) {
        await e.lock.run(async () => {
          if (!e.state.isRunning) return;
          await e.state.runningTask().kill(SIGKILL, { all: true }).catch((err) => { if (!isNotFound(err)) throw err; });
        });
        this.#emit(e, "kill", { signal: String(SIGKILL) });
      }
    }
    await stopped;
    this.#emit(e, "stop");
  }

  kill(ref: string, signal = "SIGKILL"): Promise<void> {
    return timed("kill", () => this.#killOp(ref, signal));
  }

  async #killOp(ref: string, signal = "SIGKILL"): Promise<void> {
    const e = this.#entry(ref);
    const sig = parseSignal(signal);
    await e.lock.run(async () => {
      if (e.state.isRestarting) {
        // dockerd: killing a restarting container only stops its restarts.
        await this.#cancelRestart(e);
        return;
      }
      if (!e.state.isRunning) throw errConflict(`Container ${e.record.id} is not running`);
      // A kill is a manual stop for the restart policy, as in dockerd.
      e.record.hasBeenManuallyStopped = true;
      e.restart.cancel();
      if (sig === SIGKILL) e.stopping = true;
      await e.state.runningTask().kill(sig, sig === SIGKILL ? { all: true } : {});
    });
    this.#emit(e, "kill", { signal: String(sig) });
    if (sig === SIGKILL && e.state.isRunning) await e.state.wait("not-running");
  }

  restart(ref: string, o: StopOptions = {}): Promise<void> {
    return timed("restart", () => this.#restartOp(ref, o));
  }

  async #restartOp(ref: string, o: StopOptions = {}): Promise<void> {
    const e = this.#entry(ref);
    e.restart.cancel();
    await e.lock.run(() => this.#cancelRestart(e));
    if (e.state.isRunning) await this.#stopEntry(e, o);
    await e.lock.run(async () => {
      e.restart.reset();
      await this.#startLocked(e);
    });
    this.#emit(e, "restart");
  }

  pause(ref: string): Promise<void> {
    return timed("pause", () => this.#pauseOp(ref));
  }

  async #pauseOp(ref: string): Promise<void> {
    const e = this.#entry(ref);
    await e.lock.run(async () => {
      if (!e.state.isRunning || e.state.isRestarting) throw errConflict(`Container ${e.record.id} is not running`);
      if (e.state.isPaused) throw errConflict(`Container ${e.record.id} is already paused`);
      await e.state.runningTask().pause();
      e.state.setPaused();
      await this.#persist(e);
    });
    this.#emit(e, "pause");
  }

  unpause(ref: string): Promise<void> {
    return timed("unpause", () => this.#unpauseOp(ref));
  }

  async #unpauseOp(ref: string): Promise<void> {
    const e = this.#entry(ref);
    await e.lock.run(async () => {
      if (!e.state.isPaused) throw errConflict(`Container ${e.record.id} is not paused`);
      await e.state.runningTask().resume();
      e.state.setUnpaused();
      await this.#persist(e);
    });
    this.#emit(e, "unpause");
  }

  async wait(ref: string, condition: WaitCondition, o: { signal?: AbortSignal } = {}) {
    const e = this.#entry(ref);
    return e.state.wait(condition, o.signal ? { signal: o.signal } : {});
  }

  // ---- remove, rename, update --------------------------------------------------------------

  remove(ref: string, o: RemoveOptions = {}): Promise<void> {
    return timed("remove", () => this.#removeOp(ref, o));
  }

  async #removeOp(ref: string, o: RemoveOptions = {}): Promise<void> {
    const e = this.#entry(ref);
    const id = e.record.id;
    if (e.state.isRunning || e.state.isPaused) {
      if (!o.force) {
        const what = e.state.isPaused ? "paused" : "running";
        throw errConflict(`You cannot remove a ${what} container ${id}. ${e.state.isPaused ? "Unpause and then stop" : "Stop"} the container before attempting removal or force remove`);
      }
    }
    if (e.state.setRemovalInProgress()) throw errConflict(`removal of container ${id} is already in progress`);
    try {
      // Persisted first: a removal cut short by a crash is finished by the next restore.
      await e.lock.run(() => this.#persist(e));
      e.restart.cancel();
      await e.lock.run(() => this.#cancelRestart(e));
      if (e.state.isRunning) {
        e.stopping = true;
        const stopped = e.state.wait("not-running");
        await e.lock.run(async () => {
          if (!e.state.isRunning) return;
          await e.state.runningTask().kill(SIGKILL, { all: true }).catch((err) => { if (!isNotFound(err)) throw err; });
        });
        this.#emit(e, "kill", { signal: String(SIGKILL) });
        await stopped;
      }
      await e.lock.run(async () => {
        await this.#reapPending(e);
        const c = e.state.releaseContainer();
        if (c) await c.delete().catch((err) => { if (!isNotFound(err)) throw err; });
        else await this.#o.containerd.containers.delete(id).catch((err) => { if (!isNotFound(err)) throw err; });
        if (e.record.rootfs) await this.#o.images.removeRootfs(id, e.record.rootfs as PreparedRootfs);
        await this.#o.network?.detach(id).catch(() => {});
        await releaseContainerMounts(this.#o.volumes, id, this.#mountsOf(e.record), { removeAnonymous: !!o.removeVolumes });
        await e.log?.close();
        e.log = undefined;
        await this.#store.delete(id);
        for (const x of this.#execs.ofContainer(id)) this.#execs.delete(x.id);
        this.#names.releaseAll(id);
        this.#index.delete(id);
        e.hub.endPending();
        e.state.setRemoved();
      });
      this.#emit(e, "destroy");
    } catch (err) {
      e.state.resetRemovalInProgress();
      // The record on disk said "removal in progress": a restore would finish a removal that
      // failed and was reported as failed.
      await e.lock.run(() => this.#persist(e)).catch(() => {});
      throw err;
    }
  }

  rename(ref: string, newName: string): Promise<void> {
    return timed("rename", () => this.#renameOp(ref, newName));
  }

  async #renameOp(ref: string, newName: string): Promise<void> {
    const e = this.#entry(ref);
    if (!newName) throw errInvalidArgument("Neither old nor new names may be empty");
    if (!isValidContainerName(newName)) throw errInvalidArgument(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const oldName = e.record.name;
    await e.lock.run(async () => {
      const canonical = this.#names.rename(oldName, newName);
      if (canonical === oldName) throw errConflict(`Renaming a container with the same name as its current name`);
      e.record.name = canonical;
      await this.#o.network?.rename(e.record.id, canonical.slice(1)).catch(() => {});
      try {
        await this.#persist(e);
      } catch (err) {
        this.#names.rename(canonical, oldName);
        e.record.name = oldName;
        throw err;
      }
    });
    this.#emit(e, "rename", { oldName });
  }

  update(ref: string, o: UpdateOptions): Promise<{ warnings: string[] }> {
    return timed("update", () => this.#updateOp(ref, o));
  }

  async #updateOp(ref: string, o: UpdateOptions): Promise<{ warnings: string[] }> {
    const e = this.#entry(ref);
    const warnings: string[] = [];
    await e.lock.run(async () => {
      const before = structuredClone(e.record.hostConfig);
      const hc = e.record.hostConfig;
      if (o.resources) {
        const r = { ...hc.resources };
        for (const [k, v] of Object.entries(o.resources)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
        // dockerd: a new memory limit above the old memory+swap needs a new memory+swap too.
        if (o.resources.memory && !o.resources.memorySwap && hc.resources.memorySwap > 0 && o.resources.memory > hc.resources.memorySwap) {
          throw errConflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time");
        }
        hc.resources = r;
      }
      if (o.restartPolicy) {
        if (o.restartPolicy.name !== "no" && hc.autoRemove) throw errInvalidArgument("Restart policy cannot be updated because AutoRemove is enabled for the container");
        hc.restartPolicy = o.restartPolicy;
        e.restart.setPolicy(o.restartPolicy);
      }
      try {
        const spec = await this.#spec(e.record);
        if (e.state.isRunning && !e.state.isRestarting && o.resources) {
          await e.state.runningTask().updateResources(spec.linux?.resources ?? {}).catch((err: unknown) => {
            // The kernel refused a cgroup value (runc: `failed to write "…": … invalid argument`):
            // the client's input, in dockerd's words, not a daemon failure.
            if (isBerthError(err) && /failed to write .*(invalid argument|numerical result out of range)/i.test(err.message)) {
              throw errInvalidArgument(`Cannot update container ${e.record.id}: ${err.message}`, { cause: err });
            }
            throw err;
          });
        }
        const c = e.state.container;
        if (c) await c.updateSpec(spec);
        await this.#persist(e);
      } catch (err) {
        e.record.hostConfig = before;
        throw err;
      }
    });
    this.#emit(e, "update");
    return { warnings };
  }

  // ---- inspect, list, top, stats, resize ---------------------------------------------------

  #view(e: Entry): ContainerView {
    const s = e.state;
    const r = e.record;
    return {
      id: r.id,
      name: r.name,
      created: new Date(r.created),
      path: r.path,
      args: [...r.args],
      image: r.config.image,
      imageId: r.imageId,
      config: structuredClone(r.config),
      hostConfig: structuredClone(r.hostConfig),
      restartCount: r.restartCount,
      driver: r.driver,
      state: {
        status: s.status(),
        running: s.isRunning,
        paused: s.isPaused,
        restarting: s.isRestarting,
        oomKilled: s.isOOMKilled,
        dead: s.isDead,
        removing: s.isRemovalInProgress,
        pid: s.pid,
        exitCode: s.exitCode,
        error: s.error ?? "",
        startedAt: s.startedAt,
        finishedAt: s.finishedAt,
        health: s.health,
      },
      humanStatus: s.humanStatus(),
      rootfsPath: this.#rootfsPath(e),
      logPath: r.hostConfig.logConfig.type === "none" ? "" : this.#logPath(r.id),
      execIds: this.#execs.ofContainer(r.id).filter((x) => x.running).map((x) => x.id),
      mounts: inspectMounts(this.#mountsOf(r)),
      networks: structuredClone(r.networks ?? {}),
      networkSettings: this.#o.network?.settings(r.id),
    };
  }

  #rootfsPath(e: Entry): string | undefined {
    const fsr = e.record.rootfs;
    if (!fsr) return undefined;
    if (fsr.kind === "path") return fsr.path;
    // While a task runs, the shim has the snapshot mounted in the task's bundle.
    if (!e.state.isRunning) return undefined;
    return path.join(this.#containerdStateDir(), "io.containerd.runtime.v2.task", this.#o.containerd.namespace, e.record.id, "rootfs");
  }

  #containerdStateDir(): string {
    return this.#o.containerdStateDir ?? "/run/containerd";
  }

  inspect(ref: string): ContainerView {
    return this.#view(this.#entry(ref));
  }

  list(o: ListOptions = {}): ContainerView[] {
    const out: ContainerView[] = [];
    for (const e of this.#index.values()) if (o.all || e.state.isRunning) out.push(this.#view(e));
    return out.sort((a, b) => b.created.getTime() - a.created.getTime() || (a.id < b.id ? -1 : 1));
  }

  counts() {
    let running = 0, paused = 0, stopped = 0;
    for (const e of this.#index.values()) {
      if (e.state.isPaused) paused++;
      else if (e.state.isRunning) running++;
      else stopped++;
    }
    return { total: this.#index.size, running, paused, stopped };
  }

  async top(ref: string, psArgs?: string): Promise<TopResult> {
    const e = this.#entry(ref);
    const t = await e.lock.run(() => {
      if (!e.state.isRunning || e.state.isRestarting) throw errConflict(`Container ${e.record.id} is not running`);
      return e.state.runningTask();
    });
    const pids = (await t.pids()).map((p) => p.pid);
    return topOf(pids, psArgs);
  }

  /**
   * Stats requests that arrive together (docker stats of many containers sends one request per
   * container) are answered by ONE Tasks/Metrics call with a filter per container.
   */
  async stats(ref: string): Promise<StatsSample> {
    const e = this.#entry(ref);
    if (!e.state.isRunning) throw errConflict(`Container ${e.record.id} is not running`);
    const id = e.record.id;
    const sample = await new Promise<StatsSample>((resolve, reject) => {
      let waiters = this.#statsBatch.get(id);
      if (!waiters) this.#statsBatch.set(id, (waiters = []));
      waiters.push({ resolve, reject });
      this.#statsTimer ??= setTimeout(() => void this.#flushStats(), STATS_BATCH_MS);
    });
    const prev = e.lastStats;
    e.lastStats = { ...sample, previous: undefined };
    return { ...sample, previous: prev };
  }

  async #flushStats(): Promise<void> {
    this.#statsTimer = undefined;
    const batch = new Map(this.#statsBatch);
    this.#statsBatch.clear();
    try {
      const [metrics, systemCpuNs] = await Promise.all([
        this.#o.containerd.tasks.metricsV1([...batch.keys()].map((id) => `id==${id}`)),
        readSystemCpuNs(),
      ]);
      const read = this.#now();
      const total = os.totalmem();
      const onlineCpus = os.availableParallelism();
      for (const [id, waiters] of batch) {
        const m = metrics.get(id);
        if (!m) {
          for (const w of waiters) w.reject(errConflict(`Container ${id} is not running`));
          continue;
        }
        const stats = statsFromCgroupsV1(m, read);
        // No memory limit reads as the cgroup's "unlimited" (2^63): dockerd reports the host's memory.
        if (stats.memory.limit === 0 || stats.memory.limit > total) stats.memory.limit = total;
        for (const w of waiters) w.resolve({ read, previous: undefined, stats, systemCpuNs, onlineCpus });
      }
    } catch (err) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
    }
  }

  async resize(ref: string, width: number, height: number): Promise<void> {
    const e = this.#entry(ref);
    if (!e.state.isRunning || e.state.isRestarting) throw errConflict(`Container ${e.record.id} is not running`);
    await e.state.runningTask().resize(width, height);
  }

  // ---- attach and logs ---------------------------------------------------------------------

  async attach(ref: string, o: AttachOptions): Promise<void> {
    const e = this.#entry(ref);
    if (o.logs) {
      for await (const rec of this.logs(ref, { stdout: !!o.stdout, stderr: !!o.stderr, ...(o.signal ? { signal: o.signal } : {}) })) {
        (rec.stream === "stdout" ? o.stdout : o.stderr)?.(rec.line);
      }
    }
    if (o.stream === false) return;
    if (e.state.isRemovalInProgress) throw errConflict(`container ${e.record.id} is being removed`);
    await e.hub.attach(
      { ...(o.stdin ? { stdin: o.stdin } : {}), ...(o.stdout ? { stdout: o.stdout } : {}), ...(o.stderr ? { stderr: o.stderr } : {}) },
      o.signal,
    );
  }

  async *logs(ref: string, o: LogOptions): AsyncIterable<LogEntry> {
    const e = this.#entry(ref);
    if (e.record.hostConfig.logConfig.type === "none") {
      throw errInvalidArgument(`configured logging driver does not support reading`);
    }
    const done = e.state.isRunning ? e.state.wait("not-running").then(() => undefined) : Promise.resolve();
    yield* this.#o.logs.read(this.#logPath(e.record.id), e.record.hostConfig.logConfig.config, { ...o, done });
  }

  // ---- exec ---------------------------------------------------------------------------------

  async execCreate(ref: string, o: ExecCreateOptions): Promise<string> {
    const e = this.#entry(ref);
    if (!e.state.isRunning) throw errConflict(`Container ${e.record.id} is not running`);
    if (e.state.isPaused) throw errConflict(`Container ${e.record.id} is paused, unpause the container before exec`);
    if (e.state.isRestarting) throw errConflict(`Container ${e.record.id} is restarting, wait until the container is running`);
    if (o.cmd.length === 0) throw errInvalidArgument("No exec command specified");
    const x = this.#execs.create(e.record.id, o);
    this.#emit(e, "exec_create: " + o.cmd.join(" "), { execID: x.id });
    return x.id;
  }

  execStart(execId: string, o: ExecStartOptions): Promise<void> {
    return timed("execStart", () => this.#execStartOp(execId, o));
  }

  async #execStartOp(execId: string, o: ExecStartOptions): Promise<void> {
    const x = this.#execs.get(execId);
    if (!x) throw errNotFound(`No such exec instance: ${execId}`);
    const e = this.#index.get(x.containerId);
    if (!e) throw errNotFound(`No such container: ${x.containerId}`);
    let output: Promise<void> = Promise.resolve();
    await x.lock.run(async () => {
      if (x.started) throw errConflict(`Error: Exec command ${execId} has already run`);
      x.started = true;
      const task = await e.lock.run(() => {
        if (!e.state.isRunning || e.state.isRestarting) throw errConflict(`Container ${e.record.id} is not running`);
        if (e.state.isPaused) throw errConflict(`Container ${e.record.id} is paused, unpause the container before exec`);
        return e.state.runningTask();
      });
      const spec = await this.#execProcessSpec(e, x);
      const tty = o.tty ?? x.config.tty ?? false;
      const hub = new StreamHub({ onStdinEnd: (io) => io.closeStdin() });
      if (!o.detach) {
        output = hub.attach({
          ...(o.stdin && x.config.attachStdin ? { stdin: o.stdin } : {}),
          ...(o.stdout && x.config.attachStdout !== false ? { stdout: o.stdout } : {}),
          ...(o.stderr && x.config.attachStderr !== false ? { stderr: o.stderr } : {}),
        }, o.signal);
      }
      try {
        x.process = await task.exec(x.id, { ...spec, terminal: tty }, {
          withStdin: !!x.config.attachStdin,
          terminal: tty,
          attachStdio: (io) => {
            if (!o.detach) hub.attachStdio(io);
            else { io.stdout?.resume(); io.stderr?.resume(); }
          },
        });
      } catch (err) {
        x.running = false;
        x.exitCode = err instanceof StartError ? 126 : 126;
        throw err;
      }
      x.running = true;
      x.pid = x.process.pid;
      if (o.consoleSize && tty) await x.process.resize(o.consoleSize.width, o.consoleSize.height).catch(() => {});
    });
    this.#emit(e, "exec_start: " + x.config.cmd.join(" "), { execID: x.id });
    if (o.detach) return;
    await output;
    // The exit is recorded by the monitor; the client reads the code right after (exec inspect).
    await x.exited;
  }

  async #execProcessSpec(e: Entry, x: ExecInstance) {
    const c = e.state.container!;
    const base = c.spec.process!;
    let user = base.user;
    if (x.config.user) {
      const rootfs = e.record.rootfs as PreparedRootfs;
      const needFiles = !/^\d+(:\d+)?$/.test(x.config.user);
      const [passwd, group] = needFiles ? await Promise.all([readRootfsFile(rootfs, "etc/passwd"), readRootfsFile(rootfs, "etc/group")]) : [undefined, undefined];
      const u = resolveUser(x.config.user, passwd, group);
      user = { uid: u.uid, gid: u.gid, ...(u.additionalGids.length ? { additionalGids: u.additionalGids } : {}) };
    }
    return {
      ...base,
      args: x.config.cmd,
      env: mergeEnv(base.env ?? [], x.config.env ?? []),
      cwd: x.config.workingDir || base.cwd || "/",
      user,
      terminal: !!x.config.tty,
    };
  }

  execInspect(execId: string): ExecView {
    const x = this.#execs.get(execId);
    if (!x) throw errNotFound(`No such exec instance: ${execId}`);
    return this.#execs.view(x);
  }

  async execResize(execId: string, width: number, height: number): Promise<void> {
    const x = this.#execs.get(execId);
    if (!x) throw errNotFound(`No such exec instance: ${execId}`);
    if (!x.process || !x.running) throw errConflict(`Exec ${execId} is not running`);
    await x.process.resize(width, height);
  }

  // ---- networks ---------------------------------------------------------------------------------

  async connectNetwork(ref: string, network: string, o: { aliases?: string[]; ipv4Address?: string } = {}): Promise<void> {
    const e = this.#entry(ref);
    const mgr = this.#o.network;
    if (!mgr) throw errInvalidArgument("networking is disabled (bridge none)");
    if (!this.#networked(e.record)) throw errInvalidArgument(`container sharing network namespace with another container or host cannot be connected to any other network (mode ${e.record.hostConfig.networkMode})`);
    const net = mgr.inspectNetwork(network);
    await e.lock.run(async () => {
      const networks = { ...(e.record.networks ?? {}) };
      if (networks[net.name]) throw errConflict(`endpoint with name ${e.record.name.slice(1)} already exists in network ${net.name}`);
      const entry = { aliases: o.aliases ?? [], ...(o.ipv4Address ? { ipv4Address: o.ipv4Address } : {}) };
      if (e.state.isRunning && !e.state.isRestarting) {
        await mgr.connect(e.record.id, { network: net.name, aliases: entry.aliases, ...(entry.ipv4Address ? { ipv4Address: entry.ipv4Address } : {}) });
      }
      networks[net.name] = entry;
      e.record.networks = networks;
      await this.#persist(e);
    });
    this.#events.publish({ type: "network", action: "connect", id: net.id, attributes: { container: e.record.id, name: net.name, type: net.driver } });
  }

  async disconnectNetwork(ref: string, network: string): Promise<void> {
    const e = this.#entry(ref);
    const mgr = this.#o.network;
    if (!mgr) throw errInvalidArgument("networking is disabled (bridge none)");
    const net = mgr.inspectNetwork(network);
    await e.lock.run(async () => {
      const networks = { ...(e.record.networks ?? {}) };
      if (!networks[net.name]) throw errNotFound(`container ${e.record.id} is not connected to network ${net.name}`);
      if (e.state.isRunning && !e.state.isRestarting) await mgr.disconnect(e.record.id, net.name);
      delete networks[net.name];
      e.record.networks = networks;
      await this.#persist(e);
    });
    this.#events.publish({ type: "network", action: "disconnect", id: net.id, attributes: { container: e.record.id, name: net.name, type: net.driver } });
  }

  /** Whether any container (running or not) is configured on the network (it cannot be removed). */
  networkInUse(name: string): boolean {
    for (const e of this.#index.values()) if (e.record.networks?.[name]) return true;
    return false;
  }

  // ---- events, archive -------------------------------------------------------------------------

  events(q: EventQuery): AsyncIterable<EngineEvent> {
    return this.#events.subscribe(q);
  }

  get eventBus(): EventBus {
    return this.#events;
  }

  async statPath(ref: string, p: string): Promise<PathStat> {
    const e = this.#entry(ref);
    return archiveOps(this.#rootfsOf(e)).stat(p);
  }

  async getArchive(ref: string, p: string) {
    const e = this.#entry(ref);
    return archiveOps(this.#rootfsOf(e)).get(p);
  }

  async putArchive(ref: string, p: string, tar: import("node:stream").Readable, o: { noOverwriteDirNonDir?: boolean } = {}) {
    const e = this.#entry(ref);
    if (e.record.hostConfig.readonlyRootfs) throw errConflict("container rootfs is marked read-only");
    await archiveOps(this.#rootfsOf(e)).put(p, tar, o);
  }

  #rootfsOf(e: Entry): string {
    const p = this.#rootfsPath(e);
    if (!p) throw errConflict(`container ${e.record.id} is not running: copying files needs a running container for now`);
    return p;
  }

  // ---- restore --------------------------------------------------------------------------------

  /**
   * berthd start: every record from the store, then ONE Containers/List and ONE Tasks/List for
   * the whole namespace. Running tasks are re-attached (state, stdio, logs); an exit that
   * happened while berthd was down is recorded with its real code; containerd objects without
   * a record are removed.
   */
  async restore(): Promise<RestoreReport> {
    const { records, problems } = await this.#store.loadAll();
    const loaded = await this.#lcd.loadAll();
    const byId = new Map(loaded.map((l) => [l.container.id, l]));
    const report: RestoreReport = { containers: 0, running: 0, exitedWhileDown: 0, orphansRemoved: [], problems };
    const recordIds = new Set(records.map((r) => r.id));
    // Creates a crash cut short: remove what they made (the client never got an ID).
    const intents = await fs.readdir(path.join(this.#o.root, "creating")).catch(() => [] as string[]);
    for (const id of intents) {
      if (!recordIds.has(id)) {
        const l = byId.get(id);
        byId.delete(id);
        if (l) report.orphansRemoved.push(id);
        this.#cleanUp(id, async () => {
          if (l) await this.#removeContainerdObjects(l);
          await this.#o.images.removeRootfsOf(id);
          await fs.rm(path.join(this.#o.root, "containers", id), { recursive: true, force: true });
          await this.#intent(id, "remove");
        });
        continue;
      }
      await this.#intent(id, "remove");
    }
    for (const record of records) {
      if (record.state.removalInProgress) {
        // A removal a crash cut short: finish it.
        const l = byId.get(record.id);
        byId.delete(record.id);
        report.orphansRemoved.push(record.id);
        this.#cleanUp(record.id, async () => {
          if (l) await this.#removeContainerdObjects(l);
          if (record.rootfs) await this.#o.images.removeRootfs(record.id, record.rootfs as PreparedRootfs);
          await releaseContainerMounts(this.#o.volumes, record.id, this.#mountsOf(record), { removeAnonymous: false });
          await this.#store.delete(record.id);
        });
        continue;
      }
      try {
        this.#names.reserve(record.name, record.id);
      } catch {
        record.name = this.#names.reserveGenerated(record.id);
      }
      const e = this.#newEntry(record);
      this.#index.add(record.id, e);
      report.containers++;
      const l = byId.get(record.id);
      byId.delete(record.id);
      if (!l) {
        // containerd lost it (its state wiped): the record stays; start recreates the object.
        if (e.state.isRunning) {
          e.state.setStopped({ exitCode: 255, error: "the container's task was lost while berthd was down" });
          await this.#persist(e);
        }
        continue;
      }
      const t = l.task;
      const live = !!t && (t.status === TaskStatus.RUNNING || t.status === TaskStatus.PAUSED || t.status === TaskStatus.PAUSING);
      // Volume references come back from the records (dockerd keeps them in memory only).
      for (const p of await restoreContainerMounts(this.#o.volumes, record.id, this.#mountsOf(record), { running: live })) {
        report.problems.push({ path: this.#containerDir(record.id), reason: "unreadable", message: `volumes: ${p}` } as RestoreReport["problems"][number]);
      }
      if (live) {
        e.log = await this.#openLog(e);
        e.hub.setSink(e.log);
        const task = await l.container.attachTask({ attachStdio: e.hub.attachStdio });
        e.state.setRunning(l.container, task, !record.state.startedAt);
        if (t.status !== TaskStatus.RUNNING) e.state.setPaused();
        report.running++;
        await this.#persist(e);
        this.#startHealth(e, task);
      } else {
        const wasRunning = record.state.running;
        // Keep the handle (so rm deletes it) and reap a stopped task for its real exit code.
        e.state.attachContainer(l.container);
        let exitCode = record.state.exitCode;
        let exitedAt: Date | undefined = record.state.finishedAt ? new Date(record.state.finishedAt) : undefined;
        if (t) {
          const task = await l.container.task();
          try {
            // Bounded: a task whose shim does not answer (status unknown, e.g. its creation was
            // cut short) must not hold the whole daemon's start-up.
            const st = await task.delete({ timeoutMs: RESTORE_REAP_TIMEOUT_MS });
            exitCode = t.status === TaskStatus.STOPPED ? t.exitStatus : st.exitCode;
            exitedAt = t.exitedAt ?? st.exitedAt;
          } catch (err) {
            if (!isNotFound(err)) {
              report.problems.push({ path: this.#containerDir(record.id), reason: "unreadable", message: `task could not be reaped: ${err instanceof Error ? err.message : String(err)}` } as RestoreReport["problems"][number]);
              if (wasRunning) exitCode = 255;
              e.pendingReap = task;
            }
          }
        } else if (wasRunning) {
          exitCode = 255;
        }
        if (wasRunning) {
          e.state.setStopped({ exitCode, ...(exitedAt ? { exitedAt } : {}) });
          report.exitedWhileDown++;
          await this.#persist(e);
          this.#emit(e, "die", { exitCode: String(exitCode) });
        }
      }
    }
    // Networks and mounts of containers that are gone or not running (CNI DEL, netns, leases).
    if (this.#o.network) {
      const liveIds = [...this.#index.values()].filter((e) => e.state.isRunning && !e.state.isRestarting).map((e) => e.record.id);
      await this.#o.network.reconcile(liveIds);
    }
    await this.#o.volumes.unmountIdle();
    // Containers whose policy says so start with the daemon (a restarting one, too).
    for (const e of this.#index.values()) {
      if (e.state.isRunning && !e.state.isRestarting) continue;
      if (!startsWithDaemon(e.record.hostConfig.restartPolicy, { manuallyStopped: e.record.hasBeenManuallyStopped, exitCode: e.state.exitCode })) {
        if (e.state.isRestarting) await e.lock.run(() => this.#cancelRestart(e));
        continue;
      }
      await e.lock.run(async () => {
        try {
          await this.#startLocked(e);
          report.restarted = (report.restarted ?? 0) + 1;
        } catch (err) {
          e.state.setStopped({ exitCode: e.state.exitCode, error: err instanceof Error ? err.message : String(err) });
          await this.#persist(e).catch(() => {});
        }
      });
    }
    // containerd objects in berth's namespace that no record explains.
    for (const [id, l] of byId) {
      report.orphansRemoved.push(id);
      this.#cleanUp(id, async () => {
        await this.#removeContainerdObjects(l);
        if (l.container.record.snapshotKey) {
          await this.#o.containerd.snapshots.rpc.remove({ snapshotter: l.container.record.snapshotter, key: l.container.record.snapshotKey }).catch((err) => { if (!isNotFound(err)) throw err; });
        }
      });
    }
    return report;
  }

  /** Task first, then the container: containerd would delete a container under a live task. */
  async #removeContainerdObjects(l: { container: Container; task: unknown }): Promise<void> {
    if (l.task) {
      try {
        await (await l.container.task()).forceDelete({ timeoutMs: RESTORE_REAP_TIMEOUT_MS });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    await l.container.delete().catch((err) => { if (!isNotFound(err)) throw err; });
  }

  /**
   * Cleanup of what a crash left (restore): in the background, so a shim that does not answer
   * never holds the daemon's start-up, retried with backoff until it succeeds (about 2 minutes).
   */
  #cleanUp(id: string, job: () => Promise<void>): void {
    const p = (async () => {
      for (let attempt = 0, delay = 500; attempt < 12 && !this.#closed; attempt++, delay = Math.min(delay * 2, 15_000)) {
        try {
          await job();
          return;
        } catch (err) {
          cleanupChannel.publish({ id, attempt, error: err });
          await sleep(delay);
        }
      }
    })();
    this.#cleanups.add(p);
    void p.finally(() => this.#cleanups.delete(p));
  }

  /** Resolves when the restore's background cleanups are done (tests, shutdown). */
  async cleanupsDone(): Promise<void> {
    while (this.#cleanups.size > 0) await Promise.all([...this.#cleanups]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const e of this.#index.values()) {
      clearTimeout(e.restartTimer);
      e.healthStop?.abort();
    }
    // Live restore: containers keep running; only our ends of their stdio and logs close.
    await this.#lcd.close();
    for (const e of this.#index.values()) await e.log?.close().catch(() => {});
  }
}

function mergeImageConfig(c: CreateOptions["config"], image: ResolvedImage) {
  const ic = image.config;
  const userEnv = c.env ?? [];
  const keys = new Set(userEnv.map((v) => v.split("=")[0]));
  const env = [...(ic.env ?? []).filter((v) => !keys.has(v.split("=")[0])), ...userEnv];
  // dockerd: an entrypoint given by the user resets the image's cmd.
  const entrypoint = c.entrypoint && c.entrypoint.length > 0 ? c.entrypoint : c.entrypoint ? [] : ic.entrypoint ?? [];
  const cmd = c.cmd && c.cmd.length > 0 ? c.cmd : c.entrypoint && c.entrypoint.length > 0 ? [] : ic.cmd ?? [];
  return containerConfig({
    ...c,
    image: c.image,
    env,
    entrypoint,
    cmd,
    workingDir: c.workingDir || ic.workingDir || "",
    user: c.user || ic.user || "",
    labels: { ...(ic.labels ?? {}), ...(c.labels ?? {}) },
    exposedPorts: [...new Set([...(ic.exposedPorts ?? []), ...(c.exposedPorts ?? [])])],
    volumes: [...new Set([...(ic.volumes ?? []), ...(c.volumes ?? [])])],
    ...(c.healthcheck ?? ic.healthcheck ? { healthcheck: c.healthcheck ?? ic.healthcheck! } : {}),
    ...(c.stopSignal ?? ic.stopSignal ? { stopSignal: c.stopSignal ?? ic.stopSignal! } : {}),
  });
}

function toRootfsRecord(r: PreparedRootfs): RootfsRecord {
  return r.kind === "path" ? { kind: "path", path: r.path } : { kind: "snapshot", snapshotter: r.snapshotter, key: r.key, mounts: r.mounts.map((m) => ({ ...m, options: [...m.options] })) };
}

export type { Process };
