import type { ShiftMaps } from "../daemon/userns-shift.js";
// The images layer's public types: camelCase engine shapes (the API layer turns them into
// Docker's JSON).
import type { Readable } from "node:stream";
import type { ContainerdClient } from "../containerd/index.js";
import type { RootfsMount } from "../libcontainerd/types.js";
import type { CommitMetadata } from "../daemon/image-source.js";
import type { Descriptor, Platform } from "./oci.js";
import type { RegistryHosts } from "./registry-hosts.js";

export type { Descriptor, Platform, RootfsMount };
export type { LoginResult } from "./registry-login.js";
export type { DistributionInspect } from "./distribution-inspect.js";
import type { LoginResult } from "./registry-login.js";
import type { DistributionInspect } from "./distribution-inspect.js";

export interface ImageServiceOptions {
  containerd: ContainerdClient;
  /** The only snapshotter berth unpacks into. */
  snapshotter?: "overlayfs";
  /** Whether a container uses the image (by ID); `remove` refuses such images unless forced. */
  isUsed?: (imageId: string) => boolean;
  /** Registry access: which hosts speak plain HTTP, and credentials per host. */
  registry?: RegistryOptions;
  /** How long a lease protects half-written content if berth dies mid-operation (default 1 h). */
  leaseExpiryMs?: number;
  /** Clock for lease expiry and gc.root labels (tests). */
  now?: () => Date;
  /**
   * Layers at least this big are extracted while they load or download, instead of being read
   * back by Diff/Apply afterwards (layer-stage.ts; default 1 MiB; Infinity turns it off).
   */
  stageMinBytes?: number;
}

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryOptions {
  /** Hosts reached only over plain HTTP, skipping `hosts` (tests). */
  plainHttp?: (host: string) => boolean;
  /** Mirrors, insecure registries, TLS material and proxies (default: dockerd's defaults, no mirror). */
  hosts?: RegistryHosts;
  /** Credentials for a registry host ("localhost:5000", "docker.io"). */
  credentials?: (host: string) => RegistryCredentials | undefined;
  /** Parallel layer downloads (default 3, dockerd's max-concurrent-downloads); read at each pull. */
  concurrency?: () => number;
  /** Parallel blob uploads (default 5, dockerd's max-concurrent-uploads); read at each push. */
  pushConcurrency?: () => number;
  /** Attempts per blob when the connection drops mid-download; each resumes with a Range (default 3). */
  blobAttempts?: number;
}

/** Progress of one layer (or blob) of a load, pull, push or unpack. */
export interface ProgressEvent {
  /** The blob's digest (or the archive entry for a docker-archive layer before it is hashed). */
  id: string;
  status: "waiting" | "downloading" | "loading" | "exists" | "verifying" | "done" | "extracting" | "pushing" | "pushed";
  current: number;
  total: number;
}
export type ProgressCallback = (e: ProgressEvent) => void;

export interface IoOptions {
  signal?: AbortSignal;
}

export interface LoadOptions extends IoOptions {
  onProgress?: ProgressCallback;
  /** Unpack into snapshots as part of the load (default true, as dockerd does). */
  unpack?: boolean;
}

export interface LoadedImage {
  /** Normalized name, undefined for an image loaded without a tag. */
  name: string | undefined;
  /** Image ID: the config's digest. */
  id: string;
  /** The record's target (manifest or index) digest. */
  digest: string;
}

export interface LoadResult {
  images: LoadedImage[];
}

export interface CommitOptions extends IoOptions, CommitMetadata {
  /** The container's image (an image ID). */
  image: string;
  /** The container's snapshot mounts (as Snapshots/Prepare returned them). */
  mounts: RootfsMount[];
  containerId: string;
}

export interface ImportOptions extends IoOptions {
  /** Name to give the image ("name:tag"); untagged when absent. */
  tag?: string;
  /** Dockerfile-like instructions: `CMD ["sh"]`, `ENV A=b`, `WORKDIR /x`, `USER u`, ... */
  changes?: string[];
  /** History comment (`docker import -m`). */
  message?: string;
  unpack?: boolean;
}

export interface PullOptions extends IoOptions {
  onProgress?: ProgressCallback;
  credentials?: RegistryCredentials;
  unpack?: boolean;
}

export interface PullResult extends LoadedImage {
  name: string;
}

export interface PushOptions extends IoOptions {
  onProgress?: ProgressCallback;
  credentials?: RegistryCredentials;
}

export interface LoginRequest extends IoOptions {
  /** The registry as the client names it ("", "https://index.docker.io/v1/", "localhost:5000"). */
  serverAddress: string;
  username: string;
  password: string;
}

export interface DistributionInspectOptions extends IoOptions {
  credentials?: RegistryCredentials;
}

export interface PushResult {
  name: string;
  /** Digest of the manifest as the registry has it. */
  digest: string;
  size: number;
}

export interface ImageSummary {
  /** The config digest. */
  id: string;
  /** Normalized names ("docker.io/library/busybox:latest"), sorted. */
  repoTags: string[];
  /** "repository@digest" of the manifest as a registry knows it (pulled or pushed). */
  repoDigests: string[];
  created: Date | undefined;
  /** Bytes of the image's blobs (compressed layers + config). */
  size: number;
  labels: Record<string, string>;
  /** A build's intermediate image (untagged, made by a step): listed only with `all`. */
  intermediate?: boolean;
}

