// The seam between the builder and the commit machinery: a new image from a parent image, an
// optional snapshot whose changes over the parent become one layer, a runtime config and one
// more history entry. Like images/commit.ts (docker commit), whose parentMounts it uses, it asks
// containerd's Diff service for an uncompressed layer (the snapshot's lowerdirs against the
// snapshot) and writes config, manifest and a dangling record under one lease. It differs where
// a build step differs from docker commit: no config merge (dockerd's CommitBuildStep takes the
// step's config as is), metadata steps make an image without a snapshot, records are labelled
// intermediate (hidden from `docker images`) with their parent, runc's mount targets are kept out
// of RUN layers, and a snapshot the builder owns (COPY, ADD, WORKDIR) becomes the layer's chain
// snapshot with Snapshots/Commit instead of being applied again.
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { ContainerdClient } from "../containerd/index.js";
import { isAlreadyExists, isNotFound } from "../base/errors.js";
import {
  MediaType, chainIds, sha256Digest, type ContainerConfigJson, type ImageConfigJson, type ImageService, type Manifest,
} from "../images/index.js";
import { gcRefSnapshot, manifestLabels, writeBlobBytes } from "../images/blobs.js";
import { EMPTY_LAYER_DIFF_ID, parentMounts } from "../images/commit.js";
import { ImageStore, LABEL_BUILD_INTERMEDIATE, LABEL_PARENT, danglingName } from "../images/image-store.js";
import { withLease } from "../images/lease.js";
import { descriptorJson, type Descriptor, type HistoryJson } from "../images/oci.js";


/** A run config as dockerd stores it in an image (config and container_config carry Image). */
export type RunConfigJson = ContainerConfigJson & { Image?: string };

export interface CommitRequest {
  /** Image ID of the parent; undefined for scratch. */
  parent: string | undefined;
  /** A snapshot key whose changes over the parent's top become the layer; none: metadata only. */
  snapshot?: { key: string; owned: boolean };
  config: RunConfigJson;
  /** dockerd's container_config: the run config with the step's Cmd (what the cache compares). */
  containerConfig: RunConfigJson;
  container?: string;
  createdBy: string;
  author?: string;
  signal?: AbortSignal;
}

export interface CommitResult {
  id: string;
  /** Whether a layer was added (false: an empty diff or a metadata step). */
  layer: boolean;
}

export interface ImageCommitter {
  commit(r: CommitRequest): Promise<CommitResult>;
  /** Prepares a builder-owned writable snapshot on the image (or empty for scratch). */
  prepare(imageId: string | undefined, signal?: AbortSignal): Promise<{ key: string; mounts: { type: string; source: string; options: string[] }[] }>;
  /** A read-only view of the image's filesystem, removed by `release`. */
  view(imageId: string, signal?: AbortSignal): Promise<{ key: string; mounts: { type: string; source: string; options: string[] }[]; release(): Promise<void> }>;
  removeSnapshot(key: string): Promise<void>;
  /** Removes the builder's snapshots a crash left (keys `berth-build-*`, held by gc.root labels). */
  cleanup(): Promise<string[]>;
  /** The build's result, untagged: listed by `docker images` as <none> (no longer an intermediate). */
  publish(imageId: string, signal?: AbortSignal): Promise<void>;
}

/** Files the runtime bind-mounts over in every container (berth's spec: hostname, hosts, resolv.conf). */
const MOUNT_TARGETS = ["etc/hostname", "etc/hosts", "etc/resolv.conf"];

/**
 * A container's upper directory holds the empty files runc created to mount /etc/hosts and co.
 * on (what a RUN writes there goes to the mounted file, never to the layer). dockerd keeps them
 * out of layers with its init layer; berth removes them from the upper directory before the
 * diff, and /etc too when that leaves it an empty copy-up.
 */
