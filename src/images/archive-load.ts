// `docker load`: turns what readArchive found into images. A docker-archive's manifest.json
// entries become Docker schema 2 manifests (as containerd's importer builds them); an OCI
// layout's index.json names its manifests directly. Every layer must match its diff ID, every
// named blob must be there, and the blobs are labelled so that the manifest holds its config
// and layers (gc.ref.content.*) and the config holds the unpacked snapshot
// (gc.ref.snapshot.<snapshotter>) before the lease is dropped.
import type { Readable } from "node:stream";
import { errInvalidArgument, errNotFound, type ContainerdClient } from "../containerd/index.js";
import {
  readArchive, layerCheckOf, resolveArchivePath, digestFromBlobPath,
  type ArchiveBlob, type ArchiveContents,
} from "./archive-read.js";
import { ensureLabels, gcRefSnapshot, indexLabels, LABEL_UNCOMPRESSED, manifestLabels, writeBlobBytes } from "./blobs.js";
import { sha256Digest, topChainId } from "./digest.js";
import type { ImageStore, ResolvedImage } from "./image-store.js";
import type { Lease } from "./lease.js";
import {
  ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, MediaType, descriptorJson, isIndexType, isManifestType, parseConfig,
  parseJson, parseManifestOrIndex, selectManifest, layerCompression,
  type Descriptor, type ImageConfigJson, type Manifest,
} from "./oci.js";
import { normalizeReference } from "./reference.js";
import type { ProgressCallback } from "./types.js";

/** A blob to have in the content store with these labels. */
interface PlannedBlob {
  desc: Descriptor;
  /** From memory; undefined when the blob was streamed into the store already. */
  bytes: Buffer | undefined;
  labels: Record<string, string>;
}

/** One image of the archive, ready to be written. */
export interface PlannedImage {
  names: string[];
  target: Descriptor;
  manifestDesc: Descriptor;
  manifest: Manifest;
  config: ImageConfigJson;
  /** Children first: layers, config, manifest, then the index if the target is one. */
  blobs: PlannedBlob[];
}

export interface LoadPlanContext {
  snapshotter: string;
  signal?: AbortSignal;
}

export async function readAndPlan(
  ctx: { client: ContainerdClient; lease: Lease; snapshotter: string; signal?: AbortSignal; onProgress?: ProgressCallback },
  source: Readable,
): Promise<PlannedImage[]> {
  const contents = await readArchive(ctx, source);
  if (contents.json.has("oci-layout")) return mergeByTarget(await planOciLayout(ctx, contents));
  if (contents.json.has("manifest.json")) return mergeByTarget(await planDockerArchive(ctx, contents));
  throw errInvalidArgument("unrecognized image archive: it has neither manifest.json (docker save) nor oci-layout and index.json (OCI layout)");
}

/** One image per target, with the names of every entry that named it (index.json has one entry per name). */
function mergeByTarget(images: PlannedImage[]): PlannedImage[] {
  const byTarget = new Map<string, PlannedImage>();
  for (const img of images) {
    const seen = byTarget.get(img.target.digest);
    if (!seen) { byTarget.set(img.target.digest, { ...img, names: [...new Set(img.names)] }); continue; }
    for (const n of img.names) if (!seen.names.includes(n)) seen.names.push(n);
  }
  return [...byTarget.values()];
}

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

