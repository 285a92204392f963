// The image service: composes the pieces of this layer over one containerd client. Every write
// happens under a lease until an image record's gc.ref labels hold it; a failed operation
// deletes its lease with sync:true, and containerd collects whatever it had written.
// Load, import, commit, pull, push, login and save load their modules when first used, not
// with berthd (docs/performance.md, "A lean daemon").
import type { Readable } from "node:stream";
import { errConflict, errInvalidArgument, isNotFound } from "../containerd/index.js";
import { parallel } from "../base/pool.js";
import type { PlannedImage } from "./archive-load.js";
import { ImageStore, danglingName, isDanglingName, LABEL_FROM_REGISTRY, LABEL_PARENT, type ResolvedImage } from "./image-store.js";
import { historyOf, inspectOf, summaryOf } from "./image-info.js";
import type { CommitConfig } from "./commit.js";
import { withLease, type Lease } from "./lease.js";
import type { DistributionInspect } from "./distribution-inspect.js";
import type { LoginResult } from "./registry-login.js";
import { formatReference, normalizeReference, parseReference, repositoryName } from "./reference.js";
import type { SaveItem } from "./save.js";
import { toReadable } from "./streams.js";
import type {
  ImageInspect, ImageService, ImageServiceOptions, ImageSummary, IoOptions, HistoryEntry, LoadedImage, LoadOptions,
  LoadResult, ImportOptions, CommitOptions, PullOptions, PullResult, PushOptions, PushResult, RemoveOptions, RemoveResult, PreparedRootfs,
  ProgressCallback, ProgressEvent, UnpackResult, LoginRequest, DistributionInspectOptions,
} from "./types.js";
import { prepareRootfs, removeRootfs, unpackImage, type UnpackContext } from "./unpack.js";
import type { ShiftMaps } from "../daemon/userns-shift.js";
import { DEFAULT_STAGE_MIN_BYTES, discardStages, type LayerStages } from "./layer-stage.js";

const DEFAULT_LEASE_EXPIRY_MS = 60 * 60_000;

export function createImageService(options: ImageServiceOptions): ImageService {
  return new ImageServiceImpl(options);
}

const sig = (o?: IoOptions) => (o?.signal ? { signal: o.signal } : {});

class ImageServiceImpl implements ImageService {
  readonly #o: ImageServiceOptions;
  readonly #store: ImageStore;
  readonly #uctx: UnpackContext;

