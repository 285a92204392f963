// berth's view of the namespace's images: the image records (read once with Images/List, then
// kept up to date by berth's own writes: berth is the only writer of its namespace) and the
// decoded manifests and configs, cached by digest because content is immutable. list, inspect,
// resolve and prepareRootfs cost no RPC once an image has been read.
import {
  errInvalidArgument, errNotFound, isAlreadyExists, isNotFound, timestampToDate,
  type ContainerdClient,
} from "../containerd/index.js";
import { LruMap } from "../base/lru.js";
import { sha256Digest, topChainId } from "./digest.js";
import {
  parseConfig, parseManifestOrIndex, selectManifest,
  type Descriptor, type ImageConfigJson, type Manifest,
} from "./oci.js";
import { isSha256Digest, parseReference, repositoryName } from "./reference.js";

export interface ImageRecord {
  name: string;
  target: Descriptor;
  labels: Record<string, string>;
  createdAt: Date | undefined;
}

/** A record's target read down to its config: what every image operation works from. */
export interface ResolvedImage {
  /** Image ID: the config digest. */
  id: string;
  target: Descriptor;
  /** The platform manifest (the target itself unless the target is an index). */
  manifestDesc: Descriptor;
  manifest: Manifest;
  configDesc: Descriptor;
  config: ImageConfigJson;
  diffIds: string[];
  chainId: string | undefined;
  /** Sum of the blob sizes (layers, config, manifest). */
  size: number;
}

/** Names given to images loaded without a tag: a record must exist to keep content alive. */
export const DANGLING_PREFIX = "berth-dangling@";
/** Label on records whose target a registry knows (pulled or pushed): gives repo digests. */
export const LABEL_FROM_REGISTRY = "io.berth.image.from-registry";
/** Label on the records of a committed image: the image ID of the container's image (inspect's Parent). */
export const LABEL_PARENT = "io.berth.image.parent";
/** Label on the records of images a build made on its way: `docker images` lists them only with -a. */
export const LABEL_BUILD_INTERMEDIATE = "io.berth.build.intermediate";

export const isDanglingName = (name: string) => name.startsWith(DANGLING_PREFIX);
export const danglingName = (targetDigest: string) => DANGLING_PREFIX + targetDigest;

/** Cached manifests/configs (a few KiB each) and resolved images. */
const BLOB_CACHE_ENTRIES = 1024;

const ID_PREFIX = /^(?:sha256:)?([a-f0-9]{1,64})$/;

export class ImageStore {
  readonly #client: ContainerdClient;
  #records: Map<string, ImageRecord> | undefined;
  #loading: Promise<Map<string, ImageRecord>> | undefined;
  // Manifests and configs by digest, and images resolved from them: bounded, so that a daemon
  // that has built or pulled thousands of images (most long deleted) does not keep them all.
  readonly #blobs = new LruMap<string, Buffer>(BLOB_CACHE_ENTRIES);
  readonly #resolved = new LruMap<string, ResolvedImage>(BLOB_CACHE_ENTRIES);

  constructor(client: ContainerdClient) {
    this.#client = client;
  }