function parseDockerManifests(bytes: Buffer): DockerManifestEntry[] {
  const v = parseJson(bytes, "manifest.json");
  if (!Array.isArray(v)) throw errInvalidArgument("manifest.json is not a list");
  return v.map((m: unknown, i) => {
    const o = (typeof m === "object" && m !== null ? m : {}) as Record<string, unknown>;
    // Go's JSON decoding matches keys case-insensitively; docker writes these exact keys.
    const get = (k: string) => o[k] ?? o[Object.keys(o).find((x) => x.toLowerCase() === k.toLowerCase()) ?? ""];
    const Config = get("Config");
    const Layers = get("Layers");
    const RepoTags = get("RepoTags");
    if (typeof Config !== "string") throw errInvalidArgument(`manifest.json[${i}] has no Config`);
    if (!Array.isArray(Layers) || Layers.some((l) => typeof l !== "string")) throw errInvalidArgument(`manifest.json[${i}] has no Layers list`);
    if (RepoTags != null && (!Array.isArray(RepoTags) || RepoTags.some((t) => typeof t !== "string"))) throw errInvalidArgument(`manifest.json[${i}]: RepoTags is not a list of strings`);
    return { Config, Layers: Layers as string[], RepoTags: (RepoTags as string[] | null | undefined) ?? null };
  });
}

/** Bytes of an archive blob: from memory, or read back from the content store it streamed into. */
async function blobBytes(store: BytesReader, blob: ArchiveBlob): Promise<Buffer> {
  return blob.bytes ?? store.readBlob({ digest: blob.digest, size: blob.size });
}
interface BytesReader { readBlob(d: { digest: string; size: number }): Promise<Buffer> }

function findBlob(contents: ArchiveContents, p: string, what: string): ArchiveBlob {
  const resolved = resolveArchivePath(contents, p);
  const blob = contents.blobs.get(resolved);
  if (blob) return blob;
  const json = contents.json.get(resolved);
  if (json) {
    const b: ArchiveBlob = { path: resolved, digest: sha256Digest(json), size: json.length, bytes: json, stored: false, layer: undefined, layerError: undefined };
    contents.blobs.set(resolved, b);
    return b;
  }
  throw errNotFound(`${what} ${JSON.stringify(p)} is missing from the archive`);
}

async function planLayers(contents: ArchiveContents, paths: string[], diffIds: string[], mediaTypes: (string | undefined)[]): Promise<{ layers: Descriptor[]; blobs: PlannedBlob[] }> {
  if (paths.length !== diffIds.length) throw errInvalidArgument(`image has ${paths.length} layers but its config lists ${diffIds.length} diff IDs`);
  const layers: Descriptor[] = [];
  const blobs: PlannedBlob[] = [];
  for (let i = 0; i < paths.length; i++) {
    const blob = findBlob(contents, paths[i]!, "layer");
    const check = await layerCheckOf(blob, `layer ${paths[i]}`);
    if (check.diffId !== diffIds[i]) {
      throw errInvalidArgument(`layer ${paths[i]}: its content (diff ID ${check.diffId}) does not match the config's diff ID ${diffIds[i]}`);
    }
    const declared = mediaTypes[i];
    if (declared !== undefined) {
      const c = layerCompression(declared);
      if (c === "gzip" && check.compression !== "gzip") throw errInvalidArgument(`layer ${paths[i]}: media type ${declared} but the data is not gzip`);
    }
    const mediaType = declared ?? (check.compression === "gzip" ? MediaType.dockerLayerGzip : MediaType.dockerLayer);
    const desc: Descriptor = { mediaType, digest: blob.digest, size: blob.size };
    layers.push(desc);
    blobs.push({ desc, bytes: blob.bytes, labels: check.compression === "gzip" ? { [LABEL_UNCOMPRESSED]: check.diffId } : {} });
  }
  return { layers, blobs };
}

function configLabels(snapshotter: string, config: ImageConfigJson): Record<string, string> {
  const chain = topChainId(config.rootfs.diff_ids);
  return chain ? { [gcRefSnapshot(snapshotter)]: chain } : {};
}

