// Unpacking an image into snapshots, as containerd's Go unpacker does, over the API: per layer
// Snapshots/Prepare("extract-<rand>-<chainID>", parent = previous chainID) → Diff/Apply →
// Snapshots/Commit(chainID). Layers whose chainID is already a committed snapshot are skipped;
// when the top one is, the image is unpacked and the cost is one Snapshots/Stat.
import {
  errInvalidArgument, isNotFound, type ContainerdClient,
} from "../containerd/index.js";
import { ensureLabels, gcRefSnapshot } from "./blobs.js";
import { chainIds } from "./digest.js";
import type { ResolvedImage } from "./image-store.js";
import { withLease, type Lease } from "./lease.js";
import { commitSnapshot, commitStaged, extractKey, stageUsable, type LayerStages } from "./layer-stage.js";
import type { PreparedRootfs, ProgressCallback, UnpackResult } from "./types.js";

export interface UnpackContext {
  client: ContainerdClient;
  snapshotter: string;
  now: () => Date;
  leaseExpiryMs: number;
}

async function exists(ctx: UnpackContext, key: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await ctx.client.snapshots.rpc.stat({ snapshotter: ctx.snapshotter, key }, signal ? { signal } : undefined);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

export async function unpackImage(
  ctx: UnpackContext,
  image: ResolvedImage,
  o: { lease?: Lease; signal?: AbortSignal; onProgress?: ProgressCallback; configLabelled?: boolean; stages?: LayerStages } = {},
): Promise<UnpackResult> {
  const chains = chainIds(image.diffIds);
  const top = chains.at(-1);
  const result = (applied: number): UnpackResult => ({ snapshotter: ctx.snapshotter, chainId: top, applied });
  if (!top || (await exists(ctx, top, o.signal))) return result(0);
  const run = async (lease: Lease) => {
    // The highest layer already there; everything above it is applied in order.
    let start = 0;
    for (let i = chains.length - 2; i >= 0; i--) {
      if (await exists(ctx, chains[i]!, o.signal)) { start = i + 1; break; }
    }
    for (let i = start; i < chains.length; i++) {
      await applyLayer(ctx, image, i, chains, lease, o);
    }
    if (!o.configLabelled) {
      await ensureLabels({ client: ctx.client, lease, ...(o.signal ? { signal: o.signal } : {}) }, image.configDesc.digest, { [gcRefSnapshot(ctx.snapshotter)]: top });
    }
    return result(chains.length - start);
  };
  if (o.lease) return run(o.lease);
  return withLease(ctx.client, { expiryMs: ctx.leaseExpiryMs, now: ctx.now, prefix: "unpack", ...(o.signal ? { signal: o.signal } : {}) }, run);
}

async function applyLayer(
  ctx: UnpackContext, image: ResolvedImage, i: number, chains: string[], lease: Lease,
  o: { signal?: AbortSignal; onProgress?: ProgressCallback; stages?: LayerStages },
): Promise<void> {
  const layer = image.manifest.layers[i]!;
  const chainId = chains[i]!;
  const opts = { headers: lease.headers, ...(o.signal ? { signal: o.signal } : {}) };
  o.onProgress?.({ id: layer.digest, status: "extracting", current: 0, total: layer.size });
  const sctx = { client: ctx.client, snapshotter: ctx.snapshotter, lease, ...(o.signal ? { signal: o.signal } : {}) };
  const stage = o.stages?.get(layer.digest);
  if (stageUsable(stage, image.diffIds[i]!)) {
    if (await commitStaged(sctx, stage, layer.digest, chains, i)) {
      o.stages!.delete(layer.digest);
      o.onProgress?.({ id: layer.digest, status: "done", current: layer.size, total: layer.size });
      return;
    }
  }
  const key = extractKey(chainId);
  const prepared = await ctx.client.snapshots.rpc.prepare(
    { snapshotter: ctx.snapshotter, key, parent: i > 0 ? chains[i - 1]! : "" }, opts,
  );
  let committed = false;
  try {
    const applied = await ctx.client.diff.rpc.apply(
      { diff: { mediaType: layer.mediaType, digest: layer.digest, size: BigInt(layer.size) }, mounts: prepared.mounts }, { ...opts, timeoutMs: 10 * 60_000 },
    );
    if (applied.applied?.digest !== image.diffIds[i]) {
      throw errInvalidArgument(`layer ${layer.digest}: applied content has diff ID ${applied.applied?.digest}, the config says ${image.diffIds[i]}`);
    }
    await commitSnapshot(sctx, key, chainId);
    committed = true;
  } finally {
    if (!committed) {
      await ctx.client.snapshots.rpc.remove({ snapshotter: ctx.snapshotter, key }, { headers: lease.headers }).catch(() => {});
    }
  }
  o.onProgress?.({ id: layer.digest, status: "done", current: layer.size, total: layer.size });
}

/** RFC 3339 in seconds, as containerd's Go client writes gc.root. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The container's writable snapshot on top of the image: one Snapshots/Prepare with a gc.root
 * label (no lease round trips; rpc-floor.md). If the image is not unpacked yet, Prepare fails
 * with not-found, the image is unpacked and Prepare is tried again.
 */
export async function prepareRootfs(
  ctx: UnpackContext, containerId: string, image: ResolvedImage, signal?: AbortSignal,
): Promise<PreparedRootfs> {
  const req = {
    snapshotter: ctx.snapshotter, key: containerId, parent: image.chainId ?? "",
    labels: { "containerd.io/gc.root": rfc3339(ctx.now()) },
  };
  const o = signal ? { signal } : undefined;
  let r;
  try {
    r = await ctx.client.snapshots.rpc.prepare(req, o);
  } catch (e) {
    if (!isNotFound(e) || !image.chainId) throw e;
    await unpackImage(ctx, image, signal ? { signal } : {});
    r = await ctx.client.snapshots.rpc.prepare(req, o);
  }
  return {
    snapshotter: ctx.snapshotter,
    key: containerId,
    mounts: r.mounts.map((m) => ({ type: m.type, source: m.source, ...(m.target ? { target: m.target } : {}), options: [...m.options] })),
  };
}

export async function removeRootfs(ctx: UnpackContext, key: string, signal?: AbortSignal): Promise<void> {
  try {
    await ctx.client.snapshots.rpc.remove({ snapshotter: ctx.snapshotter, key }, signal ? { signal } : undefined);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}
