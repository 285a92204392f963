import fs from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import {
  BerthError,
  checkpointOptionsToAny,
  containerSpec,
  errFailedPrecondition,
  errNotFound,
  isBerthError,
  isNotFound,
  jsonAny,
  LINUX_RESOURCES_TYPE_URL,
  processToAny,
  runcOptionsFromAny,
  runcOptionsPb,
  runcOptionsToAny,
  TaskStatus,
  timestampToDate,
  type ContainerdClient,
  type ContainerRecord,
  type ExitStatus,
  type LinuxResources,
  type Process as OciProcess,
  type RpcOptions,
  type Spec,
  type TaskProcess,
} from "../containerd/index.js";
import { fromBinary } from "@bufbuild/protobuf";
import { statsFromMetrics } from "./stats.js";
import { NO_FIFOS, ProcessIO, type FifoPool } from "./stdio.js";
import { translateStartError } from "./start-errors.js";
import type {
  AttachStdio,
  Container,
  LoadOptions,
  Process,
  ProcessSummary,
  RootfsMount,
  StartOptions,
  StdioOptions,
  Task,
  TaskState,
  TaskStats,
} from "./types.js";

/** What handles need from their client: the connection, the FIFO root, exit routing. */
export interface ClientCore {
  readonly containerd: ContainerdClient;
  readonly stateDir: string;
  /** Exec output FIFOs kept for reuse, per container directory. */
  readonly fifos: FifoPool;
  /** True while an event stream delivers exits (else exits are learnt with Tasks/Wait). */
  readonly eventsLive: boolean;
  registerTask(t: TaskImpl): void;
  registerExec(p: ProcessImpl): void;
  forgetProcess(p: ProcessImpl): void;
  forgetContainer(id: string): void;
}

const UNKNOWN_EXIT = 255;

class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (v: T) => void;
  settled = false;
  constructor() {
    this.promise = new Promise<T>((r) => { this.resolve = (v) => { if (!this.settled) { this.settled = true; r(v); } }; });
  }
}

export function taskStateOf(p: TaskProcess): TaskState {
  return {
    pid: p.pid,
    status: p.status,
    exitStatus: p.exitStatus,
    exitedAt: p.exitedAt ? timestampToDate(p.exitedAt) : undefined,
    stdin: p.stdin,
    stdout: p.stdout,
    stderr: p.stderr,
    terminal: p.terminal,
  };
}

export class ProcessImpl implements Process {
  readonly containerId: string;
  readonly id: string;
  pid = 0;
  readonly terminal: boolean;
  readonly io: ProcessIO | undefined;
  protected readonly core: ClientCore;
  /** Resolved once Create (init) or Start (exec) finished: CloseIO may only follow it. */
  readonly #ready = new Deferred<boolean>();
  readonly #exit = new Deferred<ExitStatus>();
  deleted = false;

  constructor(core: ClientCore, containerId: string, id: string, terminal: boolean, io: ProcessIO | undefined) {
    this.core = core;
    this.containerId = containerId;
    this.id = id;
    this.terminal = terminal;
    this.io = io;
  }

  get isInit(): boolean {
    return this.id === this.containerId;
  }
  protected get execId(): string {
    return this.isInit ? "" : this.id;
  }
  get exited(): Promise<ExitStatus> {
    return this.#exit.promise;
  }
  get hasExited(): boolean {
    return this.#exit.settled;
  }
  /** Called by the client when containerd reports (or reconciliation infers) the exit. */
  markExited(status: ExitStatus): void {
    this.#exit.resolve(status);
  }
  markReady(ok: boolean): void {
    this.#ready.resolve(ok);
  }

  protected assertLive(what: string): void {
    if (this.deleted) throw errNotFound(`${what}: process ${this.id} of container ${this.containerId} was deleted`);
  }

  async kill(signal: number, o?: { all?: boolean } & RpcOptions): Promise<void> {
    this.assertLive("kill");
    await this.core.containerd.tasks.rpc.kill({ containerId: this.containerId, execId: this.execId, signal, all: o?.all ?? false }, o);
  }

