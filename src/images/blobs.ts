// Writing whole blobs held in memory (manifests, configs, small layers) and keeping the GC
// labels right on blobs that already existed.
import { errInvalidArgument, isNotFound, type ContainerdClient } from "../containerd/index.js";
import { sha256Digest } from "./digest.js";
import type { Lease } from "./lease.js";
import type { Descriptor } from "./oci.js";

export const LABEL_UNCOMPRESSED = "containerd.io/uncompressed";
export const gcRefContent = (key: string) => `containerd.io/gc.ref.content.${key}`;
export const gcRefSnapshot = (snapshotter: string) => `containerd.io/gc.ref.snapshot.${snapshotter}`;

/** GC labels of a manifest: it holds its config and layers. */
export function manifestLabels(config: Descriptor, layers: Descriptor[]): Record<string, string> {
  const l: Record<string, string> = { [gcRefContent("config")]: config.digest };
  layers.forEach((d, i) => { l[gcRefContent(`l.${i}`)] = d.digest; });
  return l;
}

/** GC labels of an index: it holds its manifests. */
export function indexLabels(manifests: Descriptor[]): Record<string, string> {
  const l: Record<string, string> = {};
  manifests.forEach((d, i) => { l[gcRefContent(`m.${i}`)] = d.digest; });
  return l;
}

export interface WriteBlobContext {
  client: ContainerdClient;
  lease: Lease;
  signal?: AbortSignal;
}

/**
 * Writes a blob from memory under the lease: digest and size checked here and by containerd.
 * If containerd already has it, the labels are set with Content/Update (a blob written by an
 * earlier, interrupted operation may lack them).
 */
export async function writeBlobBytes(ctx: WriteBlobContext, desc: Pick<Descriptor, "digest" | "size">, bytes: Uint8Array, labels: Record<string, string>): Promise<{ written: boolean }> {
  if (bytes.length !== desc.size) throw errInvalidArgument(`blob ${desc.digest}: ${bytes.length} bytes, expected ${desc.size}`);
  const actual = sha256Digest(bytes);
  if (actual !== desc.digest) throw errInvalidArgument(`blob ${desc.digest}: digest does not match the content (${actual})`);
  const w = await ctx.client.content.openWriter({
    ref: `${ctx.lease.id}-${desc.digest}`, total: desc.size, expected: desc.digest, lease: ctx.lease.id, ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (w.exists) {
    await ensureLabels(ctx, desc.digest, labels);
    return { written: false };
  }
  try {
    for (let off = w.offset; off < bytes.length; off += 1 << 20) await w.write(bytes.subarray(off, Math.min(bytes.length, off + (1 << 20))));
    const r = await w.commit(desc.digest, labels);
    if (!r.written) await ensureLabels(ctx, desc.digest, labels);
    return r;
  } catch (e) {
    await w.abort().catch(() => {});
    throw e;
  }
}

/** Content/Update of the given labels only (other labels are kept). */
export async function ensureLabels(ctx: WriteBlobContext, digest: string, labels: Record<string, string>): Promise<void> {
  const keys = Object.keys(labels);
  if (keys.length === 0) return;
  try {
    await ctx.client.content.rpc.update(
      { info: { digest, labels }, updateMask: { paths: keys.map((k) => `labels.${k}`) } },
      { headers: ctx.lease.headers, ...(ctx.signal ? { signal: ctx.signal } : {}) },
    );
  } catch (e) {
    if (isNotFound(e)) throw errInvalidArgument(`blob ${digest} vanished while being labelled`, { cause: e });
    throw e;
  }
}
