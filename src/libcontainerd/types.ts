import type { Readable, Writable } from "node:stream";
import type {
  ContainerdClient,
  ContainerdVersion,
  ContainerRecord,
  ExitStatus,
  LinuxResources,
  Mount as OciMount,
  Process as OciProcess,
  RpcOptions,
  RuncOptionsInit,
  Spec,
  TaskStatus,
} from "../containerd/index.js";

export type { ExitStatus };

/** Event types delivered to the Backend (containerd's /tasks/* topics). */
export type EventType =
  | "create"
  | "start"
  | "exit"
  | "oom"
  | "exec-added"
  | "exec-started"
  | "paused"
  | "resumed"
  | "delete";

export interface EventInfo {
  containerId: string;
  /** The exec ID for an exec, the container ID for the init process. */
  processId: string;
  pid: number;
  exitCode: number;
  exitedAt: Date | undefined;
  /** True for an exit made up after the event stream was lost (from Tasks/List). */
  synthesized?: boolean;
}

/** What receives events: in order per container, concurrently across containers. */
export interface Backend {
  processEvent(containerId: string, type: EventType, info: EventInfo): Promise<void> | void;
}

/** The pipe ends of a process's stdio, handed to whoever consumes them. */
export interface ProcessStreams {
  stdin: Writable | undefined;
  /** With a terminal: the one stream of the pty. */
  stdout: Readable | undefined;
  /** Undefined with a terminal. */
  stderr: Readable | undefined;
  terminal: boolean;
  /**
   * Ends the process's stdin: our end of the FIFO, then Tasks/CloseIO once the process exists
   * (a consumer may see its client's EOF before Tasks/Create has even returned).
   */
  closeStdin(): void;
}

/** Called with the process's streams before it runs; consumers attach their readers here. */
export type AttachStdio = (io: ProcessStreams) => void;

export interface StdioOptions {
  withStdin?: boolean;
  terminal?: boolean;
  /** Without it the process gets no FIFOs at all (the shim's null IO). */
  attachStdio?: AttachStdio;
}

export interface StartOptions extends StdioOptions, RpcOptions {
  /** Restore from a checkpoint directory made by createCheckpoint (CRIU). */
  checkpoint?: string;
}

export type Rootfs =
  /** A directory used as is: `spec.root.path` must be absolute. No snapshot. */
  | { kind: "path" }
  /** A snapshot prepared by the caller; the mounts are those Snapshots/Prepare returned. */
  | { kind: "snapshot"; snapshotter: string; key: string; mounts?: RootfsMount[] };

export interface RootfsMount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export interface NewContainerOptions extends RpcOptions {
  spec: Spec;
  rootfs?: Rootfs;
  /** Shim runtime (default io.containerd.runc.v2) and its runc options. */
  runtime?: string;
  runcOptions?: RuncOptionsInit;
  labels?: Record<string, string>;
  image?: string;
}

export interface LoadOptions extends RpcOptions {
  /** Mounts of the container's snapshot, when the caller kept them (saves Snapshots/Mounts). */
  rootfsMounts?: RootfsMount[];
}