  async resize(width: number, height: number, o?: RpcOptions): Promise<void> {
    this.assertLive("resize");
    await this.core.containerd.tasks.rpc.resizePty({ containerId: this.containerId, execId: this.execId, width, height }, o);
  }

  /**
   * Ending our fd alone never reaches the process: the shim holds its own write end of the
   * stdin FIFO until Tasks/CloseIO, and CloseIO with our fd still open is not enough either.
   * Our end closes only once the shim has opened the FIFO (after Create, or Start for an exec):
   * before that ours is the pipe's only reference, and closing it would drop what was written.
   */
  async closeStdin(o?: RpcOptions): Promise<void> {
    this.assertLive("close stdin");
    const ready = await this.#ready.promise;
    this.io?.endStdin();
    if (!ready || this.hasExited) return;
    await this.core.containerd.tasks.rpc.closeIO({ containerId: this.containerId, execId: this.execId, stdin: true }, o);
  }

  async delete(o?: RpcOptions): Promise<ExitStatus> {
    this.assertLive("delete");
    const r = await this.core.containerd.tasks.rpc.deleteProcess({ containerId: this.containerId, execId: this.id }, o);
    return this.finishDelete({ exitCode: r.exitStatus, exitedAt: r.exitedAt ? timestampToDate(r.exitedAt) : undefined });
  }

  /**
   * After the delete RPC the shim has closed its FIFO ends: read what is still in the pipes to
   * EOF, then close ours and remove the files (closing first would cut the output's tail).
   */
  protected async finishDelete(status: ExitStatus): Promise<ExitStatus> {
    this.deleted = true;
    this.markExited(status);
    this.markReady(false);
    if (this.io) {
      await this.io.drain(5_000);
      this.io.close();
    }
    this.core.forgetProcess(this);
    return status;
  }

  /** Local cleanup for a process that never came to exist in containerd. */
  abandon(): void {
    this.deleted = true;
    this.markReady(false);
    this.io?.close();
    this.core.forgetProcess(this);
  }
}

export class TaskImpl extends ProcessImpl implements Task {
  readonly container: ContainerImpl;
  /** Created and never started (a berthd died between Create and Start): delete needs no kill. */
  neverStarted = false;

  constructor(core: ClientCore, container: ContainerImpl, terminal: boolean, io: ProcessIO | undefined) {
    super(core, container.id, container.id, terminal, io);
    this.container = container;
  }

  async pause(o?: RpcOptions): Promise<void> {
    this.assertLive("pause");
    await this.core.containerd.tasks.rpc.pause({ containerId: this.containerId }, o);
  }

  async resume(o?: RpcOptions): Promise<void> {
    this.assertLive("resume");
    await this.core.containerd.tasks.rpc.resume({ containerId: this.containerId }, o);
  }

  async stats(o?: RpcOptions): Promise<TaskStats> {
    this.assertLive("stats");
    const m = await this.core.containerd.tasks.metrics([`id==${this.containerId}`], o);
    const found = m.get(this.containerId);
    if (!found) throw errNotFound(`no metrics for container ${this.containerId} (not running)`);
    return statsFromMetrics(found, new Date());
  }

  async pids(o?: RpcOptions): Promise<ProcessSummary[]> {
    this.assertLive("pids");
    const r = await this.core.containerd.tasks.rpc.listPids({ containerId: this.containerId }, o);
    return r.processes.map((p) => {
      let execId = "";
      if (p.info?.typeUrl === "containerd.runc.v1.ProcessDetails") {
        execId = fromBinary(runcOptionsPb.ProcessDetailsSchema, p.info.value).execId;
      }
      return { pid: p.pid, execId };
    });
  }

  summary(o?: RpcOptions): Promise<ProcessSummary[]> {
    return this.pids(o);
  }

  async status(o?: RpcOptions): Promise<TaskState> {
    this.assertLive("status");
    const r = await this.core.containerd.tasks.rpc.get({ containerId: this.containerId }, o);
    return taskStateOf(r.process!);
  }

