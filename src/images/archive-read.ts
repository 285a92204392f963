// Reads a docker-archive or an OCI image layout tar in one pass, with no temporary copy: small
// JSON entries are kept in memory; every other file streams into Content/Write under the
// operation's lease while being hashed and checked as a layer, and is committed under the
// digest computed on the way (containerd verifies it again at commit). The archive's order does
// not matter: docker's manifest.json may come after the layers.
import { createHash } from "node:crypto";
import path from "node:path/posix";
import type { Readable } from "node:stream";
import tar from "tar-stream";
import { errInvalidArgument, isBerthError, type ContainerdClient } from "../containerd/index.js";
import { LABEL_UNCOMPRESSED } from "./blobs.js";
import { checkLayer, cleanTarPath, LayerChecker, type LayerCheckResult } from "./layer-check.js";
import type { Lease } from "./lease.js";
import { keepStage, openStage, type LayerStages } from "./layer-stage.js";
import { maybeGunzip, readAll } from "./streams.js";
import type { ProgressCallback } from "./types.js";

/** containerd's importer reads JSON entries up to this size. */
export const JSON_LIMIT = 20 << 20;
/** Files up to this size are held in memory (they may be manifests or configs)... */
export const SMALL_BLOB = 1 << 20;
/** ...as long as the held total stays under this. */
export const MEMORY_BUDGET = 64 << 20;

/** A file of the archive that is (or may be) a blob. */
export interface ArchiveBlob {
  path: string;
  digest: string;
  size: number;
  /** The bytes, for small files; undefined when they went straight into the content store. */
  bytes: Buffer | undefined;
  /** Streamed and committed (or already present) in the content store. */
  stored: boolean;
  /** The layer check of a streamed file (small ones are checked when used as layers). */
  layer: LayerCheckResult | undefined;
  /** Why a streamed file cannot be a layer. */
  layerError: Error | undefined;
}

export interface ArchiveContents {
  /** Metadata entries by cleaned path: manifest.json, index.json, oci-layout, repositories, *.json. */
  json: Map<string, Buffer>;
  blobs: Map<string, ArchiveBlob>;
  /** Symbolic and hard links between files of the archive (docker dedups layers with them). */
  links: Map<string, string>;
}

const METADATA = new Set(["manifest.json", "index.json", "oci-layout", "repositories"]);
const BLOB_PATH = /^blobs\/sha256\/([a-f0-9]{64})$/;

/** The digest an OCI layout's path names ("blobs/sha256/<hex>"). */
export function digestFromBlobPath(p: string): string | undefined {
  const m = BLOB_PATH.exec(p);
  return m ? `sha256:${m[1]}` : undefined;
}

function isMetadata(p: string): boolean {
  return METADATA.has(p) || (p.endsWith(".json") && !p.startsWith("blobs/"));
}

/** Legacy v1 per-layer files that carry nothing berth needs. */
function isIgnored(p: string): boolean {
  const base = path.basename(p);
  return p.includes("/") && !p.startsWith("blobs/") && (base === "json" || base === "VERSION");
}

/** Where big layers are extracted while they stream in (layer-stage.ts). */
export interface StagingOptions {
  stages: LayerStages;
  snapshotter: string;
  /** Entries at least this big are staged. */
  minBytes: number;
}

