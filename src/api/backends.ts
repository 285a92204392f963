// The narrow interfaces the routers are written against (moby's router/*/backend.go). Engine
// vocabulary only: camelCase, Dates, nanosecond bigints. Docker's JSON shapes are built from
// these in src/api and nowhere else.
import type { Readable } from "node:stream";
import type { ContainerView, Engine, EngineEvent, EventQuery } from "../daemon/types.js";
import type { NetworkManager, NetworkView } from "../network/index.js";
import type { VolumeInfo, VolumeStore } from "../volumes/index.js";

export type { NetworkView, VolumeInfo };

/** Everything /containers/** needs. berth's Engine satisfies it as is. */
export type ContainerBackend = Pick<
  Engine,
  | "create"
  | "start"
  | "stop"
  | "restart"
  | "kill"
  | "pause"
  | "unpause"
  | "wait"
  | "remove"
  | "rename"
  | "update"
  | "top"
  | "stats"
  | "attach"
  | "resize"
  | "inspect"
  | "list"
  | "logs"
  | "statPath"
  | "getArchive"
  | "putArchive"
  | "changes"
  | "exportContainer"
  | "commit"
>;

/** Everything /containers/{id}/exec and /exec/** need; `inspect` checks the container's state before a hijack. */
export type ExecBackend = Pick<Engine, "execCreate" | "execStart" | "execInspect" | "execResize" | "inspect">;

// ---- system -------------------------------------------------------------------------------------

export interface SystemVersion {
  /** berth's version ("0.1.0"); also what /info calls ServerVersion. */
  version: string;
  gitCommit?: string;
  /** RFC3339 build time. */
  buildTime?: string;
  /** Further components `docker version` lists: containerd, runc, ... */
  components?: { name: string; version: string; details?: Record<string, string> }[];
}

/**
 * What /info reports. Host facts left out (hostname, kernel, CPUs, memory, OS) are read from the
 * host by the API; the daemon facts have the defaults given.
 */
export interface SystemInfo {
  /** A stable daemon ID. */
  id: string;
  containers: { total: number; running: number; paused: number; stopped: number };
  images: number;
  /** The daemon's state directory (DockerRootDir). */
  rootDir: string;
  /** Storage driver; default "overlayfs" (containerd's snapshotter name). */
  driver?: string;
  driverStatus?: [string, string][];
  /** Default "json-file". */
  loggingDriver?: string;
  /** Default "cgroupfs". */
  cgroupDriver?: string;
  /** "1" or "2"; default "1". */
  cgroupVersion?: string;
  /** Default "runc". */
  defaultRuntime?: string;
  /** Default {runc: {path: "runc"}}. */
  runtimes?: Record<string, { path: string }>;
  /** What the daemon applies, as dockerd lists it ("name=seccomp,profile=default"); default none. */
  securityOptions?: string[];
  liveRestoreEnabled?: boolean;
  /** containerd's and runc's versions/commits as `docker info` shows them. */
  containerdCommit?: string;
  runcCommit?: string;
  initBinary?: string;
  debug?: boolean;
  /** Live /events subscribers. */
  eventsListeners?: number;
  labels?: string[];
  warnings?: string[];
  /** What the kernel offers (daemon/host-info.ts); false when absent. */
  host?: {
    memoryLimit: boolean; swapLimit: boolean; kernelMemoryTCP: boolean; oomKillDisable: boolean;
    cpuCfsPeriod: boolean; cpuCfsQuota: boolean; cpuShares: boolean; cpuSet: boolean; pidsLimit: boolean;
    ipv4Forwarding: boolean; bridgeNfIptables: boolean; bridgeNfIp6tables: boolean;
  };
  /** insecure-registries split as dockerd shows them, and the Docker Hub mirrors. */
  registry?: { insecureCidrs: string[]; insecureHosts: string[]; mirrors: string[] };
  /** The daemon's proxy environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY). */
  proxies?: { http: string; https: string; no: string };
  // Host facts, read from node:os when absent.
  name?: string;
  kernelVersion?: string;
  operatingSystem?: string;
  osVersion?: string;
  architecture?: string;
  ncpu?: number;
  memTotal?: number;
}

export interface ImageUsage extends ImageSummaryView {
  /** Containers using the image. */
  containers: number;
  /** Bytes shared with other images; -1 when not computed. */
  sharedSize?: number;
}

export interface DiskUsage {
  /** Bytes of all unpacked layers. */
  layersSize: number;
  images: ImageUsage[];
  containers: (ContainerView & { sizeRw?: number; sizeRootFs?: number })[];
  /** Volumes with `usageData` (VolumeStore.list({ usage: true })). */
  volumes?: VolumeInfo[];
  /** The classic builder's cache records: each names an image (its size is the image's, shared). */
  buildCache?: { id: string; image: string; created: Date; size: number }[];
}

export interface SystemBackend {
  version(): SystemVersion | Promise<SystemVersion>;
  info(): SystemInfo | Promise<SystemInfo>;
  /** Past events from `since`, then live ones until `until` or abort (Engine.events). */
  events(q: EventQuery): AsyncIterable<EngineEvent>;
  df(o?: { signal?: AbortSignal }): Promise<DiskUsage>;
}

// ---- images -------------------------------------------------------------------------------------
// Written so that the images layer's ImageService satisfies ImageBackend structurally.

/** Progress of one blob during a load or pull. */
export interface ImageProgress {
  /** The blob's digest ("sha256:..."), or an archive entry name before it is hashed. */
  id: string;
  /** waiting, downloading, loading, exists, verifying, done, extracting, ... */
  status: string;
  current: number;
  total: number;
}