async function scrubMountTargets(mounts: readonly { type: string; options: readonly string[] }[]): Promise<void> {
  const upper = mounts[0]?.type === "overlay" ? mounts[0].options.find((x) => x.startsWith("upperdir="))?.slice("upperdir=".length) : undefined;
  if (!upper) return;
  for (const rel of MOUNT_TARGETS) {
    const p = path.join(upper, rel);
    const st = await fs.lstat(p).catch(() => undefined);
    if (st?.isFile() && st.size === 0) await fs.rm(p, { force: true });
  }
  const etc = path.join(upper, "etc");
  const entries = await fs.readdir(etc).catch(() => undefined);
  // An empty upper /etc is the copy-up runc made for the mount targets: the mounted files keep
  // a RUN from removing /etc (EBUSY), so it cannot be an opaque replacement of the lower one.
  if (entries && entries.length === 0) await fs.rmdir(etc).catch(() => {});
}

export function createSnapshotCommitter(o: {
  client: ContainerdClient; images: ImageService; snapshotter?: string; now?: () => Date; leaseExpiryMs?: number; dockerVersion?: string;
}): ImageCommitter {
  const client = o.client;
  const snapshotter = o.snapshotter ?? "overlayfs";
  const now = o.now ?? (() => new Date());
  const store = new ImageStore(client);
  const sig = (s?: AbortSignal) => (s ? { signal: s } : {});
  const mountsOf = (ms: readonly { type: string; source: string; options: readonly string[] }[]) => ms.map((m) => ({ type: m.type, source: m.source, options: [...m.options] }));

  async function resolve(id: string, signal?: AbortSignal) {
    store.forget();
    return (await store.lookup(id, signal)).image;
  }

  async function chainOf(imageId: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
    if (!imageId) return undefined;
    const image = await resolve(imageId, signal);
    if (image.chainId) await o.images.unpack(imageId, sig(signal));
    return image.chainId;
  }

  return {
    async prepare(imageId, signal) {
      const parent = await chainOf(imageId, signal);
      const key = `berth-build-${randomBytes(8).toString("hex")}`;
      const r = await client.snapshots.rpc.prepare({ snapshotter, key, parent: parent ?? "", labels: { "containerd.io/gc.root": now().toISOString().replace(/\.\d{3}Z$/, "Z") } }, sig(signal));
      return { key, mounts: mountsOf(r.mounts) };
    },

    async view(imageId, signal) {
      const parent = await chainOf(imageId, signal);
      const key = `berth-build-view-${randomBytes(8).toString("hex")}`;
      if (!parent) return { key, mounts: [], release: async () => {} };
      const r = await client.snapshots.rpc.view({ snapshotter, key, parent, labels: { "containerd.io/gc.root": now().toISOString().replace(/\.\d{3}Z$/, "Z") } }, sig(signal));
      return { key, mounts: mountsOf(r.mounts), release: () => this.removeSnapshot(key) };
    },

    async cleanup() {
      const keys: string[] = [];
      for await (const r of client.snapshots.rpc.list({ snapshotter, filters: ['name~="^berth-build-"'] })) {
        for (const info of r.info) keys.push(info.name);
      }
      // Views and active snapshots only: a committed chain snapshot never has such a name.
      for (const key of keys) await this.removeSnapshot(key).catch(() => {});
      return keys;
    },

    async publish(imageId, signal) {
      const image = await resolve(imageId, signal);
      const name = danglingName(image.target.digest);
      const rec = (await store.records(signal)).get(name);
      if (!rec || rec.labels[LABEL_BUILD_INTERMEDIATE] !== "true") return;
      const { [LABEL_BUILD_INTERMEDIATE]: _, ...kept } = rec.labels;
      await store.putRecord(name, image.target, kept, sig(signal));
      o.images.refresh();
    },

    async removeSnapshot(key) {
      try { await client.snapshots.rpc.remove({ snapshotter, key }); } catch (e) { if (!isNotFound(e)) throw e; }
    },

    async commit(r) {
      const parent = r.parent ? await resolve(r.parent, r.signal) : undefined;
      const result = await withLease(client, { expiryMs: o.leaseExpiryMs ?? 3600_000, now, prefix: "build", ...sig(r.signal) }, async (lease) => {
        const opts = { headers: lease.headers, ...sig(r.signal) };
        let layer: Descriptor | undefined;
        let diffId: string | undefined;
        if (r.snapshot) {
          const right = mountsOf((await client.snapshots.rpc.mounts({ snapshotter, key: r.snapshot.key }, opts)).mounts);
          if (!r.snapshot.owned) await scrubMountTargets(right);
          // The parent's filesystem is the snapshot's own lowerdirs (no View), as docker commit does.
          let left = parentMounts(right);
          const viewKey = left ? undefined : `berth-build-diff-${randomBytes(8).toString("hex")}`;
          if (viewKey && parent?.chainId) left = mountsOf((await client.snapshots.rpc.view({ snapshotter, key: viewKey, parent: parent.chainId }, opts)).mounts);
          try {
            // Uncompressed, as dockerd's overlay2 layers are: no gzip on the build's critical path,
            // and the blob's digest is the diff ID. containerd 1.6's walking differ knows only the
            // OCI media types; the same bytes go into the manifest under Docker's type.
            const d = await client.diff.rpc.diff({ left: left ?? [], right, mediaType: MediaType.ociLayer, ref: `berth-build-${randomBytes(8).toString("hex")}` }, { ...opts, timeoutMs: 30 * 60_000 });
            const desc = d.diff!;
            diffId = desc.digest;
            if (diffId === EMPTY_LAYER_DIFF_ID) diffId = undefined;
            else layer = { mediaType: MediaType.dockerLayer, digest: desc.digest, size: Number(desc.size) };
          } finally {
            if (viewKey && parent?.chainId) await client.snapshots.rpc.remove({ snapshotter, key: viewKey }, opts).catch(() => {});
          }
        }
        const created = now().toISOString();
        const base: Partial<ImageConfigJson> = parent?.config ?? {};
        const diffIds = [...(parent?.diffIds ?? []), ...(diffId ? [diffId] : [])];
        const history: HistoryJson = { created, created_by: r.createdBy, ...(diffId ? {} : { empty_layer: true }) };
        const author = r.author ?? base.author;
        // Keys in the order dockerd writes them (alphabetical).
        const config: ImageConfigJson = {
          architecture: base.architecture ?? "amd64",
          ...(author ? { author } : {}),
          config: r.config,
          ...(r.container ? { container: r.container } : {}),
          container_config: r.containerConfig,
          created,
          docker_version: o.dockerVersion ?? "20.10.24",
          history: [...(base.history ?? []), history],
          os: base.os ?? "linux",
          rootfs: { type: "layers", diff_ids: diffIds },
        };
        const chain = chainIds(diffIds).at(-1);
        if (layer && chain && r.snapshot?.owned) {
          try {
            await client.snapshots.rpc.commit({ snapshotter, name: chain, key: r.snapshot.key }, opts);
          } catch (e) {
            if (!isAlreadyExists(e)) throw e;
          }
        }
        const configBytes = Buffer.from(JSON.stringify(config));
        const configDesc: Descriptor = { mediaType: MediaType.dockerConfig, digest: sha256Digest(configBytes), size: configBytes.length };
        const wctx = { client, lease, ...sig(r.signal) };
        await writeBlobBytes(wctx, configDesc, configBytes, chain ? { [gcRefSnapshot(snapshotter)]: chain } : {});
        const layers = [...(parent?.manifest.layers ?? []), ...(layer ? [layer] : [])];
        const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: configDesc, layers };
        const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: manifest.mediaType, config: descriptorJson(configDesc), layers: layers.map(descriptorJson) }));
        const target: Descriptor = { mediaType: MediaType.dockerManifest, digest: sha256Digest(manifestBytes), size: manifestBytes.length };
        await writeBlobBytes(wctx, target, manifestBytes, manifestLabels(configDesc, layers));
        // Parent: docker inspect's Parent, the previous step's image (as dockerd records it).
        const labels = { [LABEL_BUILD_INTERMEDIATE]: "true", ...(parent ? { [LABEL_PARENT]: parent.id } : {}) };
        await store.putRecord(danglingName(target.digest), target, labels, { lease: lease.id, ...sig(r.signal) });
        return { id: configDesc.digest, layer: !!layer };
      });
      o.images.refresh();
      if (result.layer && !r.snapshot?.owned) await o.images.unpack(result.id, sig(r.signal));
      return result;
    },
  };
}