  async exec(execId: string, spec: OciProcess, o: StdioOptions & RpcOptions = {}): Promise<Process> {
    this.assertLive("exec");
    const terminal = o.terminal ?? spec.terminal ?? false;
    const io = o.attachStdio
      ? await ProcessIO.create(this.container.fifoDir, execId, { withStdin: o.withStdin ?? false, terminal, attach: o.attachStdio, pool: this.core.fifos })
      : undefined;
    const p = new ProcessImpl(this.core, this.containerId, execId, terminal, io);
    io?.bind(p);
    const fifos = io?.paths ?? NO_FIFOS;
    try {
      await this.core.containerd.tasks.rpc.exec(
        { containerId: this.containerId, execId, terminal, ...fifos, spec: processToAny({ ...spec, terminal }) },
        o,
      );
    } catch (e) {
      p.abandon();
      if (isBerthError(e, "already-exists")) throw e;
      throw translateStartError(e, `exec ${execId} in ${this.containerId}`);
    }
    // Registered before Start: a process that exits at once is reported before Start returns.
    this.core.registerExec(p);
    try {
      const r = await this.core.containerd.tasks.rpc.start({ containerId: this.containerId, execId }, o);
      p.pid = r.pid;
      p.markReady(true);
    } catch (e) {
      // Nothing may stay behind: remove the exec from the shim, then our FIFOs.
      await this.core.containerd.tasks.rpc.deleteProcess({ containerId: this.containerId, execId }).catch(() => {});
      p.abandon();
      throw translateStartError(e, `exec ${execId} in ${this.containerId}`);
    }
    return p;
  }

  async updateResources(resources: LinuxResources, o?: RpcOptions): Promise<void> {
    this.assertLive("update");
    await this.core.containerd.tasks.rpc.update({ containerId: this.containerId, resources: jsonAny(LINUX_RESOURCES_TYPE_URL, resources) }, o);
  }

  async createCheckpoint(dir: string, o?: { exit?: boolean } & RpcOptions): Promise<void> {
    this.assertLive("checkpoint");
    await fs.mkdir(dir, { recursive: true });
    try {
      // With image_path set, containerd leaves the CRIU image in `dir` instead of the content
      // store: one RPC and nothing to garbage-collect.
      await this.core.containerd.tasks.rpc.checkpoint(
        { containerId: this.containerId, options: checkpointOptionsToAny({ exit: o?.exit ?? false, imagePath: dir }) },
        o,
      );
    } catch (e) {
      let why = e instanceof Error ? e.message : String(e);
      // runc names CRIU's log; its last error lines say why (kernel features, seccomp, ...).
      const log = /path= ?(\S+\.log)/.exec(why)?.[1];
      if (log) {
        const text = await fs.readFile(log, "utf8").catch(() => "");
        const errors = text.split("\n").filter((l) => /Error|error/.test(l)).slice(-3).join(" | ");
        if (errors) why += ` [criu: ${errors}]`;
      }
      throw new BerthError(
        e instanceof BerthError ? e.kind : "unknown",
        `checkpoint of ${this.containerId} failed (CRIU): ${why}`,
        { cause: e },
      );
    }
  }

  override async delete(o?: RpcOptions): Promise<ExitStatus> {
    this.assertLive("delete");
    let r;
    try {
      r = await this.core.containerd.tasks.rpc.delete({ containerId: this.containerId }, o);
    } catch (e) {
      // containerd deleted it already: its shim died and containerd's clean-up published the
      // exit and removed the task. Ours goes too (the not-found still reaches the caller), or
      // the container could never have a task again.
      if (isNotFound(e)) {
        this.container.dropTask(this);
        await this.finishDelete({ exitCode: 255, exitedAt: undefined });
      }
      throw e;
    }
    this.container.dropTask(this);
    return this.finishDelete({ exitCode: r.exitStatus, exitedAt: r.exitedAt ? timestampToDate(r.exitedAt) : undefined });
  }