export interface ReadArchiveContext {
  client: ContainerdClient;
  lease: Lease;
  staging?: StagingOptions;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export async function readArchive(ctx: ReadArchiveContext, source: Readable): Promise<ArchiveContents> {
  const contents: ArchiveContents = { json: new Map(), blobs: new Map(), links: new Map() };
  const extract = tar.extract();
  const input = maybeGunzip(source, "archive");
  input.on("error", (e) => extract.destroy(e));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  let held = 0;
  let n = 0;
  try {
    for await (const entry of extract) {
      ctx.signal?.throwIfAborted();
      const h = entry.header;
      const name = cleanTarPath(h.name);
      if (h.type === "symlink" || h.type === "link") {
        const target = h.type === "symlink" ? path.join(path.dirname(name), h.linkname ?? "") : (h.linkname ?? "");
        contents.links.set(name, cleanTarPath(target));
        entry.resume();
        continue;
      }
      if ((h.type !== "file" && h.type !== "contiguous-file") || name === "" || isIgnored(name)) {
        entry.resume();
        continue;
      }
      const size = h.size ?? 0;
      if (isMetadata(name)) {
        contents.json.set(name, await readAll(entry as unknown as AsyncIterable<Buffer>, JSON_LIMIT, `archive entry ${name}`));
        continue;
      }
      const named = digestFromBlobPath(name);
      if (size <= SMALL_BLOB && held + size <= MEMORY_BUDGET) {
        const bytes = await readAll(entry as unknown as AsyncIterable<Buffer>, SMALL_BLOB, `archive entry ${name}`);
        held += bytes.length;
        const digest = "sha256:" + createHash("sha256").update(bytes).digest("hex");
        if (named && digest !== named) throw errInvalidArgument(`archive blob ${name}: digest does not match the content (${digest})`);
        contents.blobs.set(name, { path: name, digest, size: bytes.length, bytes, stored: false, layer: undefined, layerError: undefined });
        continue;
      }
      contents.blobs.set(name, await streamEntry(ctx, entry as unknown as AsyncIterable<Buffer>, name, size, named, `${ctx.lease.id}-e${n++}`));
    }
  } catch (e) {
    if (isBerthError(e) || ctx.signal?.aborted) throw e;
    throw errInvalidArgument(`archive is truncated or not a tar archive: ${(e as Error).message}`, { cause: e });
  } finally {
    input.unpipe();
    input.destroy();
  }
  return contents;
}

/** Streams one entry into the content store, layer-checking (and staging) it on the way. */
async function streamEntry(ctx: ReadArchiveContext, entry: AsyncIterable<Buffer>, name: string, size: number, named: string | undefined, ref: string): Promise<ArchiveBlob> {
  const writer = await ctx.client.content.openWriter({
    ref, total: size, lease: ctx.lease.id, ...(named ? { expected: named } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  // Staging is a shortcut: when it cannot start, the unpack reads the blob back as usual.
  const stage = ctx.staging && size >= ctx.staging.minBytes && !writer.exists
    ? await openStage({ client: ctx.client, snapshotter: ctx.staging.snapshotter, lease: ctx.lease, ...(ctx.signal ? { signal: ctx.signal } : {}) }).catch(() => undefined)
    : undefined;
  const checker = new LayerChecker(`layer ${name}`, { callerHashesRaw: true, ...(stage ? { sink: stage.extractor } : {}) });
  // containerd hashes what it is sent (its STAT gives the digest); berth hashes only what it
  // does not send, a blob containerd has already.
  const hash = writer.exists ? createHash("sha256") : undefined;
  let checkFailed = false;
  const report = (status: "loading" | "exists" | "done", current: number) => ctx.onProgress?.({ id: named ?? name, status, current, total: size });
  report(writer.exists ? "exists" : "loading", 0);
  let seen = 0;
  let lastReport = 0;
  try {
    for await (const chunk of entry) {
      hash?.update(chunk);
      seen += chunk.length;
      if (!checkFailed) {
        try { await checker.write(chunk); } catch { checkFailed = true; }
      }
      if (!writer.exists) await writer.write(chunk);
      if (seen - lastReport >= 4 << 20) { lastReport = seen; report("loading", seen); }
    }
    if (seen !== size) throw errInvalidArgument(`archive entry ${name}: truncated (${seen} of ${size} bytes)`);
    const digest = hash ? "sha256:" + hash.digest("hex") : await writer.digest();
    if (named && digest !== named) throw errInvalidArgument(`archive blob ${name}: digest does not match the content (${digest})`);
    let layer: LayerCheckResult | undefined;
    let layerError: Error | undefined;
    try { layer = await checker.end(digest); } catch (e) { layerError = e as Error; }
    if (stage) keepStage(ctx.staging!.stages, stage, digest, layer?.diffId, checker.sinkError);
    if (!writer.exists) {
      if (layerError && checker.unsafe) {
        // An unsafe layer is never committed: nothing of it stays once the lease goes.
        await writer.abort();
      } else {
        await writer.commit(digest, layer?.compression === "gzip" ? { [LABEL_UNCOMPRESSED]: layer.diffId } : {});
      }
    }
    report("done", size);
    return { path: name, digest, size, bytes: undefined, stored: !(layerError && checker.unsafe), layer, layerError };
  } catch (e) {
    checker.destroy();
    if (stage) keepStage(ctx.staging!.stages, stage, undefined, undefined, e as Error);
    if (!writer.exists) await writer.abort().catch(() => {});
    throw e;
  }
}

/** The layer check of a blob: done while streaming, or now for one held in memory. */
export async function layerCheckOf(blob: ArchiveBlob, what: string): Promise<LayerCheckResult> {
  if (blob.bytes) {
    if (!blob.layer && !blob.layerError) {
      try { blob.layer = await checkLayer([blob.bytes], what); } catch (e) { blob.layerError = e as Error; }
    }
  }
  if (blob.layerError) throw blob.layerError;
  if (!blob.layer) throw errInvalidArgument(`${what}: not checked as a layer`);
  return blob.layer;
}

/** Follows links between archive files (at most 8 hops). */
export function resolveArchivePath(contents: ArchiveContents, p: string): string {
  let cur = cleanTarPath(p);
  for (let i = 0; i < 8; i++) {
    const next = contents.links.get(cur);
    if (next === undefined) return cur;
    cur = next;
  }
  throw errInvalidArgument(`archive path ${p}: too many links`);
}