  constructor(o: ImageServiceOptions) {
    this.#o = o;
    this.#store = new ImageStore(o.containerd);
    this.#uctx = {
      client: o.containerd,
      snapshotter: o.snapshotter ?? "overlayfs",
      now: o.now ?? (() => new Date()),
      leaseExpiryMs: o.leaseExpiryMs ?? DEFAULT_LEASE_EXPIRY_MS,
    };
  }

  get #client() { return this.#o.containerd; }

  #staging(stages: LayerStages) {
    const minBytes = this.#o.stageMinBytes ?? DEFAULT_STAGE_MIN_BYTES;
    return Number.isFinite(minBytes) ? { stages, snapshotter: this.#uctx.snapshotter, minBytes } : undefined;
  }

  #lease<T>(prefix: string, signal: AbortSignal | undefined, fn: (lease: Lease) => Promise<T>): Promise<T> {
    return withLease(this.#client, { expiryMs: this.#uctx.leaseExpiryMs, now: this.#uctx.now, prefix, ...(signal ? { signal } : {}) }, fn);
  }

  /** Names the images (after their content and snapshots are in place). */
  async #name(image: ResolvedImage, names: string[], labels: Record<string, string> | undefined, signal?: AbortSignal): Promise<void> {
    const records = await this.#store.records(signal);
    for (const n of names) {
      // A name that stays on the same target keeps its labels; a name that moves starts afresh.
      const current = records.get(n);
      const keep = current?.target.digest === image.target.digest ? current.labels : {};
      await this.#store.putRecord(n, image.target, labels ?? keep, { ...(signal ? { signal } : {}) });
    }
    const dangling = danglingName(image.target.digest);
    if (names.length > 0 && records.has(dangling)) await this.#store.deleteRecord(dangling, { ...(signal ? { signal } : {}) });
    if (names.length === 0) {
      const named = [...records.values()].some((r) => r.target.digest === image.target.digest);
      if (!named) await this.#store.putRecord(dangling, image.target, labels ?? {}, { ...(signal ? { signal } : {}) });
    }
  }

  async load(archive: Readable | AsyncIterable<Uint8Array>, o: LoadOptions = {}): Promise<LoadResult> {
    const { readAndPlan, writePlanned } = await import("./archive-load.js");
    await this.#store.records(o.signal);
    return this.#lease("load", o.signal, async (lease) => {
      const unpack = o.unpack ?? true;
      const stages: LayerStages = new Map();
      const staging = unpack ? this.#staging(stages) : undefined;
      const ctx = { client: this.#client, lease, snapshotter: this.#uctx.snapshotter, ...sig(o), ...(o.onProgress ? { onProgress: o.onProgress } : {}), ...(staging ? { staging } : {}) };
      let resolved: ResolvedImage[];
      let planned: PlannedImage[];
      try {
        planned = await readAndPlan(ctx, toReadable(archive));
        if (planned.length === 0) throw errInvalidArgument("the archive holds no image");
        resolved = await writePlanned({ client: this.#client, lease, store: this.#store, ...sig(o) }, planned);
        if (unpack) {
          const seen = new Set<string>();
          for (const r of resolved) {
            if (seen.has(r.id)) continue;
            seen.add(r.id);
            await unpackImage(this.#uctx, r, { lease, configLabelled: true, stages, ...sig(o), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
          }
        }
      } finally {
        await discardStages({ client: this.#client, snapshotter: this.#uctx.snapshotter, lease }, stages);
      }
      const images: LoadedImage[] = [];
      for (let i = 0; i < planned.length; i++) {
        const r = resolved[i]!;
        await this.#name(r, planned[i]!.names, undefined, o.signal);
        if (planned[i]!.names.length === 0) images.push({ name: undefined, id: r.id, digest: r.target.digest });
        for (const name of planned[i]!.names) images.push({ name, id: r.id, digest: r.target.digest });
      }
      return { images };
    });
  }

  async importRootfs(tarball: Readable | AsyncIterable<Uint8Array>, o: ImportOptions = {}): Promise<LoadedImage> {
    const name = o.tag !== undefined ? normalizeReference(o.tag) : undefined;
    if (name?.includes("@")) throw errInvalidArgument(`import needs a tag, not a digest: ${o.tag}`);
    const { importTarball } = await import("./import-rootfs.js");
    await this.#store.records(o.signal);
    return this.#lease("import", o.signal, async (lease) => {
      const parts = await importTarball(
        { client: this.#client, lease, snapshotter: this.#uctx.snapshotter, now: this.#uctx.now, ...sig(o) },
        toReadable(tarball), { ...(o.changes ? { changes: o.changes } : {}), ...(o.message ? { message: o.message } : {}) },
      );
      this.#store.rememberBlob(parts.target.digest, parts.manifestBytes);
      this.#store.rememberBlob(parts.manifest.config.digest, parts.configBytes);
      const image = this.#store.resolved(parts.target, parts.target, parts.manifest, parts.config);
      if (o.unpack ?? true) await unpackImage(this.#uctx, image, { lease, configLabelled: true, ...sig(o) });
      await this.#name(image, name ? [name] : [], {}, o.signal);
      return { name, id: image.id, digest: image.target.digest };
    });
  }

  async commit(o: CommitOptions): Promise<LoadedImage> {
    const name = o.reference !== undefined ? normalizeReference(o.reference) : undefined;
    if (name?.includes("@")) throw errInvalidArgument(`commit needs a tag, not a digest: ${o.reference}`);
    const { commitContainer } = await import("./commit.js");
    const { image: parent } = await this.#store.lookup(o.image, o.signal);
    return this.#lease("commit", o.signal, async (lease) => {
      const parts = await commitContainer({ client: this.#client, snapshotter: this.#uctx.snapshotter, lease, now: this.#uctx.now, ...sig(o) }, {
        parent, mounts: o.mounts, containerId: o.containerId, containerConfig: o.containerConfig as CommitConfig,
        ...(o.config ? { config: o.config as CommitConfig } : {}),
        ...(o.changes ? { changes: o.changes } : {}), ...(o.author ? { author: o.author } : {}), ...(o.comment ? { comment: o.comment } : {}),
      });
      this.#store.rememberBlob(parts.target.digest, parts.manifestBytes);
      this.#store.rememberBlob(parts.manifest.config.digest, parts.configBytes);
      const image = this.#store.resolved(parts.target, parts.target, parts.manifest, parts.config);
      await this.#name(image, name ? [name] : [], { [LABEL_PARENT]: parent.id }, o.signal);
      return { name, id: image.id, digest: image.target.digest };
    });
  }

  async pull(ref: string, o: PullOptions = {}): Promise<PullResult> {
    const r = parseReference(ref);
    const name = formatReference(r);
    const { distributionClient, downloadLayer, fetchManifests, writeManifests } = await import("./pull.js");
    await this.#store.records(o.signal);
    const dc = await distributionClient(this.#o.registry, r, "pull", o.credentials, o.signal);
    const f = await fetchManifests(dc, name);
    return this.#lease("pull", o.signal, async (lease) => {
      const layers = f.manifest.layers.map((l, i) => ({ layer: l, diffId: f.config.rootfs.diff_ids[i]! }));
      const unique = [...new Map(layers.map((x) => [x.layer.digest, x])).values()];
      for (const x of unique) o.onProgress?.({ id: x.layer.digest, status: "waiting", current: 0, total: x.layer.size });
      const unpack = o.unpack ?? true;
      const stages: LayerStages = new Map();
      const staging = unpack ? this.#staging(stages) : undefined;
      const image = this.#store.resolved(f.target, f.manifestDesc, f.manifest, f.config);
      try {
        await parallel(unique, this.#o.registry?.concurrency?.() ?? 3, o.signal, (x, signal) => downloadLayer({
          client: this.#client, lease, dc, signal, attempts: this.#o.registry?.blobAttempts ?? 3,
          ...(o.onProgress ? { onProgress: o.onProgress } : {}), ...(staging ? { staging } : {}),
        }, x.layer, x.diffId));
        await writeManifests({ client: this.#client, lease, snapshotter: this.#uctx.snapshotter, ...sig(o) }, f);
        if (f.indexBytes) this.#store.rememberBlob(f.target.digest, f.indexBytes);
        this.#store.rememberBlob(f.manifestDesc.digest, f.manifestBytes);
        this.#store.rememberBlob(f.manifest.config.digest, f.configBytes);
        if (unpack) await unpackImage(this.#uctx, image, { lease, configLabelled: true, stages, ...sig(o), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
      } finally {
        await discardStages({ client: this.#client, snapshotter: this.#uctx.snapshotter, lease }, stages);
      }
      await this.#name(image, [name], { [LABEL_FROM_REGISTRY]: repositoryName(r) }, o.signal);
      return { name, id: image.id, digest: image.target.digest };
    });
  }

  async push(ref: string, o: PushOptions = {}): Promise<PushResult> {
    const r = parseReference(ref);
    const name = formatReference(r);
    const found = await this.#store.lookup(name, o.signal);
    if (!found.matched) throw errInvalidArgument(`push needs the name of an image, ${ref} names none`);
    const image = found.image;
    const { distributionClient } = await import("./pull.js");
    const dc = await distributionClient(this.#o.registry, r, "pull,push", o.credentials, o.signal);
    const blobs = [...new Map([...image.manifest.layers, image.configDesc].map((d) => [d.digest, d])).values()];
    // Progress is per layer, as dockerd reports it; the config blob goes up silently.
    const layerDigests = new Set(image.manifest.layers.map((l) => l.digest));
    const progress = (e: ProgressEvent) => { if (layerDigests.has(e.id)) o.onProgress?.(e); };
    for (const d of blobs) progress({ id: d.digest, status: "waiting", current: 0, total: d.size });
    await parallel(blobs, this.#o.registry?.pushConcurrency?.() ?? 5, o.signal, async (d) => {
      if (await dc.blobExists(d.digest)) { progress({ id: d.digest, status: "exists", current: d.size, total: d.size }); return; }
      progress({ id: d.digest, status: "pushing", current: 0, total: d.size });
      await dc.uploadBlob(d.digest, d.size, () => this.#client.content.read(d.digest, sig(o)));
      progress({ id: d.digest, status: "pushed", current: d.size, total: d.size });
    });
    // An index whose other platforms berth never fetched cannot be pushed whole: push the
    // platform manifest berth has.
    const bytes = await this.#store.readBlob(image.manifestDesc, o.signal);
    const said = await dc.putManifest(r.digest ?? r.tag!, image.manifestDesc.mediaType, bytes);
    if (said && said !== image.manifestDesc.digest) throw errInvalidArgument(`registry stored the manifest as ${said}, expected ${image.manifestDesc.digest}`);
    if (image.target.digest === image.manifestDesc.digest) {
      await this.#store.putRecord(found.matched.name, image.target, { ...found.matched.labels, [LABEL_FROM_REGISTRY]: repositoryName(r) }, sig(o));
    }
    return { name, digest: image.manifestDesc.digest, size: image.manifestDesc.size };
  }

  async login(o: LoginRequest): Promise<LoginResult> {
    const [{ registryLogin }, { defaultPlainHttp }] = await Promise.all([import("./registry-login.js"), import("./distribution.js")]);
    const hosts = this.#o.registry?.hosts;
    return registryLogin({
      ...o,
      plainHttp: this.#o.registry?.plainHttp ?? defaultPlainHttp,
      ...(hosts ? { dispatcherFor: async (host: string) => hosts.dispatcher(host, !(await hosts.isInsecure(host))) } : {}),
    });
  }

  async inspectDistribution(ref: string, o: DistributionInspectOptions = {}): Promise<DistributionInspect> {
    const r = parseReference(ref);
    const [{ inspectDistribution }, { distributionClient }] = await Promise.all([import("./distribution-inspect.js"), import("./pull.js")]);
    return inspectDistribution(await distributionClient(this.#o.registry, r, "pull", o.credentials, o.signal), r);
  }

  async list(o?: IoOptions): Promise<ImageSummary[]> {
    const all = await this.#store.images(o?.signal);
    return [...all.values()].map(({ image, records }) => summaryOf(image, records))
      .sort((a, b) => (b.created?.getTime() ?? 0) - (a.created?.getTime() ?? 0) || a.id.localeCompare(b.id));
  }

  async inspect(ref: string, o?: IoOptions): Promise<ImageInspect> {
    const { image, records } = await this.#store.lookup(ref, o?.signal);
    return inspectOf(image, records);
  }

  async resolve(ref: string, o?: IoOptions): Promise<string> {
    return (await this.#store.lookup(ref, o?.signal)).image.id;
  }

  async tag(source: string, target: string, o?: IoOptions): Promise<void> {
    const t = parseReference(target);
    if (t.digest !== undefined) throw errInvalidArgument(`refusing to create a tag with a digest reference: ${target}`);
    const { image } = await this.#store.lookup(source, o?.signal);
    await this.#name(image, [formatReference(t)], {}, o?.signal);
  }

  async remove(ref: string, o: RemoveOptions = {}): Promise<RemoveResult> {
    const { image, records, matched } = await this.#store.lookup(ref, o.signal);
    const short = image.id.slice("sha256:".length, "sha256:".length + 12);
    const used = this.#o.isUsed?.(image.id) ?? false;
    const real = records.filter((r) => !isDanglingName(r.name));
    let untag = real;

    if (matched && !isDanglingName(matched.name)) {
      const repo = repositoryName(parseReference(matched.name));
      // The repository's digest names go with its last tag (dockerd does the same).
      const sameRepoDigests = real.filter((r) => r !== matched && r.name.startsWith(repo + "@"));
      const others = real.filter((r) => r !== matched && !sameRepoDigests.includes(r));
      if (others.length > 0) {
        await this.#store.deleteRecord(matched.name, sig(o));
        return { untagged: [matched.name], deleted: [] };
      }
      if (used && !o.force) throw errConflict(`unable to remove repository reference "${ref}" (must force) - a container is using its referenced image ${short}`);
      untag = [matched, ...sameRepoDigests];
    } else {
      if (real.length > 1 && !o.force) throw errConflict(`unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
      if (used && !o.force) throw errConflict(`unable to delete ${short} (must be forced) - image is being used by a container`);
    }
    const untagged = untag.map((r) => r.name);
    if (used) {
      // Forced while a container uses it: the names go, the image stays (dangling) for it.
      const keep = danglingName(image.target.digest);
      if (!records.some((r) => r.name === keep)) await this.#store.putRecord(keep, image.target, {}, sig(o));
      for (const n of untagged) await this.#store.deleteRecord(n, sig(o));
      return { untagged, deleted: [] };
    }
    const all = records.map((r) => r.name);
    for (let i = 0; i < all.length; i++) {
      // The last deletion is synchronous: content and snapshots are collected before we answer.
      await this.#store.deleteRecord(all[i]!, { sync: i === all.length - 1, ...sig(o) });
    }
    return { untagged, deleted: [image.id] };
  }

  async save(refs: string[], o?: IoOptions): Promise<Readable> {
    if (refs.length === 0) throw errInvalidArgument("save needs at least one image");
    const items = new Map<string, SaveItem>();
    for (const ref of refs) {
      const { image, matched } = await this.#store.lookup(ref, o?.signal);
      const item = items.get(image.target.digest) ?? { image, names: [] };
      if (matched && !isDanglingName(matched.name) && !matched.name.includes("@") && !item.names.includes(matched.name)) item.names.push(matched.name);
      items.set(image.target.digest, item);
    }
    const { saveArchive } = await import("./save.js");
    return saveArchive(this.#client, [...items.values()], o?.signal);
  }

  async history(ref: string, o?: IoOptions): Promise<HistoryEntry[]> {
    const { image, records } = await this.#store.lookup(ref, o?.signal);
    return historyOf(image, records);
  }

  async unpack(ref: string, o: IoOptions & { onProgress?: ProgressCallback } = {}): Promise<UnpackResult> {
    const { image } = await this.#store.lookup(ref, o.signal);
    return unpackImage(this.#uctx, image, { ...sig(o), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
  }

  async prepareRootfs(containerId: string, imageRef: string, o?: IoOptions & { remap?: ShiftMaps }): Promise<PreparedRootfs> {
    const { image } = await this.#store.lookup(imageRef, o?.signal);
    if (o?.remap) return (await import("./remap-rootfs.js")).prepareRemappedRootfs(this.#uctx, containerId, image, o.remap, o.signal);
    return prepareRootfs(this.#uctx, containerId, image, o?.signal);
  }

  async removeRootfs(key: string, o?: IoOptions): Promise<void> {
    await removeRootfs(this.#uctx, key, o?.signal);
  }

  async rootfsUsage(key: string, o?: IoOptions): Promise<number> {
    try {
      const r = await this.#client.snapshots.rpc.usage({ snapshotter: this.#uctx.snapshotter, key }, sig(o));
      return Number(r.size);
    } catch (e) {
      if (isNotFound(e)) return 0;
      throw e;
    }
  }

  refresh(): void {
    this.#store.forget();
  }
}

