// The engine's public vocabulary. Docker's JSON shapes live only in src/api; these are what the
// API's backends are written against.
import type { Readable } from "node:stream";
import type {
  ContainerConfig,
  ContainerRecord,
  EndpointConfigRecord,
  Health,
  HostConfig,
  HostConfigInit,
  LoadProblem,
  Resources,
  RestartPolicy,
  StateStatus,
  WaitCondition,
  WaitResult,
} from "../container/index.js";
import type { FilesystemChange } from "./rootfs-changes.js";
import type { CommitMetadata } from "./image-source.js";
import type { TaskStats } from "../libcontainerd/index.js";

export type { WaitCondition, WaitResult };

/** A container's settings on one network: docker's EndpointSettings that berth honours. */
export type EndpointConfig = Omit<EndpointConfigRecord, "macAddress">;

export interface CreateOptions {
  /** Without a name one is generated (adjective_surname). */
  name?: string;
  config: Partial<ContainerConfig> & { image: string };
  hostConfig?: HostConfigInit;
  /** Endpoint settings per network (docker's NetworkingConfig), keyed by name; "default" is bridge. */
  networks?: Record<string, EndpointConfig>;
  signal?: AbortSignal;
}

export interface CreateResult {
  id: string;
  warnings: string[];
}

/** A container as inspect and list see it; a copy, safe to serialise. */
export interface ContainerView {
  id: string;
  /** "/name" */
  name: string;
  created: Date;
  path: string;
  args: string[];
  image: string;
  imageId: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  restartCount: number;
  driver: string;
  state: {
    status: StateStatus;
    running: boolean;
    paused: boolean;
    restarting: boolean;
    oomKilled: boolean;
    dead: boolean;
    removing: boolean;
    pid: number;
    exitCode: number;
    error: string;
    startedAt: Date | undefined;
    finishedAt: Date | undefined;
    health: Health | undefined;
  };
  /** `Up 3 minutes (Paused)`, as docker ps prints it. */
  humanStatus: string;
  /** Host path of the rootfs while running (for archive access), else undefined. */
  rootfsPath: string | undefined;
  logPath: string;
  /** IDs of live exec instances. */
  execIds: string[];
  /** Volumes and binds, as docker inspect's Mounts (tmpfs mounts are not listed, as dockerd). */
  mounts: { type: "bind" | "tmpfs" | "volume"; name: string; source: string; destination: string; driver: string; mode: string; rw: boolean; propagation: string }[];
  /** The networks the container is configured on, with its aliases (running or not). */
  networks: Record<string, EndpointConfig>;
  /** Addresses, ports and networks; undefined while the container has no network of its own. */
  networkSettings: import("../network/index.js").NetworkSettingsView | undefined;
}

export interface ListOptions {
  /** Include stopped containers (docker ps -a). */
  all?: boolean;
}

export interface StopOptions {
  /** Seconds before SIGKILL; default the container's StopTimeout or 10. -1 waits forever. */
  timeout?: number;
  /** Signal name or number; default the container's StopSignal or SIGTERM. */
  signal?: string;
}

export interface RemoveOptions {
  force?: boolean;
  removeVolumes?: boolean;
  /** `docker rm --link <container>/<alias>`: remove that legacy link, not a container. */
  link?: boolean;
}

export interface UpdateOptions {
  resources?: Partial<Resources>;
  restartPolicy?: RestartPolicy;
}

/** Output sinks and the input source of an attached client. */
export interface AttachOptions {
  stdin?: Readable;
  stdout?: (chunk: Buffer) => void;
  stderr?: (chunk: Buffer) => void;
  /** Replay the container's logs before streaming (docker attach ?logs=1). */
  logs?: boolean;
  /** Stream live output; without it attach returns after the logs. */
  stream?: boolean;
  signal?: AbortSignal;
}

export interface ExecCreateOptions {
  cmd: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  tty?: boolean;
  attachStdin?: boolean;
  attachStdout?: boolean;
  attachStderr?: boolean;
  privileged?: boolean;
}

export interface ExecStartOptions {
  detach?: boolean;
  tty?: boolean;
  stdin?: Readable;
  stdout?: (chunk: Buffer) => void;
  stderr?: (chunk: Buffer) => void;
  /** Terminal size to apply as soon as the process exists. */
  consoleSize?: { width: number; height: number };
  signal?: AbortSignal;
}

export interface ExecView {
  id: string;
  containerId: string;
  running: boolean;
  exitCode: number | null;
  pid: number;
  openStdin: boolean;
  openStdout: boolean;
  openStderr: boolean;
  canRemove: boolean;
  processConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user: string };
}

export interface LogOptions {
  stdout?: boolean;
  stderr?: boolean;
  since?: Date;
  until?: Date;
  tail?: number | "all";
  follow?: boolean;
  timestamps?: boolean;
  signal?: AbortSignal;
}

export interface LogEntry {
  stream: "stdout" | "stderr";
  line: Buffer;
  /** RFC3339Nano as docker prints it with --timestamps. */
  time: string;
}

export interface TopResult {
  titles: string[];
  processes: string[][];
}

