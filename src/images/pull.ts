// Pulling from a registry, as containerd's Go client does it on top of the content store:
// resolve the manifest (an index picks linux/amd64), fetch the config, download the layers
// (3 at a time) straight into Content/Write with their digests checked, then label, unpack and
// name the image. A download whose connection drops resumes where containerd's ingest stands
// (STAT offset) with an HTTP Range request.
import { errInvalidArgument, errUnavailable, isBerthError, type ContainerdClient } from "../containerd/index.js";
import { LABEL_UNCOMPRESSED, gcRefSnapshot, indexLabels, manifestLabels, writeBlobBytes } from "./blobs.js";
import { sha256Digest, topChainId } from "./digest.js";
import { DistributionClient } from "./distribution.js";
import { RegistryHosts } from "./registry-hosts.js";
import { LayerChecker } from "./layer-check.js";
import type { StagingOptions } from "./archive-read.js";
import { keepStage, openStage, type LayerStage } from "./layer-stage.js";
import type { Lease } from "./lease.js";
import {
  isIndexType, isManifestType, parseConfig, parseJson, parseManifestOrIndex, selectManifest, checkLayerMediaType,
  type Descriptor, type ImageConfigJson, type Manifest,
} from "./oci.js";
import { parseReference, type ImageReference } from "./reference.js";
import type { ProgressCallback, RegistryCredentials, RegistryOptions } from "./types.js";

const CONFIG_LIMIT = 20 << 20;

let defaultHosts: RegistryHosts | undefined;

export async function distributionClient(registry: RegistryOptions | undefined, r: ImageReference, actions: string, credentials: RegistryCredentials | undefined, signal?: AbortSignal): Promise<DistributionClient> {
  const hosts = registry?.hosts ?? (defaultHosts ??= new RegistryHosts());
  const plain = registry?.plainHttp?.(r.domain);
  return new DistributionClient({
    domain: r.domain,
    repository: r.path,
    endpoints: plain ? [{ url: `http://${r.domain}` }] : await hosts.endpoints(r.domain),
    tokenDispatcher: await hosts.generic(),
    credentials: credentials ?? registry?.credentials?.(r.domain),
    actions,
    ...(signal ? { signal } : {}),
  });
}

export interface FetchedManifests {
  ref: ImageReference;
  target: Descriptor;
  /** Index bytes when the target is an index. */
  indexBytes: Buffer | undefined;
  manifestDesc: Descriptor;
  manifestBytes: Buffer;
  manifest: Manifest;
  configBytes: Buffer;
  config: ImageConfigJson;
}

export function manifestMediaType(headerType: string, bytes: Buffer, what: string): string {
  if (isManifestType(headerType) || isIndexType(headerType)) return headerType;
  const v = parseJson(bytes, what) as { mediaType?: unknown };
  if (typeof v?.mediaType === "string") return v.mediaType;
  throw errInvalidArgument(`${what}: unknown media type ${JSON.stringify(headerType)}`);
}