  async forceDelete(o?: RpcOptions): Promise<ExitStatus> {
    this.assertLive("force delete");
    // containerd deletes a created task directly (and reports its exit).
    if (this.neverStarted) return this.delete(o);
    try {
      await this.kill(9, { all: true, ...o });
    } catch (e) {
      // Already stopped (or gone): nothing to kill.
      if (!isNotFound(e) && !isBerthError(e, "failed-precondition")) throw e;
    }
    if (!this.hasExited) {
      // The exit normally arrives on the event stream. A task that was created but never
      // started (berthd died between Create and Start) may exit without one: after a grace
      // period, ask containerd (Tasks/Wait, bounded) instead of waiting forever.
      const seen = this.core.eventsLive && (await Promise.race([this.exited.then(() => true), sleep(3000).then(() => false)]));
      if (!seen && !this.hasExited) {
        const st = await this.core.containerd.tasks.wait(this.containerId, "", { timeoutMs: o?.timeoutMs ?? 10_000, ...(o?.signal ? { signal: o.signal } : {}) }).catch(() => undefined);
        if (st) this.markExited(st);
      }
    }
    return this.delete(o);
  }
}

export class ContainerImpl implements Container {
  readonly id: string;
  record: ContainerRecord;
  // The spec is decoded from the record when read, and only its process is kept: a restore of
  // 200 containers parsed and re-serialised 200 specs (8 KiB of JSON each with the seccomp
  // profile) that it never read, and every container held its spec twice.
  #process: { value: OciProcess | undefined } | undefined;
  #task: TaskImpl | undefined;
  #rootfsMounts: RootfsMount[] | undefined;
  /** Task state from loadAll, used once by attachTask instead of a Tasks/Get. */
  loadedTask: TaskState | undefined;
  readonly #core: ClientCore;
  #deleted = false;

  constructor(core: ClientCore, record: ContainerRecord, o?: LoadOptions & { spec?: Spec }) {
    this.#core = core;
    this.id = record.id;
    this.record = record;
    if (o?.spec) this.#process = { value: o.spec.process };
    this.#rootfsMounts = o?.rootfsMounts;
  }