async function planDockerArchive(ctx: LoadPlanContext & { client: ContainerdClient }, contents: ArchiveContents): Promise<PlannedImage[]> {
  const reader = contentReader(ctx.client);
  const out: PlannedImage[] = [];
  for (const m of parseDockerManifests(contents.json.get("manifest.json")!)) {
    const cfgBlob = findBlob(contents, m.Config, "image config");
    const cfgBytes = await blobBytes(reader, cfgBlob);
    const namedHex = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/.exec(resolveArchivePath(contents, m.Config))?.[1];
    if (namedHex && `sha256:${namedHex}` !== cfgBlob.digest) {
      throw errInvalidArgument(`image config ${m.Config}: digest does not match the content (${cfgBlob.digest})`);
    }
    const config = parseConfig(cfgBytes, cfgBlob.digest);
    const { layers, blobs } = await planLayers(contents, m.Layers, config.rootfs.diff_ids, m.Layers.map(() => undefined));
    const configDesc: Descriptor = { mediaType: MediaType.dockerConfig, digest: cfgBlob.digest, size: cfgBlob.size };
    // Field order and media types as containerd's importer writes them, so the same archive
    // gives the same manifest digest in berth, ctr and nerdctl.
    const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: configDesc, layers };
    const mBytes = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaType.dockerManifest, config: descriptorJson(configDesc), layers: layers.map(descriptorJson),
    }));
    const manifestDesc: Descriptor = { mediaType: MediaType.dockerManifest, digest: sha256Digest(mBytes), size: mBytes.length };
    blobs.push({ desc: configDesc, bytes: cfgBlob.bytes, labels: configLabels(ctx.snapshotter, config) });
    blobs.push({ desc: manifestDesc, bytes: mBytes, labels: manifestLabels(configDesc, layers) });
    out.push({ names: (m.RepoTags ?? []).map(normalizeReference), target: manifestDesc, manifestDesc, manifest, config, blobs });
  }
  return out;
}

async function planOciLayout(ctx: LoadPlanContext & { client: ContainerdClient }, contents: ArchiveContents): Promise<PlannedImage[]> {
  const reader = contentReader(ctx.client);
  const layout = parseJson(contents.json.get("oci-layout")!, "oci-layout") as { imageLayoutVersion?: unknown };
  if (layout?.imageLayoutVersion !== "1.0.0") throw errInvalidArgument(`unsupported OCI layout version ${JSON.stringify(layout?.imageLayoutVersion)}`);
  const indexBytes = contents.json.get("index.json");
  if (!indexBytes) throw errInvalidArgument("OCI layout without index.json");
  const parsed = parseManifestOrIndex(indexBytes, { digest: "index.json", mediaType: MediaType.ociIndex });
  if (parsed.kind !== "index") throw errInvalidArgument("index.json is not an image index");
  // docker 25+ writes manifest.json beside the layout: its RepoTags name images by config.
  const tagsByConfig = new Map<string, string[]>();
  if (contents.json.has("manifest.json")) {
    for (const m of parseDockerManifests(contents.json.get("manifest.json")!)) {
      const d = digestFromBlobPath(resolveArchivePath(contents, m.Config));
      if (d && m.RepoTags) tagsByConfig.set(d, [...(tagsByConfig.get(d) ?? []), ...m.RepoTags.map(normalizeReference)]);
    }
  }
  const blobOf = (d: Descriptor, what: string) => {
    const b = findBlob(contents, `blobs/sha256/${d.digest.slice("sha256:".length)}`, `${what} ${d.digest}`);
    if (b.size !== d.size) throw errInvalidArgument(`${what} ${d.digest}: ${b.size} bytes in the archive, the descriptor says ${d.size}`);
    return b;
  };
  const out: PlannedImage[] = [];
  for (const top of parsed.index.manifests) {
    const blobs: PlannedBlob[] = [];
    let manifestDesc = top;
    let manifestBlob = blobOf(top, "manifest");
    const chain: { desc: Descriptor; blob: ArchiveBlob; present: Descriptor[] }[] = [];
    let m = parseManifestOrIndex(await blobBytes(reader, manifestBlob), top);
    for (let depth = 0; m.kind === "index"; depth++) {
      if (depth > 2) throw errInvalidArgument(`index ${top.digest} nests too deeply`);
      const idx = m.index;
      const present = idx.manifests.filter((c) => contents.blobs.has(resolveArchivePath(contents, `blobs/sha256/${c.digest.slice(7)}`)));
      chain.push({ desc: manifestDesc, blob: manifestBlob, present });
      manifestDesc = selectManifest(idx, manifestDesc.digest);
      manifestBlob = blobOf(manifestDesc, "manifest");
      m = parseManifestOrIndex(await blobBytes(reader, manifestBlob), manifestDesc);
    }
    if (!isManifestType(manifestDesc.mediaType) && !isIndexType(top.mediaType)) {
      throw errInvalidArgument(`unknown media type ${JSON.stringify(manifestDesc.mediaType)} in index.json`);
    }
    const manifest = m.manifest;
    const cfgBlob = blobOf(manifest.config, "image config");
    const config = parseConfig(await blobBytes(reader, cfgBlob), manifest.config.digest);
    const planned = await planLayers(contents, manifest.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`), config.rootfs.diff_ids, manifest.layers.map((l) => l.mediaType));
    for (let i = 0; i < manifest.layers.length; i++) {
      if (planned.layers[i]!.size !== manifest.layers[i]!.size) throw errInvalidArgument(`layer ${manifest.layers[i]!.digest}: size differs from the manifest's`);
    }
    blobs.push(...planned.blobs);
    blobs.push({ desc: manifest.config, bytes: cfgBlob.bytes, labels: configLabels(ctx.snapshotter, config) });
    blobs.push({ desc: manifestDesc, bytes: manifestBlob.bytes, labels: manifestLabels(manifest.config, manifest.layers) });
    for (const c of chain.reverse()) blobs.push({ desc: c.desc, bytes: c.blob.bytes, labels: indexLabels(c.present) });
    const names = new Set<string>();
    const a = top.annotations ?? {};
    if (a[ANNOTATION_IMAGE_NAME]) names.add(normalizeReference(a[ANNOTATION_IMAGE_NAME]));
    else if (a[ANNOTATION_REF_NAME] && /[/:@]/.test(a[ANNOTATION_REF_NAME])) names.add(normalizeReference(a[ANNOTATION_REF_NAME]));
    // manifest.json's tags name entries the index left unnamed.
    if (names.size === 0) for (const t of tagsByConfig.get(manifest.config.digest) ?? []) names.add(t);
    const target: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.size };
    out.push({ names: [...names], target, manifestDesc: { mediaType: manifestDesc.mediaType, digest: manifestDesc.digest, size: manifestDesc.size }, manifest, config, blobs });
  }
  return out;
}

