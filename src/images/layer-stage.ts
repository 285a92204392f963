// Unpacking while loading or pulling. containerd's way is two passes: Content/Write the layer,
// then Diff/Apply reads it back, hashes it again and extracts it. Here a layer big enough to
// matter is also extracted, as it streams into the content store, into a "stage": an empty
// snapshot with no parent (its parent chain is not known yet: docker save puts manifest.json
// after the layers). When the image is unpacked, a staged layer is moved (rename, same
// filesystem) into the snapshot prepared on its parent and committed under its chain ID, so the
// blob is never read back. A stage that saw anything it does not handle, or a parent layout it
// cannot vouch for, is dropped and that layer goes through Diff/Apply as before.
//
// Only for the overlayfs snapshotter, whose mounts name their directories; everything happens
// under the operation's lease, so a crash leaves nothing containerd will not collect.
import diagnosticsChannel from "node:diagnostics_channel";
import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path/posix";
import { isAlreadyExists, isNotFound, type ContainerdClient } from "../containerd/index.js";
import { LayerExtractor, OPAQUE_XATTR, type ExtractedLayer } from "./layer-extract.js";
import type { Lease } from "./lease.js";
import { lsetxattr } from "../base/native-fs.js";

/**
 * Layers smaller than this go through Diff/Apply. 1 MiB: a load holds smaller archive files in
 * memory (they may be configs) and streams the rest, so every streamed layer is staged. Even
 * the 2 MiB busybox layer gains: staging it costs a few ms beside its Content/Write, where its
 * Diff/Apply took 80–90 ms after it. The price: reloading an archive whose layers are unpacked
 * extracts them again into a stage that is then dropped (Snapshots/Prepare + Remove), while the
 * blobs stream through Content/Write again anyway (a docker-archive names no digests).
 */
export const DEFAULT_STAGE_MIN_BYTES = 1 << 20;

/** Publishes why a staged layer fell back to Diff/Apply ({ layer, reason }). */
export const stageChannel = diagnosticsChannel.channel("berth:images:stage");

export interface StageContext {
  client: ContainerdClient;
  snapshotter: string;
  lease: Lease;
  signal?: AbortSignal;
}

export interface LayerStage {
  /** The stage snapshot's key (active, no parent). */
  readonly key: string;
  /** Its directory (the bind mount's source). */
  readonly dir: string;
  readonly extractor: LayerExtractor;
  /**
   * Set once every entry went in: the layer's diff ID, and what the move needs once the calls
   * still in flight are done (the unpack waits for them; the blob's commit does not).
   */
  done?: { diffId: string; layer: Promise<ExtractedLayer> };
}

/** Stages by layer digest, shared by the read/download side and the unpack. */
export type LayerStages = Map<string, LayerStage>;