  /** All records by name: one Images/List the first time. */
  async records(signal?: AbortSignal): Promise<Map<string, ImageRecord>> {
    if (this.#records) return this.#records;
    this.#loading ??= (async () => {
      try {
        const r = await this.#client.images.rpc.list({}, signal ? { signal } : undefined);
        const m = new Map<string, ImageRecord>();
        for (const i of r.images) {
          if (!i.target) continue;
          m.set(i.name, {
            name: i.name,
            target: { mediaType: i.target.mediaType, digest: i.target.digest, size: Number(i.target.size) },
            labels: { ...i.labels },
            createdAt: i.createdAt ? timestampToDate(i.createdAt) : undefined,
          });
        }
        this.#records = m;
        return m;
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  forget(): void {
    this.#records = undefined;
  }

  /** Remembers a small blob berth wrote or read, so decoding it later costs no RPC. */
  rememberBlob(digest: string, bytes: Buffer): void {
    this.#blobs.set(digest, bytes);
  }

  async readBlob(desc: Pick<Descriptor, "digest" | "size">, signal?: AbortSignal): Promise<Buffer> {
    const cached = this.#blobs.get(desc.digest);
    if (cached) return cached;
    const chunks: Uint8Array[] = [];
    try {
      for await (const c of this.#client.content.read(desc.digest, signal ? { signal } : undefined)) chunks.push(c);
    } catch (e) {
      if (isNotFound(e)) throw errNotFound(`blob ${desc.digest} is missing from the content store`, { cause: e });
      throw e;
    }
    const bytes = Buffer.concat(chunks);
    if (sha256Digest(bytes) !== desc.digest) throw errInvalidArgument(`blob ${desc.digest}: content does not match its digest`);
    this.#blobs.set(desc.digest, bytes);
    return bytes;
  }

  /** Reads a target down to its config (cached by target digest). */
  async resolveTarget(target: Descriptor, signal?: AbortSignal): Promise<ResolvedImage> {
    const hit = this.#resolved.get(target.digest);
    if (hit) return hit;
    let manifestDesc = target;
    let parsed = parseManifestOrIndex(await this.readBlob(target, signal), target);
    for (let depth = 0; parsed.kind === "index"; depth++) {
      if (depth > 2) throw errInvalidArgument(`index ${target.digest} nests too deeply`);
      manifestDesc = selectManifest(parsed.index, manifestDesc.digest);
      parsed = parseManifestOrIndex(await this.readBlob(manifestDesc, signal), manifestDesc);
    }
    const manifest = parsed.manifest;
    const config = parseConfig(await this.readBlob(manifest.config, signal), manifest.config.digest);
    const r = this.resolved(target, manifestDesc, manifest, config);
    return r;
  }

  /** Builds and caches a ResolvedImage from parts already decoded (load, pull). */
  resolved(target: Descriptor, manifestDesc: Descriptor, manifest: Manifest, config: ImageConfigJson): ResolvedImage {
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw errInvalidArgument(`image ${manifest.config.digest}: ${manifest.layers.length} layers but ${diffIds.length} diff IDs in the config`);
    }
    const r: ResolvedImage = {
      id: manifest.config.digest,
      target,
      manifestDesc,
      manifest,
      configDesc: manifest.config,
      config,
      diffIds,
      chainId: topChainId(diffIds),
      size: manifest.layers.reduce((a, l) => a + l.size, 0) + manifest.config.size + manifestDesc.size,
    };
    this.#resolved.set(target.digest, r);
    return r;
  }

  /** Every image (by ID) with its records. */
  async images(signal?: AbortSignal): Promise<Map<string, { image: ResolvedImage; records: ImageRecord[] }>> {
    const out = new Map<string, { image: ResolvedImage; records: ImageRecord[] }>();
    for (const rec of (await this.records(signal)).values()) {
      let image: ResolvedImage;
      try {
        image = await this.resolveTarget(rec.target, signal);
      } catch (e) {
        // A record whose content is gone (deleted behind berth's back) is not an image.
        if (isNotFound(e)) continue;
        throw e;
      }
      const entry = out.get(image.id);
      if (entry) entry.records.push(rec);
      else out.set(image.id, { image, records: [rec] });
    }
    return out;
  }

  /**
   * Finds an image the way dockerd does: a name (normalized), then a full or short image ID, then
   * "name@digest" matching a record's target. `matched` is the record the name named, if any.
   */
  async lookup(ref: string, signal?: AbortSignal): Promise<{ image: ResolvedImage; records: ImageRecord[]; matched: ImageRecord | undefined }> {
    const records = await this.records(signal);
    let name: string | undefined;
    let parseError: unknown;
    try {
      const r = parseReference(ref);
      name = repositoryName(r) + (r.tag !== undefined ? `:${r.tag}` : "") + (r.digest !== undefined ? `@${r.digest}` : "");
    } catch (e) {
      parseError = e;
    }
    const all = await this.images(signal);
    const byRecord = (rec: ImageRecord) => [...all.values()].find((x) => x.records.includes(rec));
    if (name !== undefined) {
      const rec = records.get(name);
      if (rec) {
        const hit = byRecord(rec);
        if (hit) return { ...hit, matched: rec };
      }
    }
    const idm = ID_PREFIX.exec(ref);
    if (idm) {
      const prefix = "sha256:" + idm[1];
      const matches = [...all.values()].filter((x) => x.image.id.startsWith(prefix));
      if (matches.length === 1) return { ...matches[0]!, matched: undefined };
      if (matches.length > 1) throw errInvalidArgument(`image ID prefix ${JSON.stringify(ref)} is ambiguous (${matches.length} images)`);
    }
    if (name !== undefined) {
      const r = parseReference(ref);
      if (r.digest !== undefined && isSha256Digest(r.digest)) {
        const repo = repositoryName(r);
        for (const x of all.values()) {
          const rec = x.records.find((rr) => rr.name.startsWith(repo + ":") || rr.name.startsWith(repo + "@"));
          if (rec && (x.image.target.digest === r.digest || x.image.manifestDesc.digest === r.digest)) return { ...x, matched: undefined };
        }
      }
    }
    if (name === undefined && !idm) throw parseError;
    throw errNotFound(`No such image: ${ref}`);
  }

  /** Images/Create, or Images/Update when the name exists (re-tagging moves the name). */
  async putRecord(name: string, target: Descriptor, labels: Record<string, string>, o: { lease?: string; signal?: AbortSignal } = {}): Promise<void> {
    const records = await this.records(o.signal);
    const image = { name, target: { mediaType: target.mediaType, digest: target.digest, size: BigInt(target.size) }, labels };
    const opts = { ...(o.signal ? { signal: o.signal } : {}), ...(o.lease ? { headers: { "containerd-lease": o.lease } } : {}) };
    const existing = records.get(name);
    if (existing && existing.target.digest === target.digest && sameLabels(existing.labels, labels)) return;
    const update = async () => { await this.#client.images.rpc.update({ image }, opts); };
    const create = async () => { await this.#client.images.rpc.create({ image }, opts); };
    if (existing) {
      try { await update(); } catch (e) { if (!isNotFound(e)) throw e; await create(); }
    } else {
      try { await create(); } catch (e) { if (!isAlreadyExists(e)) throw e; await update(); }
    }
    records.set(name, { name, target, labels, createdAt: existing?.createdAt ?? new Date() });
  }

  /** Images/Delete; `sync` makes containerd collect what nothing else holds before answering. */
  async deleteRecord(name: string, o: { sync?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const records = await this.records(o.signal);
    try {
      await this.#client.images.rpc.delete({ name, sync: o.sync ?? false }, o.signal ? { signal: o.signal } : undefined);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    records.delete(name);
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

