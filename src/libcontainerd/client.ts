import diagnosticsChannel from "node:diagnostics_channel";
import fs from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import {
  createContainerdClient,
  errInvalidArgument,
  errUnavailable,
  isBerthError,
  runcOptionsToAny,
  TaskStatus,
  timestampToDate,
  type ContainerdClient,
  type ContainerdEvent,
  type ContainerdVersion,
  type RpcOptions,
  type taskEventsPb,
} from "../containerd/index.js";
import { ContainerImpl, ProcessImpl, TaskImpl, taskStateOf, UNKNOWN_EXIT, type ClientCore } from "./handles.js";
import { FifoPool } from "./stdio.js";
import { KeyedLock } from "../base/lock.js";
import type {
  Backend,
  Client,
  Container,
  EventInfo,
  EventType,
  LoadedContainer,
  LoadOptions,
  NewContainerOptions,
} from "./types.js";

/** Published on each event-stream state change: `{ namespace, state, error? }`. */
export const eventStreamChannel = diagnosticsChannel.channel("berth:libcontainerd:events");
/** Published when a backend fails to process an event: `{ containerId, type, error }`. */
export const backendErrorChannel = diagnosticsChannel.channel("berth:libcontainerd:backend-error");

export interface ClientOptions {
  /** An existing containerd client, or an address to dial. */
  containerd: ContainerdClient | { address: string; namespace: string; timeoutMs?: number };
  /** Root of the per-container FIFO directories (`<stateDir>/<containerId>/`). */
  stateDir: string;
  /** Receives task events; without it no event stream is opened. */
  backend?: Backend;
  /**
   * The event types the backend acts on (default: all). The subscription asks containerd for
   * these topics only, so the others are neither sent nor decoded: an exec that raises
   * exec-added, exec-started and exit costs one event when only exits matter.
   */
  eventTypes?: readonly EventType[];
  /** Resubscribe backoff bounds, ms (default 100 → 2000). */
  resubscribeMinMs?: number;
  resubscribeMaxMs?: number;
}

const DEFAULT_RUNTIME = "io.containerd.runc.v2";
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}$/;

/** containerd's topic of each event type. */
const topicOf: Record<EventType, string> = {
  create: "/tasks/create",
  start: "/tasks/start",
  exit: "/tasks/exit",
  oom: "/tasks/oom",
  "exec-added": "/tasks/exec-added",
  "exec-started": "/tasks/exec-started",
  paused: "/tasks/paused",
  resumed: "/tasks/resumed",
  delete: "/tasks/delete",
};

const typeByEvent: Record<string, EventType> = {
  "containerd.events.TaskCreate": "create",
  "containerd.events.TaskStart": "start",
  "containerd.events.TaskExit": "exit",
  "containerd.events.TaskOOM": "oom",
  "containerd.events.TaskExecAdded": "exec-added",
  "containerd.events.TaskExecStarted": "exec-started",
  "containerd.events.TaskPaused": "paused",
  "containerd.events.TaskResumed": "resumed",
  "containerd.events.TaskDelete": "delete",
};

interface Tracked {
  container?: ContainerImpl;
  task?: TaskImpl;
  execs: Map<string, ProcessImpl>;
}

class ClientImpl implements Client, ClientCore {
  readonly containerd: ContainerdClient;
  readonly stateDir: string;
  readonly fifos = new FifoPool();
  readonly #ownsConnection: boolean;
  readonly #backend: Backend | undefined;
  readonly #eventTypes: readonly EventType[] | undefined;
  readonly #queue = new KeyedLock();
  readonly #tracked = new Map<string, Tracked>();
  /** Exits already delivered, keyed container/process/pid: containerd may repeat one. */
  readonly #deliveredExits = new Map<string, true>();
  readonly #stop = new AbortController();
  readonly #minBackoff: number;
  readonly #maxBackoff: number;
  #eventLoop: Promise<void> | undefined;
  #streamUp = false;
  #closed = false;

  constructor(o: ClientOptions) {
    if ("counter" in o.containerd) {
      this.containerd = o.containerd;
      this.#ownsConnection = false;
    } else {
      this.containerd = createContainerdClient(o.containerd);
      this.#ownsConnection = true;
    }
    this.stateDir = o.stateDir;
    this.#backend = o.backend;
    this.#eventTypes = o.eventTypes;
    this.#minBackoff = o.resubscribeMinMs ?? 100;
    this.#maxBackoff = o.resubscribeMaxMs ?? 2000;
    if (this.#backend) this.#eventLoop = this.#runEvents();
  }

  get namespace(): string {
    return this.containerd.namespace;
  }
  get eventsLive(): boolean {
    return this.#streamUp;
  }
  /** Events queued for the backend and not yet processed. */
  get queueDepth(): number {
    return this.#queue.depth;
  }

  #assertOpen(): void {
    if (this.#closed) throw errUnavailable("libcontainerd client is closed");
  }

  #track(id: string): Tracked {
    let t = this.#tracked.get(id);
    if (!t) this.#tracked.set(id, (t = { execs: new Map() }));
    return t;
  }

