// `docker commit`: a container's filesystem changes become one new layer on top of its image.
//
// containerd's Diff service computes the layer (Diff/Diff): left is the image's filesystem,
// right the container's snapshot. The image's filesystem is the container's own overlay
// lowerdirs mounted read-only (a bind for a single layer), so no Snapshots/View is needed; for
// other mounts a View of the image's chain is made under the lease. The layer is uncompressed,
// as dockerd's overlay2 layers are (docker save then writes the same bytes, and the diff ID is
// the blob's digest). The image config is dockerd's: the parent's, with the container's config
// merged under the client's (changes applied first), the container's ID and config, and a
// history entry; a commit without changes adds an empty-layer history entry and no layer, as
// dockerd does. The layer is then applied into a snapshot committed under its chain ID
// (Snapshots/Prepare, Diff/Apply, Snapshots/Commit), so the new image runs at once.
import { errInvalidArgument, type ContainerdClient } from "../containerd/index.js";
import { gcRefSnapshot, manifestLabels, writeBlobBytes } from "./blobs.js";
import { applyConfigChanges } from "./config-changes.js";
import { chainIds, sha256Digest } from "./digest.js";
import type { ResolvedImage } from "./image-store.js";
import type { Lease } from "./lease.js";
import { commitSnapshot, extractKey } from "./layer-stage.js";
import { MediaType, descriptorJson, type ContainerConfigJson, type Descriptor, type HistoryJson, type ImageConfigJson, type Manifest } from "./oci.js";
import type { RootfsMount } from "./types.js";

/** The digest of an empty layer: a tar of only its end-of-archive blocks (moby's DigestSHA256EmptyTar). */
export const EMPTY_LAYER_DIFF_ID = sha256Digest(Buffer.alloc(1024));

export interface CommitContext {
  client: ContainerdClient;
  snapshotter: string;
  lease: Lease;
  now: () => Date;
  signal?: AbortSignal;
}

/** A container config as the image config's "config" has it (Docker's keys; others kept as given). */
export type CommitConfig = ContainerConfigJson & Record<string, unknown>;

export interface CommitInput {
  /** The container's image. */
  parent: ResolvedImage;
  /** The container's snapshot mounts (as Snapshots/Prepare returned them). */
  mounts: readonly RootfsMount[];
  containerId: string;
  /** The container's config: the image's `container_config`, and the base of its `config`. */
  containerConfig: CommitConfig;
  /** The client's config, merged over the container's (dockerd's MergeConfigs); none: the container's. */
  config?: CommitConfig | undefined;
  /** Dockerfile instructions applied to `config` first. */
  changes?: readonly string[];
  author?: string;
  comment?: string;
}

export interface CommittedParts {
  target: Descriptor;
  manifest: Manifest;
  config: ImageConfigJson;
  configBytes: Buffer;
  manifestBytes: Buffer;
  /** False when the container had no changes (no layer was added). */
  layerAdded: boolean;
}

const isEmpty = (v: unknown) => v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && Object.keys(v as object).length === 0);
const envKey = (e: string) => e.split("=", 1)[0];