/** Resolves a reference to its platform manifest and config (nothing is written yet). */
export async function fetchManifests(dc: DistributionClient, ref: string): Promise<FetchedManifests> {
  const r = parseReference(ref);
  const reference = r.digest ?? r.tag!;
  const got = await dc.getManifest(reference);
  const digest = sha256Digest(got.bytes);
  const what = `manifest ${dc.what}${r.digest ? "@" : ":"}${reference}`;
  if (r.digest && digest !== r.digest) throw errInvalidArgument(`${what}: content has digest ${digest}`);
  if (got.digestHeader && got.digestHeader !== digest) throw errInvalidArgument(`${what}: content has digest ${digest}, the registry says ${got.digestHeader}`);
  const mediaType = manifestMediaType(got.mediaType, got.bytes, what);
  const target: Descriptor = { mediaType, digest, size: got.bytes.length };
  let parsed = parseManifestOrIndex(got.bytes, target);
  let manifestDesc = target;
  let manifestBytes = got.bytes;
  let indexBytes: Buffer | undefined;
  if (parsed.kind === "index") {
    indexBytes = got.bytes;
    manifestDesc = selectManifest(parsed.index, digest);
    if (!isManifestType(manifestDesc.mediaType)) throw errInvalidArgument(`${what}: nested indexes are not supported`);
    const m = await dc.getManifest(manifestDesc.digest);
    if (sha256Digest(m.bytes) !== manifestDesc.digest || m.bytes.length !== manifestDesc.size) {
      throw errInvalidArgument(`manifest ${manifestDesc.digest}: content does not match its digest`);
    }
    manifestBytes = m.bytes;
    parsed = parseManifestOrIndex(m.bytes, manifestDesc);
  }
  if (parsed.kind !== "manifest") throw errInvalidArgument(`${what}: nested indexes are not supported`);
  const manifest = parsed.manifest;
  for (const l of manifest.layers) checkLayerMediaType(l);
  if (manifest.config.size > CONFIG_LIMIT) throw errInvalidArgument(`config ${manifest.config.digest} is larger than ${CONFIG_LIMIT} bytes`);
  const { res } = await dc.getBlob(manifest.config.digest, 0);
  const configBytes = Buffer.from(await res.arrayBuffer());
  if (configBytes.length !== manifest.config.size || sha256Digest(configBytes) !== manifest.config.digest) {
    throw errInvalidArgument(`config ${manifest.config.digest}: content does not match its digest or size`);
  }
  const config = parseConfig(configBytes, manifest.config.digest);
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw errInvalidArgument(`image ${manifest.config.digest}: ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff IDs`);
  }
  return { ref: r, target, indexBytes, manifestDesc, manifestBytes, manifest, configBytes, config };
}

/** A body that ended early or broke off: the download may resume. */
class Interrupted extends Error {}

export interface DownloadContext {
  client: ContainerdClient;
  lease: Lease;
  dc: DistributionClient;
  signal: AbortSignal;
  attempts: number;
  onProgress?: ProgressCallback;
  /** Extract big layers while they download (layer-stage.ts). */
  staging?: StagingOptions;
}