  registerTask(t: TaskImpl): void {
    this.#track(t.containerId).task = t;
  }
  registerExec(p: ProcessImpl): void {
    this.#track(p.containerId).execs.set(p.id, p);
  }
  forgetProcess(p: ProcessImpl): void {
    const t = this.#tracked.get(p.containerId);
    if (!t) return;
    if (t.task === p) t.task = undefined;
    else if (t.execs.get(p.id) === p) t.execs.delete(p.id);
  }
  forgetContainer(id: string): void {
    this.#tracked.delete(id);
  }

  async version(o?: RpcOptions): Promise<ContainerdVersion> {
    this.#assertOpen();
    return this.containerd.version.version(o);
  }

  async newContainer(id: string, o: NewContainerOptions): Promise<Container> {
    this.#assertOpen();
    if (!ID_RE.test(id)) throw errInvalidArgument(`invalid container ID ${JSON.stringify(id)}`);
    const rootfs = o.rootfs ?? { kind: "path" };
    if (rootfs.kind === "path" && !o.spec.root?.path?.startsWith("/")) {
      throw errInvalidArgument("a directory rootfs needs an absolute spec.root.path");
    }
    const record = await this.containerd.containers.create(
      {
        id,
        spec: o.spec,
        runtime: {
          name: o.runtime ?? DEFAULT_RUNTIME,
          ...(o.runcOptions ? { options: runcOptionsToAny(o.runcOptions) } : {}),
        },
        ...(o.labels ? { labels: o.labels } : {}),
        ...(o.image ? { image: o.image } : {}),
        ...(rootfs.kind === "snapshot" ? { snapshotter: rootfs.snapshotter, snapshotKey: rootfs.key } : {}),
      },
      o,
    );
    const c = new ContainerImpl(this, record, {
      spec: o.spec,
      ...(rootfs.kind === "snapshot" && rootfs.mounts ? { rootfsMounts: rootfs.mounts } : {}),
    });
    this.#track(id).container = c;
    return c;
  }

  async loadContainer(id: string, o?: LoadOptions): Promise<Container> {
    this.#assertOpen();
    const record = await this.containerd.containers.get(id, o);
    const c = new ContainerImpl(this, record, o);
    this.#track(id).container = c;
    return c;
  }

  async loadAll(o?: RpcOptions): Promise<LoadedContainer[]> {
    this.#assertOpen();
    const [records, tasks] = await Promise.all([
      this.containerd.containers.list([], o),
      this.containerd.tasks.rpc.list({}, o),
    ]);
    const byId = new Map(tasks.tasks.map((t) => [t.id, taskStateOf(t)]));
    return records.map((record) => {
      const container = new ContainerImpl(this, record);
      container.loadedTask = byId.get(record.id);
      this.#track(record.id).container = container;
      return { container, task: byId.get(record.id) };
    });
  }

  // ---- events -------------------------------------------------------------------------------