/** dockerd's merge of the commit config (`user`) with the container's: user values win. */
export function mergeCommitConfig(user: CommitConfig, container: CommitConfig): CommitConfig {
  const c: CommitConfig = structuredClone(user);
  if (!c.User) c.User = container.User ?? "";
  if (isEmpty(c.ExposedPorts)) c.ExposedPorts = container.ExposedPorts;
  else c.ExposedPorts = { ...(container.ExposedPorts ?? {}), ...c.ExposedPorts };
  if (isEmpty(c.Env)) c.Env = container.Env ?? null;
  else {
    const keys = new Set(c.Env!.map(envKey));
    c.Env = [...c.Env!, ...(container.Env ?? []).filter((e) => !keys.has(envKey(e)))];
  }
  c.Labels = { ...(container.Labels ?? {}), ...(c.Labels ?? {}) };
  if (isEmpty(c.Entrypoint)) {
    if (isEmpty(c.Cmd)) {
      c.Cmd = container.Cmd ?? null;
      if (container.ArgsEscaped !== undefined) c.ArgsEscaped = container.ArgsEscaped;
    }
    if (c.Entrypoint === undefined || c.Entrypoint === null) c.Entrypoint = container.Entrypoint ?? null;
  }
  if (container.Healthcheck) c.Healthcheck = { ...container.Healthcheck, ...(c.Healthcheck ?? {}) };
  if (!c.WorkingDir) c.WorkingDir = container.WorkingDir ?? "";
  if (isEmpty(c.Volumes)) c.Volumes = container.Volumes ?? null;
  else c.Volumes = { ...(container.Volumes ?? {}), ...c.Volumes };
  if (!c.StopSignal && container.StopSignal) c.StopSignal = container.StopSignal;
  // Every key the container config has that the client left out (Hostname, Image, ...).
  for (const [k, v] of Object.entries(container)) if (!(k in c)) c[k] = structuredClone(v);
  return c;
}

const optionValue = (options: readonly string[], key: string) => options.find((o) => o.startsWith(key + "="))?.slice(key.length + 1);

/**
 * The image's filesystem under an overlay container snapshot, as mounts: its lowerdirs read-only
 * (one layer: a read-only bind, as containerd's View gives). A bind snapshot has no image below
 * (empty). Undefined when the mounts are of another kind.
 */
export function parentMounts(mounts: readonly RootfsMount[]): RootfsMount[] | undefined {
  if (mounts.length !== 1) return undefined;
  const m = mounts[0]!;
  if (m.type === "bind" || m.options.includes("bind") || m.options.includes("rbind")) return [];
  if (m.type !== "overlay") return undefined;
  const lowers = (optionValue(m.options, "lowerdir") ?? "").split(":").filter(Boolean);
  if (lowers.length === 0) return undefined;
  if (lowers.length === 1) return [{ type: "bind", source: lowers[0]!, options: ["ro", "rbind"] }];
  const carried = m.options.filter((o) => o === "userxattr");
  return [{ type: "overlay", source: "overlay", options: ["ro", `lowerdir=${lowers.join(":")}`, ...carried] }];
}

const isOciManifest = (parent: ResolvedImage) => parent.manifestDesc.mediaType === MediaType.ociManifest;