export interface StatsSample {
  read: Date;
  /** The previous sample of this container (docker's precpu), if any. */
  previous: StatsSample | undefined;
  stats: TaskStats;
  /** Host CPU time in ns (sum of /proc/stat), for CPU %. */
  systemCpuNs: number;
  onlineCpus: number;
}

export interface EngineEvent {
  type: "container" | "image" | "volume" | "network" | "daemon";
  /** create, start, die, stop, kill, pause, unpause, destroy, rename, update, exec_create, ... */
  action: string;
  id: string;
  attributes: Record<string, string>;
  /** Nanoseconds since the epoch. */
  timeNano: bigint;
}

export interface EventQuery {
  since?: bigint;
  until?: bigint;
  filter?: (e: EngineEvent) => boolean;
  signal?: AbortSignal;
}

export interface RestoreReport {
  containers: number;
  running: number;
  exitedWhileDown: number;
  orphansRemoved: string[];
  problems: LoadProblem[];
  /** Started by their restart policy at daemon start. */
  restarted?: number;
}

export type { ContainerRecord };

export type { FilesystemChange };

export interface CommitOptions extends CommitMetadata {
  /** Pause a running container during the diff (dockerd's default). */
  pause: boolean;
}

export interface PathStat {
  name: string;
  size: number;
  /** Go os.FileMode bits as docker sends them (type bits in the high bits). */
  mode: number;
  mtime: Date;
  linkTarget: string;
}

/**
 * The container engine. Every container argument (`ref`) is a full ID, a name (with or without
 * "/") or a unique ID prefix. Errors are BerthErrors: not-found (no such container or exec),
 * conflict (name in use, running, paused, removal in progress), invalid-argument (bad options).
 */
export interface Engine {
  create(o: CreateOptions): Promise<CreateResult>;
  /**
   * Resolves false if it was running already (the API's 304). Not cancellable: a start the
   * client left is finished (dockerd's too), so that the container is never half started.
   */
  start(ref: string): Promise<boolean>;
  /** Resolves false if it was not running (the API's 304). */
  stop(ref: string, o?: StopOptions): Promise<boolean>;
  restart(ref: string, o?: StopOptions): Promise<void>;
  /** Signal by name ("SIGHUP", "HUP") or number; default SIGKILL. */
  kill(ref: string, signal?: string): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  wait(ref: string, condition: WaitCondition, o?: { signal?: AbortSignal }): Promise<WaitResult>;
  remove(ref: string, o?: RemoveOptions): Promise<void>;
  rename(ref: string, newName: string): Promise<void>;
  update(ref: string, o: UpdateOptions): Promise<{ warnings: string[] }>;
  top(ref: string, psArgs?: string): Promise<TopResult>;
  /** One sample; `signal` stops waiting for it (the batch's one Tasks/Metrics call goes on). */
  stats(ref: string, o?: { signal?: AbortSignal }): Promise<StatsSample>;
  /** Resolves when the attached streams end (container stopped and output drained) or on abort. */
  attach(ref: string, o: AttachOptions): Promise<void>;
  resize(ref: string, width: number, height: number): Promise<void>;
  inspect(ref: string): ContainerView;
  list(o?: ListOptions): ContainerView[];
  logs(ref: string, o: LogOptions): AsyncIterable<LogEntry>;
  execCreate(ref: string, o: ExecCreateOptions): Promise<string>;
  /** Detached: resolves once started. Attached: resolves when its output ended and its exit is recorded. */
  execStart(execId: string, o: ExecStartOptions): Promise<void>;
  execInspect(execId: string): ExecView;
  execResize(execId: string, width: number, height: number): Promise<void>;
  /** Past events from `since`, then live ones until `until` or abort. */
  events(q: EventQuery): AsyncIterable<EngineEvent>;
  /**
   * docker cp: stat, read (tar stream) and write (extract a tar) inside the container's rootfs;
   * `signal` (the client left) ends the tar stream or the extraction.
   */
  statPath(ref: string, path: string): Promise<PathStat>;
  /** docker diff: the container's filesystem changes against its image (no RPC). */
  changes(ref: string): Promise<FilesystemChange[]>;
  /** docker export: a tar of the container's filesystem, streamed. */
  exportContainer(ref: string, o?: { signal?: AbortSignal }): Promise<Readable>;
  /** docker commit: a new image from the container's changes. */
  commit(ref: string, o: CommitOptions): Promise<{ id: string }>;
  getArchive(ref: string, path: string, o?: { signal?: AbortSignal }): Promise<{ stat: PathStat; tar: Readable }>;
  putArchive(ref: string, path: string, tar: Readable, o?: { noOverwriteDirNonDir?: boolean; signal?: AbortSignal }): Promise<void>;
  /** docker network connect: running containers join at once; stopped ones at their next start. */
  connectNetwork(ref: string, network: string, o?: Partial<EndpointConfig>): Promise<void>;
  /**
   * docker network disconnect. dockerd's `force` matters only for a container that no longer
   * exists (it deletes the stale endpoint); berth keeps no endpoint of a removed container, so
   * there is no such case and no option.
   */
  disconnectNetwork(ref: string, network: string): Promise<void>;
  /** Containers, running, paused, stopped counts for /info. */
  counts(): { total: number; running: number; paused: number; stopped: number };
  close(): Promise<void>;
}