  get spec(): Spec {
    return containerSpec(this.record);
  }
  get process(): OciProcess | undefined {
    return (this.#process ??= { value: this.spec.process }).value;
  }
  get labels(): Readonly<Record<string, string>> {
    return this.record.labels;
  }
  get fifoDir(): string {
    return path.join(this.#core.stateDir, this.id);
  }
  get retainedTask(): TaskImpl | undefined {
    return this.#task;
  }

  #assertLive(what: string): void {
    if (this.#deleted) throw errNotFound(`${what}: container ${this.id} was deleted`);
  }

  async #rootfs(o?: RpcOptions): Promise<RootfsMount[]> {
    if (!this.record.snapshotKey) return [];
    if (!this.#rootfsMounts) {
      // Only when the caller did not keep the mounts from Snapshots/Prepare.
      const r = await this.#core.containerd.snapshots.rpc.mounts({ snapshotter: this.record.snapshotter, key: this.record.snapshotKey }, o);
      this.#rootfsMounts = r.mounts.map((m) => ({ type: m.type, source: m.source, target: m.target, options: [...m.options] }));
    }
    return this.#rootfsMounts;
  }

  async start(o: StartOptions = {}): Promise<Task> {
    this.#assertLive("start");
    if (this.#task && !this.#task.deleted) throw errFailedPrecondition(`container ${this.id} already has a task; delete it first`);
    const terminal = o.terminal ?? this.process?.terminal ?? false;
    const rootfs = await this.#rootfs(o);
    const io = o.attachStdio
      ? await ProcessIO.create(this.fifoDir, "init", { withStdin: o.withStdin ?? false, terminal, attach: o.attachStdio })
      : undefined;
    const task = new TaskImpl(this.#core, this, terminal, io);
    io?.bind(task);
    let runc = runcOptionsFromAny(this.record.runtime?.options);
    if (o.checkpoint) runc = { ...(runc ?? {}), criuImagePath: o.checkpoint } as typeof runc;
    try {
      const r = await this.#core.containerd.tasks.rpc.create(
        {
          containerId: this.id,
          rootfs,
          terminal,
          ...(io?.paths ?? NO_FIFOS),
          ...(runc ? { options: runcOptionsToAny(runc) } : {}),
        },
        o,
      );
      task.pid = r.pid;
    } catch (e) {
      task.abandon();
      throw translateStartError(e, `failed to create task for container ${this.id}`);
    }
    this.#task = task;
    this.#core.registerTask(task);
    task.markReady(true);
    try {
      await this.#core.containerd.tasks.rpc.start({ containerId: this.id }, o);
    } catch (e) {
      // A created task that never started is killed, then deleted: no task stays behind.
      await this.#core.containerd.tasks.rpc.kill({ containerId: this.id, signal: 9, all: true }).catch(() => {});
      await this.#core.containerd.tasks.rpc.delete({ containerId: this.id }).catch(() => {});
      this.#task = undefined;
      task.abandon();
      throw translateStartError(e, `failed to start container ${this.id}`);
    }
    return task;
  }

  async task(o?: RpcOptions): Promise<Task> {
    this.#assertLive("task");
    if (this.#task && !this.#task.deleted) return this.#task;
    const state = this.loadedTask ?? taskStateOf((await this.#core.containerd.tasks.rpc.get({ containerId: this.id }, o)).process!);
    return this.#adopt(state, undefined);
  }

  async attachTask(o?: { attachStdio?: AttachStdio } & RpcOptions): Promise<Task> {
    this.#assertLive("attach");
    if (this.#task && !this.#task.deleted && this.#task.io) throw errFailedPrecondition(`task of ${this.id} is attached already`);
    let state = this.loadedTask;
    if (!state) {
      state = taskStateOf((await this.#core.containerd.tasks.rpc.get({ containerId: this.id }, o)).process!);
    }
    if (this.#task && !this.#task.deleted) this.#task.abandon();
    return this.#adopt(state, o?.attachStdio);
  }

  #adopt(state: TaskState, attach: AttachStdio | undefined): Task {
    this.loadedTask = undefined;
    const live = state.status !== TaskStatus.STOPPED && state.status !== TaskStatus.UNKNOWN;
    const io = attach && live && (state.stdout || state.stdin)
      ? ProcessIO.open({ stdin: state.stdin, stdout: state.stdout, stderr: state.stderr }, state.terminal, attach)
      : undefined;
    const task = new TaskImpl(this.#core, this, state.terminal, io);
    io?.bind(task);
    task.pid = state.pid;
    task.neverStarted = state.status === TaskStatus.CREATED;
    task.markReady(true);
    if (state.status === TaskStatus.STOPPED) task.markExited({ exitCode: state.exitStatus, exitedAt: state.exitedAt });
    this.#task = task;
    this.#core.registerTask(task);
    return task;
  }

  dropTask(t: TaskImpl): void {
    if (this.#task === t) this.#task = undefined;
  }

  async updateSpec(spec: Spec, o?: RpcOptions): Promise<boolean> {
    this.#assertLive("update");
    const json = JSON.stringify(spec);
    // What containerd holds is what berth sent: the JSON of the spec, byte for byte.
    if (json === specJsonOf(this.record)) return false;
    this.record = await this.#core.containerd.containers.update(this.id, { spec }, o);
    this.#process = { value: spec.process };
    return true;
  }

  async delete(o?: RpcOptions): Promise<void> {
    this.#assertLive("delete");
    await this.#core.containerd.containers.delete(this.id, o);
    this.#deleted = true;
    this.#task?.abandon();
    this.#core.forgetContainer(this.id);
    this.#core.fifos.forget(this.fifoDir);
    await fs.rm(this.fifoDir, { recursive: true, force: true });
  }
}

export { UNKNOWN_EXIT };

const utf8 = new TextDecoder();

/** The spec's JSON as containerd stores it (empty when the record has none). */
function specJsonOf(record: ContainerRecord): string {
  return record.spec ? utf8.decode(record.spec.value) : "";
}