export interface ImageSummaryView {
  /** The config digest: "sha256:<hex>". */
  id: string;
  /** Normalized names ("docker.io/library/busybox:latest"); the API shows the familiar form. */
  repoTags: string[];
  /** "repository@sha256:..." */
  repoDigests: string[];
  created: Date | undefined;
  size: number;
  labels: Record<string, string>;
  /** A build's intermediate image: listed only with all=1, as dockerd. */
  intermediate?: boolean;
}

export interface ImageRuntimeConfigView {
  cmd: string[] | undefined;
  entrypoint: string[] | undefined;
  env: string[];
  workingDir: string;
  user: string;
  exposedPorts: string[];
  labels: Record<string, string>;
  healthcheck: { test: string[]; intervalNs: number; timeoutNs: number; startPeriodNs: number; retries: number } | undefined;
  volumes: string[];
  stopSignal: string | undefined;
  onBuild: string[];
  shell: string[] | undefined;
}

export interface ImageInspectView extends ImageSummaryView {
  architecture: string;
  os: string;
  variant: string | undefined;
  author: string;
  comment: string;
  /** Committed images: the parent image ID, the container and its config (Docker's keys). */
  parent?: string;
  container?: string;
  containerConfig?: Record<string, unknown>;
  dockerVersion: string;
  config: ImageRuntimeConfigView;
  rootfs: { type: string; diffIds: string[] };
}

export interface ImageHistoryView {
  /** The image ID for the top entry, undefined below ("<missing>"). */
  id: string | undefined;
  created: Date | undefined;
  createdBy: string;
  comment: string;
  tags: string[];
  size: number;
}

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** A registry's answer for a reference: its manifest's descriptor and the platforms it covers. */
export interface DistributionView {
  descriptor: { mediaType: string; digest: string; size: number };
  platforms: { architecture: string; os: string; variant?: string; "os.version"?: string }[];
}

export interface ImageBackend {
  /** Loads a `docker save` / OCI layout tar from the request body. */
  load(
    archive: Readable,
    o: { onProgress?: (e: ImageProgress) => void; signal?: AbortSignal },
  ): Promise<{ images: { name: string | undefined; id: string }[] }>;
  /** `docker import`: a rootfs tarball as a one-layer image. */
  importRootfs(
    tarball: Readable,
    o: { tag?: string; changes?: string[]; message?: string; signal?: AbortSignal },
  ): Promise<{ id: string; name: string | undefined }>;
  pull(
    ref: string,
    o: { onProgress?: (e: ImageProgress) => void; credentials?: RegistryCredentials; signal?: AbortSignal },
  ): Promise<{ name: string; id: string; digest: string }>;
  list(o?: { signal?: AbortSignal }): Promise<ImageSummaryView[]>;
  inspect(ref: string, o?: { signal?: AbortSignal }): Promise<ImageInspectView>;
  /** Image ID ("sha256:...") of a name, ID or ID prefix; not-found when none. */
  resolve(ref: string, o?: { signal?: AbortSignal }): Promise<string>;
  tag(source: string, target: string, o?: { signal?: AbortSignal }): Promise<void>;
  remove(ref: string, o: { force?: boolean; signal?: AbortSignal }): Promise<{ untagged: string[]; deleted: string[] }>;
  /** A docker-archive tar of the images; rejects (not-found) before any byte if a name is unknown. */
  save(refs: string[], o?: { signal?: AbortSignal }): Promise<Readable>;
  history(ref: string, o?: { signal?: AbortSignal }): Promise<ImageHistoryView[]>;
  /** Pushes one tagged name; progress per layer (waiting, exists, pushing, pushed). */
  push(
    ref: string,
    o: { onProgress?: (e: ImageProgress) => void; credentials?: RegistryCredentials; signal?: AbortSignal },
  ): Promise<{ name: string; digest: string; size: number }>;
  /** Checks credentials against a registry (`docker login`); rejects when they are refused. */
  login(o: { serverAddress: string; username: string; password: string; signal?: AbortSignal }): Promise<{ status: string; identityToken: string }>;
  inspectDistribution(ref: string, o: { credentials?: RegistryCredentials; signal?: AbortSignal }): Promise<DistributionView>;
  /** Bytes in a container's writable layer (its snapshot is keyed by the container ID). */
  rootfsUsage(containerId: string, o?: { signal?: AbortSignal }): Promise<number>;
}

// ---- networks and volumes ---------------------------------------------------------------------

/**
 * Everything /networks/** needs: the network layer's networks (berth's NetworkManager satisfies
 * that part as is), the engine's connect/disconnect (they keep the container's record), and
 * whether any container — running or stopped — is configured on a network: the manager only
 * knows live endpoints, and a stopped container's network must not disappear under it.
 */
export interface NetworkBackend
  extends Pick<NetworkManager, "createNetwork" | "listNetworks" | "inspectNetwork" | "removeNetwork" | "pruneNetworks">,
    Pick<Engine, "connectNetwork" | "disconnectNetwork"> {
  /** A container, running or not, is configured on the network (by name). */
  networkInUse(name: string): boolean;
}

/** Everything /volumes/** needs. The volumes layer's VolumeStore satisfies it as is. */
export type VolumeBackend = Pick<VolumeStore, "create" | "get" | "list" | "remove" | "prune">;

/** POST /build and /build/prune: the builder (src/build) satisfies it as is. */
export type BuildBackend = Pick<import("../build/index.js").Builder, "build" | "prune">;

export interface Backends {
  /** Absent: /build answers 404 as before the builder existed. */
  build?: BuildBackend;
  containers: ContainerBackend;
  exec: ExecBackend;
  images: ImageBackend;
  system: SystemBackend;
  networks: NetworkBackend;
  volumes: VolumeBackend;
}