export interface TaskState {
  pid: number;
  status: TaskStatus;
  exitStatus: number;
  exitedAt: Date | undefined;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** A container with the state of its task, as loadAll returns it (2 calls for all). */
export interface LoadedContainer {
  container: Container;
  /** Undefined when the container has no task. */
  task: TaskState | undefined;
}

export interface Client extends AsyncDisposable {
  readonly namespace: string;
  /** The typed containerd client underneath (its counter counts every call made here). */
  readonly containerd: ContainerdClient;
  version(o?: RpcOptions): Promise<ContainerdVersion>;
  /** One Containers/Create. */
  newContainer(id: string, opts: NewContainerOptions): Promise<Container>;
  /** One Containers/Get. */
  loadContainer(id: string, o?: LoadOptions): Promise<Container>;
  /** Every container of the namespace with its task state: Containers/List + Tasks/List. */
  loadAll(o?: RpcOptions): Promise<LoadedContainer[]>;
  /** Stops the event stream, closes retained stdio, then the connection. */
  close(): Promise<void>;
}

export interface Container {
  readonly id: string;
  /** The record containerd returned at create or load; read without an RPC. */
  readonly record: ContainerRecord;
  /** The OCI spec, decoded from the record at each read (a container keeps only its process). */
  readonly spec: Spec;
  /** The spec's process (exec and health probes start from it), decoded once. */
  readonly process: OciProcess | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** Tasks/Create + Tasks/Start; a failed start leaves no task behind. */
  start(o?: StartOptions): Promise<Task>;
  /** The retained task, loaded once (Tasks/Get) if this handle has none. */
  task(o?: RpcOptions): Promise<Task>;
  /** Re-attaches to a running task's existing FIFOs (after a restart of berth). */
  attachTask(o?: { attachStdio?: AttachStdio } & RpcOptions): Promise<Task>;
  /** Containers/Update, only when the spec differs from the one containerd has. */
  updateSpec(spec: Spec, o?: RpcOptions): Promise<boolean>;
  /** Containers/Delete and the container's FIFO directory. */
  delete(o?: RpcOptions): Promise<void>;
}

export interface Process {
  readonly containerId: string;
  /** The exec ID, or the container ID for a task's init process. */
  readonly id: string;
  readonly pid: number;
  readonly terminal: boolean;
  /** Resolves when containerd reports this process's exit (event stream or reconciliation). */
  readonly exited: Promise<ExitStatus>;
  kill(signal: number, o?: { all?: boolean } & RpcOptions): Promise<void>;
  resize(width: number, height: number, o?: RpcOptions): Promise<void>;
  /** Ends our stdin pipe, then Tasks/CloseIO, only once Create/Start has finished. */
  closeStdin(o?: RpcOptions): Promise<void>;
  /** Deletes the process (Tasks/Delete or Tasks/DeleteProcess), drains and closes its stdio. */
  delete(o?: RpcOptions): Promise<ExitStatus>;
}

export interface TaskStats {
  read: Date;
  /** The host's cgroup version: it decides the counters' names and which ones exist. */
  cgroupVersion: 1 | 2;
  pids: { current: number; limit: number };
  cpu: { totalNs: number; userNs: number; kernelNs: number; perCpuNs: number[]; throttledPeriods: number; throttledTimeNs: number; periods: number };
  memory: {
    usage: number; maxUsage: number; limit: number; failcnt: number;
    cache: number; rss: number; totalInactiveFile: number;
    swapUsage: number; swapLimit: number; raw: Record<string, number>;
  };
  blkio: { op: string; major: number; minor: number; value: number; kind: "bytes" | "ios" }[];
  oomKills?: number;
}

export interface ProcessSummary {
  pid: number;
  /** The exec ID for an exec's process (runc's ProcessDetails), else "". */
  execId: string;
}

export interface Task extends Process {
  pause(o?: RpcOptions): Promise<void>;
  resume(o?: RpcOptions): Promise<void>;
  stats(o?: RpcOptions): Promise<TaskStats>;
  pids(o?: RpcOptions): Promise<ProcessSummary[]>;
  summary(o?: RpcOptions): Promise<ProcessSummary[]>;
  status(o?: RpcOptions): Promise<TaskState>;
  /** Tasks/Exec + Tasks/Start. */
  exec(execId: string, spec: OciProcess, o?: StdioOptions & RpcOptions): Promise<Process>;
  updateResources(resources: LinuxResources, o?: RpcOptions): Promise<void>;
  createCheckpoint(dir: string, o?: { exit?: boolean } & RpcOptions): Promise<void>;
  /** SIGKILL to every process, wait for the exit, delete. */
  forceDelete(o?: RpcOptions): Promise<ExitStatus>;
}

export type { OciMount };