export interface HealthcheckConfig {
  test: string[];
  /** Nanoseconds, 0 = inherit. */
  intervalNs: number;
  timeoutNs: number;
  startPeriodNs: number;
  retries: number;
}

export interface ImageRuntimeConfig {
  cmd: string[] | undefined;
  entrypoint: string[] | undefined;
  env: string[];
  workingDir: string;
  user: string;
  exposedPorts: string[];
  labels: Record<string, string>;
  healthcheck: HealthcheckConfig | undefined;
  volumes: string[];
  stopSignal: string | undefined;
  onBuild: string[];
  shell: string[] | undefined;
}

export interface ImageInspect extends ImageSummary {
  /** The manifest (or index) the names point at. */
  target: Descriptor;
  /** The platform manifest's digest (equal to target.digest unless the target is an index). */
  manifestDigest: string;
  architecture: string;
  os: string;
  variant: string | undefined;
  author: string;
  comment: string;
  /** The image a commit started from (its ID), "" for others. */
  parent: string;
  /** The container a commit was made from, "" for others. */
  container: string;
  /** That container's config, as the image config records it (Docker's keys). */
  containerConfig?: Record<string, unknown>;
  dockerVersion: string;
  config: ImageRuntimeConfig;
  rootfs: { type: string; diffIds: string[] };
  /** ChainID of the top layer: the snapshot containers of this image start from. */
  chainId: string | undefined;
}

export interface HistoryEntry {
  /** The image ID for the top entry, undefined below (Docker shows "<missing>"). */
  id: string | undefined;
  created: Date | undefined;
  createdBy: string;
  comment: string;
  tags: string[];
  /** Bytes of the layer this entry made, 0 for an empty layer. */
  size: number;
  emptyLayer: boolean;
}

export interface RemoveOptions extends IoOptions {
  force?: boolean;
}

export interface RemoveResult {
  /** Names removed. */
  untagged: string[];
  /** Image IDs deleted (their content and snapshots are collected). */
  deleted: string[];
}

export interface UnpackResult {
  snapshotter: string;
  /** ChainID of the top layer, undefined for an image without layers. */
  chainId: string | undefined;
  /** Layers applied by this call (0 when already unpacked). */
  applied: number;
}

export interface PreparedRootfs {
  snapshotter: string;
  key: string;
  mounts: RootfsMount[];
}

export interface ImageService {
  /** Loads a `docker save` archive or an OCI image layout tar (optionally gzipped) from a stream. */
  load(archive: Readable | AsyncIterable<Uint8Array>, o?: LoadOptions): Promise<LoadResult>;
  /** `docker import`: a rootfs tarball (optionally gzipped) as a one-layer image. */
  importRootfs(tarball: Readable | AsyncIterable<Uint8Array>, o?: ImportOptions): Promise<LoadedImage>;
  pull(ref: string, o?: PullOptions): Promise<PullResult>;
  /** `docker commit`: the container snapshot's changes as a new layer on its image. */
  commit(o: CommitOptions): Promise<LoadedImage>;
  push(ref: string, o?: PushOptions): Promise<PushResult>;
  /** Checks credentials against a registry as `docker login` does; rejects when it refuses them. */
  login(o: LoginRequest): Promise<LoginResult>;
  /** The registry's descriptor and platforms for a reference (GET /distribution/{name}/json). */
  inspectDistribution(ref: string, o?: DistributionInspectOptions): Promise<DistributionInspect>;
  list(o?: IoOptions): Promise<ImageSummary[]>;
  inspect(ref: string, o?: IoOptions): Promise<ImageInspect>;
  /** Image ID of a name, an ID or an ID prefix; not-found when there is none. */
  resolve(ref: string, o?: IoOptions): Promise<string>;
  tag(source: string, target: string, o?: IoOptions): Promise<void>;
  remove(ref: string, o?: RemoveOptions): Promise<RemoveResult>;
  /** A docker-archive (with an OCI layout inside, as docker 25 writes it) of the images. */
  save(refs: string[], o?: IoOptions): Promise<Readable>;
  history(ref: string, o?: IoOptions): Promise<HistoryEntry[]>;
  unpack(ref: string, o?: IoOptions & { onProgress?: ProgressCallback }): Promise<UnpackResult>;
  /** The container's writable snapshot: ONE Snapshots/Prepare when the image is unpacked. */
  /** With `remap` (--userns-remap), the snapshot's files are owned by the mapped host ids. */
  prepareRootfs(containerId: string, imageRef: string, o?: IoOptions & { remap?: ShiftMaps }): Promise<PreparedRootfs>;
  /** One Snapshots/Remove (not-found is success). */
  removeRootfs(key: string, o?: IoOptions): Promise<void>;
  /** Bytes a container's writable snapshot holds (one Snapshots/Usage; 0 when there is none). */
  rootfsUsage(key: string, o?: IoOptions): Promise<number>;
  /** Forgets the cached image records (they are re-read on next use). */
  refresh(): void;
}

export type { ImageServiceOptions as CreateImageServiceOptions };
