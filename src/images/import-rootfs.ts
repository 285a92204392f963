// `docker import`: a plain rootfs tarball (optionally gzipped, stored as given) becomes a
// one-layer image with a config built from the changes.
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { errInvalidArgument, type ContainerdClient } from "../containerd/index.js";
import { LABEL_UNCOMPRESSED, gcRefSnapshot, manifestLabels, writeBlobBytes } from "./blobs.js";
import { applyConfigChanges } from "./config-changes.js";
import { sha256Digest } from "./digest.js";
import { LayerChecker } from "./layer-check.js";
import type { Lease } from "./lease.js";
import { HOST_PLATFORM, MediaType, descriptorJson, type Descriptor, type ImageConfigJson, type Manifest } from "./oci.js";

export interface ImportedParts {
  target: Descriptor;
  manifest: Manifest;
  config: ImageConfigJson;
  configBytes: Buffer;
  manifestBytes: Buffer;
}

export async function importTarball(
  ctx: { client: ContainerdClient; lease: Lease; snapshotter: string; now: () => Date; signal?: AbortSignal },
  source: Readable,
  o: { changes?: string[]; message?: string },
): Promise<ImportedParts> {
  // Parse the changes first: a bad one fails before any byte is written.
  const runtimeConfig = applyConfigChanges({}, o.changes ?? []);
  const checker = new LayerChecker("imported rootfs", { callerHashesRaw: true });
  const writer = await ctx.client.content.openWriter({
    ref: `${ctx.lease.id}-import-${randomBytes(4).toString("hex")}`, total: undefined, lease: ctx.lease.id, ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  let layer: Descriptor;
  let diffId: string;
  try {
    let size = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length;
      await checker.write(chunk);
      await writer.write(chunk);
    }
    if (size === 0) throw errInvalidArgument("the imported tarball is empty");
    // containerd hashed what it was sent: its digest names the blob (and, uncompressed, the layer).
    const digest = await writer.digest();
    const check = await checker.end(digest);
    diffId = check.diffId;
    await writer.commit(digest, check.compression === "gzip" ? { [LABEL_UNCOMPRESSED]: diffId } : {});
    layer = { mediaType: check.compression === "gzip" ? MediaType.dockerLayerGzip : MediaType.dockerLayer, digest, size };
  } catch (e) {
    checker.destroy();
    await writer.abort().catch(() => {});
    throw e;
  }
  const created = ctx.now().toISOString();
  const config: ImageConfigJson = {
    architecture: HOST_PLATFORM.architecture,
    os: HOST_PLATFORM.os,
    created,
    config: runtimeConfig,
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created, created_by: "", comment: o.message || "Imported from -" }],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDesc: Descriptor = { mediaType: MediaType.dockerConfig, digest: sha256Digest(configBytes), size: configBytes.length };
  const wctx = { client: ctx.client, lease: ctx.lease, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  await writeBlobBytes(wctx, configDesc, configBytes, { [gcRefSnapshot(ctx.snapshotter)]: diffId });
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: configDesc, layers: [layer] };
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config: descriptorJson(configDesc), layers: [descriptorJson(layer)] }));
  const target: Descriptor = { mediaType: MediaType.dockerManifest, digest: sha256Digest(manifestBytes), size: manifestBytes.length };
  await writeBlobBytes(wctx, target, manifestBytes, manifestLabels(configDesc, [layer]));
  return { target, manifest, config, configBytes, manifestBytes };
}