function contentReader(client: ContainerdClient): BytesReader {
  return {
    async readBlob(d) {
      const chunks: Uint8Array[] = [];
      for await (const c of client.content.read(d.digest)) chunks.push(c);
      return Buffer.concat(chunks);
    },
  };
}

/** Writes the planned blobs (children first) and labels those that streamed in earlier. */
export async function writePlanned(ctx: { client: ContainerdClient; lease: Lease; store: ImageStore; signal?: AbortSignal }, images: PlannedImage[]): Promise<ResolvedImage[]> {
  const done = new Set<string>();
  const resolved: ResolvedImage[] = [];
  const wctx = { client: ctx.client, lease: ctx.lease, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  for (const img of images) {
    for (const b of img.blobs) {
      if (done.has(b.desc.digest)) continue;
      done.add(b.desc.digest);
      if (b.bytes) {
        await writeBlobBytes(wctx, b.desc, b.bytes, b.labels);
        if (b.bytes.length <= 1 << 20 && !layerCompression(b.desc.mediaType)) ctx.store.rememberBlob(b.desc.digest, b.bytes);
      } else if (Object.keys(b.labels).length > 0 && !b.labels[LABEL_UNCOMPRESSED]) {
        // Streamed manifests and configs were committed before their role was known.
        await ensureLabels(wctx, b.desc.digest, b.labels);
      }
    }
    resolved.push(ctx.store.resolved(img.target, img.manifestDesc, img.manifest, img.config));
  }
  return resolved;
}