export async function commitContainer(ctx: CommitContext, o: CommitInput): Promise<CommittedParts> {
  // Parse the changes first: a bad one fails before anything is written. Without a config from
  // the client, the changes apply to the container's own (dockerd does the same).
  const userConfig = applyConfigChanges(o.config ?? o.containerConfig, o.changes ?? []) as CommitConfig;
  const config = mergeCommitConfig(userConfig, o.containerConfig);
  const opts = { headers: ctx.lease.headers, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  const snapshots = ctx.client.snapshots.rpc;

  let left = parentMounts(o.mounts);
  let viewKey: string | undefined;
  if (!left) {
    viewKey = `commit-view-${ctx.lease.id}`;
    left = (await snapshots.view({ snapshotter: ctx.snapshotter, key: viewKey, parent: o.parent.chainId ?? "" }, opts)).mounts
      .map((m) => ({ type: m.type, source: m.source, options: [...m.options] }));
  }
  let diff;
  try {
    diff = (await ctx.client.diff.rpc.diff({
      left: left.map((m) => ({ type: m.type, source: m.source, options: [...m.options] })),
      right: o.mounts.map((m) => ({ type: m.type, source: m.source, options: [...m.options] })),
      mediaType: MediaType.ociLayer,
      ref: `${ctx.lease.id}-commit`,
      labels: {},
    }, { ...opts, timeoutMs: 10 * 60_000 })).diff;
  } finally {
    if (viewKey) await snapshots.remove({ snapshotter: ctx.snapshotter, key: viewKey }, { headers: ctx.lease.headers }).catch(() => {});
  }
  if (!diff) throw errInvalidArgument("the diff service returned no layer");
  const diffId = diff.digest;
  const layerAdded = diffId !== EMPTY_LAYER_DIFF_ID;

  const oci = isOciManifest(o.parent);
  const layer: Descriptor = { mediaType: oci ? MediaType.ociLayer : MediaType.dockerLayer, digest: diff.digest, size: Number(diff.size) };
  const diffIds = layerAdded ? [...o.parent.diffIds, diffId] : [...o.parent.diffIds];
  const chain = chainIds(diffIds);
  const created = ctx.now().toISOString();
  const p = o.parent.config;
  const entry: HistoryJson = {
    created,
    ...(o.author ? { author: o.author } : {}),
    created_by: [...(o.containerConfig.Entrypoint ?? []), ...(o.containerConfig.Cmd ?? [])].join(" "),
    ...(o.comment ? { comment: o.comment } : {}),
    ...(layerAdded ? {} : { empty_layer: true }),
  };
  const imageConfig: ImageConfigJson = {
    architecture: p.architecture,
    ...(o.author ? { author: o.author } : {}),
    config,
    container: o.containerId,
    container_config: o.containerConfig,
    created,
    history: [...(p.history ?? []), entry],
    os: p.os,
    rootfs: { type: "layers", diff_ids: diffIds },
    ...(p.variant ? { variant: p.variant } : {}),
  };
  const configBytes = Buffer.from(JSON.stringify(imageConfig));
  const configDesc: Descriptor = { mediaType: oci ? MediaType.ociConfig : MediaType.dockerConfig, digest: sha256Digest(configBytes), size: configBytes.length };
  const wctx = { client: ctx.client, lease: ctx.lease, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  const top = chain.at(-1);
  await writeBlobBytes(wctx, configDesc, configBytes, top ? { [gcRefSnapshot(ctx.snapshotter)]: top } : {});
  const layers = layerAdded ? [...o.parent.manifest.layers, layer] : [...o.parent.manifest.layers];
  const manifestType = oci ? MediaType.ociManifest : MediaType.dockerManifest;
  const manifest: Manifest = { schemaVersion: 2, mediaType: manifestType, config: configDesc, layers };
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: manifestType, config: descriptorJson(configDesc), layers: layers.map(descriptorJson) }));
  const target: Descriptor = { mediaType: manifestType, digest: sha256Digest(manifestBytes), size: manifestBytes.length };
  await writeBlobBytes(wctx, target, manifestBytes, manifestLabels(configDesc, layers));

  if (layerAdded) await applyCommitted(ctx, layer, diffId, chain);
  return { target, manifest, config: imageConfig, configBytes, manifestBytes, layerAdded };
}

/** The new layer into a snapshot on the parent's chain, committed under its chain ID. */
async function applyCommitted(ctx: CommitContext, layer: Descriptor, diffId: string, chain: string[]): Promise<void> {
  const opts = { headers: ctx.lease.headers, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  const chainId = chain.at(-1)!;
  const key = extractKey(chainId);
  const prepared = await ctx.client.snapshots.rpc.prepare({ snapshotter: ctx.snapshotter, key, parent: chain.at(-2) ?? "" }, opts);
  let committed = false;
  try {
    const applied = await ctx.client.diff.rpc.apply(
      { diff: { mediaType: layer.mediaType, digest: layer.digest, size: BigInt(layer.size) }, mounts: prepared.mounts }, { ...opts, timeoutMs: 10 * 60_000 },
    );
    if (applied.applied?.digest !== diffId) throw errInvalidArgument(`committed layer ${layer.digest} applied as ${applied.applied?.digest}`);
    await commitSnapshot({ client: ctx.client, snapshotter: ctx.snapshotter, lease: ctx.lease, ...(ctx.signal ? { signal: ctx.signal } : {}) }, key, chainId);
    committed = true;
  } finally {
    if (!committed) await ctx.client.snapshots.rpc.remove({ snapshotter: ctx.snapshotter, key }, { headers: ctx.lease.headers }).catch(() => {});
  }
}