  async #runEvents(): Promise<void> {
    // containerd sends an event that matches any one of the filters.
    const filters = this.#eventTypes
      ? this.#eventTypes.map((t) => `namespace==${this.namespace},topic=="${topicOf[t]}"`)
      : [`namespace==${this.namespace},topic~="^/tasks/"`];
    let backoff = this.#minBackoff;
    let first = true;
    while (!this.#closed) {
      const attempt = new AbortController();
      const onStop = () => attempt.abort();
      this.#stop.signal.addEventListener("abort", onStop, { once: true });
      try {
        const it = this.containerd.events.subscribe(filters, attempt.signal)[Symbol.asyncIterator]();
        const firstEvent = it.next();
        firstEvent.catch(() => {});
        // After a break, events of the gap are gone for good: one Tasks/List tells which
        // known processes ended meanwhile (moby loses those exits).
        if (!first) await this.#reconcile();
        this.#streamUp = true;
        eventStreamChannel.publish({ namespace: this.namespace, state: "up" });
        backoff = this.#minBackoff;
        first = false;
        for (let r = await firstEvent; !r.done; r = await it.next()) this.#dispatch(r.value);
        throw errUnavailable("event stream ended");
      } catch (e) {
        this.#streamUp = false;
        if (this.#closed) break;
        first = false;
        eventStreamChannel.publish({ namespace: this.namespace, state: "down", error: e });
        attempt.abort();
        await sleep(backoff, undefined, { signal: this.#stop.signal }).catch(() => {});
        backoff = Math.min(backoff * 2, this.#maxBackoff);
      } finally {
        this.#stop.signal.removeEventListener("abort", onStop);
      }
    }
  }

  async #reconcile(): Promise<void> {
    const list = await this.containerd.tasks.rpc.list({});
    const states = new Map(list.tasks.map((t) => [t.id, t]));
    for (const [containerId, t] of this.#tracked) {
      const task = t.task;
      const st = states.get(containerId);
      if (task && !task.hasExited && !task.deleted) {
        if (!st || st.pid !== task.pid) {
          this.#exit(containerId, containerId, task.pid, UNKNOWN_EXIT, undefined, true);
        } else if (st.status === TaskStatus.STOPPED) {
          this.#exit(containerId, containerId, task.pid, st.exitStatus, st.exitedAt ? timestampToDate(st.exitedAt) : undefined, true);
        }
      }
      for (const p of t.execs.values()) {
        if (p.hasExited || p.deleted) continue;
        const taskGone = !st || st.status === TaskStatus.STOPPED || (task && st.pid !== task.pid);
        if (taskGone) {
          // The init died, so the kernel killed the rest of its pid namespace.
          this.#exit(containerId, p.id, p.pid, UNKNOWN_EXIT, undefined, true);
          continue;
        }
        // An exec of a running task: Tasks/List does not list execs, so ask for this one.
        try {
          const g = await this.containerd.tasks.rpc.get({ containerId, execId: p.id });
          const ps = g.process!;
          if (ps.status === TaskStatus.STOPPED) {
            this.#exit(containerId, p.id, p.pid, ps.exitStatus, ps.exitedAt ? timestampToDate(ps.exitedAt) : undefined, true);
          }
        } catch (e) {
          if (isBerthError(e, "not-found")) this.#exit(containerId, p.id, p.pid, UNKNOWN_EXIT, undefined, true);
          else throw e;
        }
      }
    }
  }

  #dispatch(ev: ContainerdEvent): void {
    const msg = ev.event;
    if (!msg) return;
    const type = typeByEvent[msg.$typeName];
    if (!type) return;
    // Every /tasks/ payload has containerId; the rest depends on the type.
    const e = msg as unknown as { containerId?: string; id?: string; execId?: string; pid?: number; exitStatus?: number; exitedAt?: taskEventsPb.TaskExit["exitedAt"] };
    const containerId = e.containerId ?? "";
    if (type === "exit") {
      const exitedAt = e.exitedAt ? timestampToDate(e.exitedAt) : ev.timestamp;
      this.#exit(containerId, e.id || containerId, e.pid ?? 0, e.exitStatus ?? UNKNOWN_EXIT, exitedAt, false);
      return;
    }
    const info: EventInfo = {
      containerId,
      processId: e.execId || e.id || containerId,
      pid: e.pid ?? 0,
      exitCode: e.exitStatus ?? 0,
      exitedAt: e.exitedAt ? timestampToDate(e.exitedAt) : undefined,
    };
    this.#deliver(containerId, type, info);
  }

  /** Routes an exit to its handle at once, and to the backend in the container's order. */
  #exit(containerId: string, processId: string, pid: number, exitCode: number, exitedAt: Date | undefined, synthesized: boolean): void {
    const key = `${containerId}\0${processId}\0${pid}`;
    if (this.#deliveredExits.has(key)) return;
    this.#deliveredExits.set(key, true);
    if (this.#deliveredExits.size > 2_000) {
      for (const k of this.#deliveredExits.keys()) { this.#deliveredExits.delete(k); if (this.#deliveredExits.size <= 1_000) break; }
    }
    const t = this.#tracked.get(containerId);
    const proc = processId === containerId ? t?.task : t?.execs.get(processId);
    if (proc && (proc.pid === pid || pid === 0 || proc.pid === 0)) proc.markExited({ exitCode, exitedAt });
    this.#deliver(containerId, "exit", { containerId, processId, pid, exitCode, exitedAt, ...(synthesized ? { synthesized } : {}) });
  }

  #deliver(containerId: string, type: EventType, info: EventInfo): void {
    const backend = this.#backend;
    if (!backend) return;
    void this.#queue.run(containerId, async () => {
      try {
        await backend.processEvent(containerId, type, info);
      } catch (error) {
        backendErrorChannel.publish({ containerId, type, error });
      }
    });
  }

  /** Resolves when every queued event has been processed by the backend. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    await this.#eventLoop;
    // Live restore: processes go on; only our ends of their FIFOs close, the files stay.
    for (const t of this.#tracked.values()) {
      t.task?.io?.detach();
      for (const p of t.execs.values()) p.io?.detach();
    }
    this.#tracked.clear();
    if (this.#ownsConnection) await this.containerd.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export interface LibcontainerdClient extends Client {
  /** Events queued for the backend and not yet processed. */
  readonly queueDepth: number;
  /** True while the event stream is subscribed. */
  readonly eventsLive: boolean;
  /** Resolves when every queued event has been processed. */
  idle(): Promise<void>;
}

export async function createClient(o: ClientOptions): Promise<LibcontainerdClient> {
  await fs.mkdir(o.stateDir, { recursive: true, mode: 0o700 });
  return new ClientImpl(o);
}