/** Prepares an empty stage, or undefined when the snapshotter's mounts are not what it expects. */
export async function openStage(ctx: StageContext): Promise<LayerStage | undefined> {
  if (ctx.snapshotter !== "overlayfs") return undefined;
  const key = `stage-${randomBytes(8).toString("hex")}`;
  const opts = { headers: ctx.lease.headers, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  const r = await ctx.client.snapshots.rpc.prepare({ snapshotter: ctx.snapshotter, key, parent: "" }, opts);
  const m = r.mounts;
  const dir = m.length === 1 && m[0]!.type === "bind" ? m[0]!.source : undefined;
  if (dir && path.isAbsolute(dir) && (await isEmptyDir(dir))) return { key, dir, extractor: new LayerExtractor(dir) };
  await removeSnapshot(ctx, key);
  return undefined;
}

async function isEmptyDir(dir: string): Promise<boolean> {
  try { return (await fs.readdir(dir)).length === 0; } catch { return false; }
}

async function removeSnapshot(ctx: StageContext, key: string): Promise<void> {
  await ctx.client.snapshots.rpc.remove({ snapshotter: ctx.snapshotter, key }, { headers: ctx.lease.headers }).catch((e) => {
    if (!isNotFound(e)) throw e;
  });
}

/** Drops the stages nothing used (layers already unpacked, failed checks). */
export async function discardStages(ctx: StageContext, stages: LayerStages): Promise<void> {
  for (const s of new Set(stages.values())) {
    await s.extractor.abandon();
    await removeSnapshot(ctx, s.key).catch(() => {});
  }
  stages.clear();
}

/**
 * Keeps a stage that took every entry of a valid layer under the layer's digest; any other is
 * listed under its own key so that the operation drops it at the end.
 */
export function keepStage(stages: LayerStages, stage: LayerStage, digest: string | undefined, diffId: string | undefined, error: Error | undefined): void {
  if (digest && diffId && !error && !stages.has(digest)) {
    const layer = stage.extractor.finish();
    layer.catch(() => {}); // a failure makes the unpack use Diff/Apply
    stage.done = { diffId, layer };
    stages.set(digest, stage);
    return;
  }
  stages.set(`unfinished:${stage.key}`, stage); // discardStages() removes each stage once
}

/** The stage's extraction is complete and matches `diffId`. */
export function stageUsable(stage: LayerStage | undefined, diffId: string): stage is LayerStage & { done: NonNullable<LayerStage["done"]> } {
  return stage?.done?.diffId === diffId;
}

/** The key of the active snapshot a layer is applied or moved into before its commit. */
export function extractKey(chainId: string): string {
  return `extract-${randomBytes(6).toString("hex")}-${chainId}`;
}

/**
 * Commits the active snapshot `key` as `name`. If `name` exists, another unpack of the same
 * layers got there first (theirs is as good as ours): `key` is removed instead.
 */
export async function commitSnapshot(ctx: StageContext, key: string, name: string): Promise<void> {
  try {
    await ctx.client.snapshots.rpc.commit({ snapshotter: ctx.snapshotter, name, key }, { headers: ctx.lease.headers, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    await removeSnapshot(ctx, key);
  }
}

function fallBack(layer: string, reason: string): false {
  if (stageChannel.hasSubscribers) stageChannel.publish({ layer, reason });
  return false;
}

/**
 * Commits a staged layer as `chains[i]`: a base layer's stage is committed as it is; any other
 * is moved into a snapshot prepared on `chains[i - 1]`. False when it cannot be (the caller
 * applies the layer with Diff/Apply); the stage is used up either way.
 */
export async function commitStaged(
  ctx: StageContext, stage: LayerStage & { done: NonNullable<LayerStage["done"]> }, layerDigest: string, chains: string[], i: number,
): Promise<boolean> {
  const opts = { headers: ctx.lease.headers, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  const chainId = chains[i]!;
  let layer: ExtractedLayer;
  try {
    layer = await stage.done.layer;
  } catch (e) {
    return fallBack(layerDigest, `extraction did not finish: ${(e as Error).message}`);
  }
  if (i === 0) {
    // Nothing lies below a base layer: its whiteouts hide nothing (containerd's applier skips them).
    for (const w of layer.whiteouts) await fs.rm(path.join(stage.dir, w), { force: true });
    await commitSnapshot(ctx, stage.key, chainId);
    return true;
  }
  const key = extractKey(chainId);
  const prepared = await ctx.client.snapshots.rpc.prepare({ snapshotter: ctx.snapshotter, key, parent: chains[i - 1]! }, opts);
  let moved = false;
  try {
    const m = prepared.mounts;
    const option = (name: string) => m[0]?.options.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
    const upper = m.length === 1 && m[0]!.type === "overlay" ? option("upperdir") : undefined;
    const lowers = option("lowerdir")?.split(":") ?? [];
    if (!upper || lowers.length === 0 || !(await isEmptyDir(upper))) return fallBack(layerDigest, `unexpected mounts ${JSON.stringify(m.map((x) => x.type))}`);
    // A directory the layer did not list looks, through the overlay, like the one below it:
    // give it the owner and mode it has there (as containerd's applier does for missing parents).
    for (const d of layer.implicitDirs) {
      const below = await lookupBelow(lowers, d);
      if (!below || (below.isCharacterDevice() && below.rdev === 0)) continue;
      if (!below.isDirectory()) return fallBack(layerDigest, `${d} is a ${below.isSymbolicLink() ? "symlink" : "file"} (or under one) below`);
      const p = path.join(stage.dir, d);
      await fs.lchown(p, below.uid, below.gid);
      await fs.chmod(p, below.mode & 0o7777);
    }
    moved = true;
    for (const e of await fs.readdir(stage.dir)) await fs.rename(path.join(stage.dir, e), path.join(upper, e));
    if (layer.opaqueDirs.includes("")) lsetxattr(upper, OPAQUE_XATTR, "y");
    await commitSnapshot(ctx, key, chainId);
    await removeSnapshot(ctx, stage.key);
    return true;
  } catch (e) {
    if (ctx.signal?.aborted || moved) throw e;
    return fallBack(layerDigest, (e as Error).message);
  } finally {
    if (!moved) await removeSnapshot(ctx, key).catch(() => {});
  }
}

/**
 * lstat of `p` in the first of the lower directories (top first) that has it, walking one
 * component at a time so that a symlink on the way is reported, never followed.
 */
async function lookupBelow(lowers: string[], p: string): Promise<Stats | undefined> {
  const parts = p.split("/");
  next: for (const l of lowers) {
    let cur = l;
    for (let i = 0; i < parts.length; i++) {
      cur = path.join(cur, parts[i]!);
      let st: Stats;
      try { st = await fs.lstat(cur); } catch { continue next; }
      if (i === parts.length - 1 || st.isSymbolicLink()) return st;
      if (!st.isDirectory()) continue next;
    }
  }
  return undefined;
}