/** Downloads one layer into the content store, checked on the way; resumes after a drop. */
export async function downloadLayer(ctx: DownloadContext, layer: Descriptor, diffId: string): Promise<void> {
  const ref = `berth-pull-${layer.digest}`;
  const report = (status: "downloading" | "exists" | "verifying" | "done", current: number) => ctx.onProgress?.({ id: layer.digest, status, current, total: layer.size });
  const open = async () => {
    // Another pull of the same blob holds the ref: wait for it (its commit ends this with "exists").
    for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
      try {
        return await ctx.client.content.openWriter({ ref, total: layer.size, expected: layer.digest, lease: ctx.lease.id, signal: ctx.signal });
      } catch (e) {
        if (!(isBerthError(e, "unavailable") && /locked/.test(e.message)) || ctx.signal.aborted) throw e;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  };
  // Made once, at the first attempt that has bytes to fetch; kept across resumed attempts.
  let checker: LayerChecker | undefined;
  let stage: LayerStage | undefined;
  let fed = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      let w = await open();
      if (w.exists) {
        // Another pull committed it meanwhile: its unpack is as good as ours.
        checker?.destroy();
        if (stage) keepStage(ctx.staging!.stages, stage, undefined, undefined, undefined);
        report("exists", layer.size);
        return;
      }
      if (!checker) {
        // Staging is a shortcut: when it cannot start, the unpack reads the blob back as usual.
        if (ctx.staging && layer.size >= ctx.staging.minBytes) {
          stage = await openStage({ client: ctx.client, snapshotter: ctx.staging.snapshotter, lease: ctx.lease, signal: ctx.signal }).catch(() => undefined);
        }
        checker = new LayerChecker(`layer ${layer.digest}`, { callerHashesRaw: true, ...(stage ? { sink: stage.extractor } : {}) });
      }
      if (w.offset !== fed) {
        // An ingest berth cannot vouch for (left by an earlier run): start it over.
        await w.abort();
        w = await open();
        if (w.offset !== fed) throw errInvalidArgument(`layer ${layer.digest}: ingest ${ref} is at ${w.offset}, expected ${fed}`);
      }
      try {
        const { res, offset } = await ctx.dc.getBlob(layer.digest, fed, ctx.signal);
        let skip = fed - offset;
        report("downloading", fed);
        let lastReport = fed;
        try {
          for await (const raw of res.body as unknown as AsyncIterable<Uint8Array>) {
            let chunk = raw;
            if (skip > 0) {
              if (chunk.length <= skip) { skip -= chunk.length; continue; }
              chunk = chunk.subarray(skip);
              skip = 0;
            }
            if (fed + chunk.length > layer.size) throw errInvalidArgument(`layer ${layer.digest}: the registry sent more than ${layer.size} bytes`);
            fed += chunk.length;
            await checker.write(chunk);
            await w.write(chunk);
            if (fed - lastReport >= 1 << 20) { lastReport = fed; report("downloading", fed); }
          }
        } catch (e) {
          if (isBerthError(e) || ctx.signal.aborted) throw e;
          throw new Interrupted(`layer ${layer.digest}: download broke off at ${fed} of ${layer.size} bytes: ${(e as Error).message}`, { cause: e });
        }
        if (fed < layer.size) throw new Interrupted(`layer ${layer.digest}: download ended at ${fed} of ${layer.size} bytes`);
        report("verifying", fed);
        // containerd hashed every byte it holds for the ref, across resumed attempts too.
        const digest = await w.digest();
        if (digest !== layer.digest) throw errInvalidArgument(`layer ${layer.digest}: downloaded content has digest ${digest}`);
        const check = await checker.end(digest);
        if (check.diffId !== diffId) throw errInvalidArgument(`layer ${layer.digest}: diff ID ${check.diffId} does not match the config's ${diffId}`);
        if (stage) { keepStage(ctx.staging!.stages, stage, layer.digest, check.diffId, checker.sinkError); stage = undefined; }
        await w.commit(layer.digest, check.compression === "gzip" ? { [LABEL_UNCOMPRESSED]: diffId } : {});
        report("done", layer.size);
        return;
      } catch (e) {
        if (e instanceof Interrupted && attempt < ctx.attempts && !ctx.signal.aborted) {
          // Keep the ingest and the check and stage state; the next attempt resumes at containerd's offset.
          await w.flush();
          await w.close();
          continue;
        }
        await w.abort().catch(() => {});
        if (e instanceof Interrupted) throw errUnavailable(`registry ${ctx.dc.what}: ${e.message}`, { cause: e });
        throw e;
      }
    }
  } catch (e) {
    checker?.destroy();
    // The pull's end drops the stage (after its extraction stops).
    if (stage) keepStage(ctx.staging!.stages, stage, undefined, undefined, e as Error);
    throw e;
  }
}


/** Writes config, manifest and index with their GC labels, children first. */
export async function writeManifests(ctx: { client: ContainerdClient; lease: Lease; snapshotter: string; signal?: AbortSignal }, f: FetchedManifests): Promise<void> {
  const wctx = { client: ctx.client, lease: ctx.lease, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  const chain = topChainId(f.config.rootfs.diff_ids);
  await writeBlobBytes(wctx, f.manifest.config, f.configBytes, chain ? { [gcRefSnapshot(ctx.snapshotter)]: chain } : {});
  await writeBlobBytes(wctx, f.manifestDesc, f.manifestBytes, manifestLabels(f.manifest.config, f.manifest.layers));
  if (f.indexBytes) await writeBlobBytes(wctx, f.target, f.indexBytes, indexLabels([f.manifestDesc]));
}
