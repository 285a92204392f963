// The test fixture every suite uses (and the README's main job): a docker-archive of a busybox
// image built in Node from the host's static /bin/busybox, so no test needs the internet.
// Deterministic: fixed mtimes, owners and order, so one machine always gets the same digests.
// The lower-level builders make other images (more layers, OCI layout, bad layers) for tests.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { BUSYBOX, busyboxApplets } from "./busybox-rootfs.js";
import { sha256Digest, digestHex } from "./digest.js";
import { MediaType, descriptorJson, type ContainerConfigJson, type Descriptor, type ImageConfigJson } from "./oci.js";
import { familiarReference, normalizeReference, parseReference } from "./reference.js";

export const BUSYBOX_IMAGE_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];
const FIXED_TIME = new Date("2024-01-01T00:00:00Z");

export interface LayerEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link";
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
}

/** A layer tar from entries, in the given order, with fixed owners and mtimes. */
export async function tarLayer(entries: LayerEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => { for await (const c of pack) chunks.push(c as Buffer); })();
  for (const e of entries) {
    const type = e.type ?? "file";
    const data = e.data === undefined ? undefined : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data);
    await new Promise<void>((resolve, reject) => {
      const h = {
        name: e.name, type, mode: e.mode ?? (type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644),
        uid: 0, gid: 0, uname: "root", gname: "root", mtime: FIXED_TIME,
        ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
        ...(type === "file" ? { size: data?.length ?? 0 } : {}),
      };
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === "file") pack.entry(h, data ?? Buffer.alloc(0), cb); else pack.entry(h, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

let baseLayer: Buffer | undefined;

/** The busybox root filesystem as one uncompressed layer (built once per process). */
export async function busyboxLayer(): Promise<Buffer> {
  if (baseLayer) return baseLayer;
  const entries: LayerEntry[] = [];
  for (const d of ["bin", "dev", "etc", "proc", "run", "sys", "var"]) entries.push({ name: `${d}/`, type: "directory" });
  entries.push({ name: "root/", type: "directory", mode: 0o700 });
  entries.push({ name: "tmp/", type: "directory", mode: 0o1777 });
  entries.push({ name: "bin/busybox", data: readFileSync(BUSYBOX), mode: 0o755 });
  for (const a of [...new Set(busyboxApplets())].sort()) entries.push({ name: `bin/${a}`, type: "symlink", linkname: "busybox" });
  entries.push({ name: "etc/group", data: "root:x:0:\nnogroup:x:65534:\n" });
  entries.push({ name: "etc/passwd", data: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  baseLayer = await tarLayer(entries);
  return baseLayer;
}

export interface ImageArchiveOptions {
  /** Uncompressed layer tars, bottom first. */
  layers: Buffer[];
  config?: ContainerConfigJson;
  /** Names ("busybox:latest"); none for an untagged image. */
  tags?: string[];
  /** "docker": `docker save` of dockerd 20.10 (manifest.json, <id>/layer.tar); "oci": an OCI image layout. */
  format?: "docker" | "oci";
  gzip?: boolean;
  history?: ImageConfigJson["history"];
}

/** A docker-archive or OCI layout tar of one image, built in memory. */
export async function buildImageArchive(o: ImageArchiveOptions): Promise<Buffer> {
  const diffIds = o.layers.map((l) => sha256Digest(l));
  const blobs = o.layers.map((l) => (o.gzip ? gzipSync(l, { level: 6 }) : l));
  const config: ImageConfigJson = {
    architecture: "amd64",
    os: "linux",
    created: FIXED_TIME.toISOString(),
    config: o.config ?? { Env: BUSYBOX_IMAGE_ENV, Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: o.history ?? diffIds.map((_, i) => ({ created: FIXED_TIME.toISOString(), created_by: i === 0 ? "berth fixture: busybox root filesystem" : `berth fixture: layer ${i + 1}` })),
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = sha256Digest(configBytes);
  const tags = (o.tags ?? []).map((t) => normalizeReference(t));
  const files: { name: string; data: Buffer }[] = [];
  if ((o.format ?? "docker") === "docker") {
    const layerIds: string[] = [];
    let parent = "";
    blobs.forEach((b, i) => {
      const id = digestHex(sha256Digest(`${parent} ${diffIds[i]}`));
      layerIds.push(id);
      files.push({ name: `${id}/VERSION`, data: Buffer.from("1.0") });
      files.push({ name: `${id}/json`, data: Buffer.from(JSON.stringify({ id, ...(parent ? { parent } : {}), created: FIXED_TIME.toISOString() })) });
      files.push({ name: `${id}/layer.tar`, data: b });
      parent = id;
    });
    files.push({ name: `${digestHex(configDigest)}.json`, data: configBytes });
    files.push({
      name: "manifest.json",
      data: Buffer.from(JSON.stringify([{ Config: `${digestHex(configDigest)}.json`, RepoTags: tags.length ? tags.map((t) => familiarReference(t)) : null, Layers: layerIds.map((id) => `${id}/layer.tar`) }])),
    });
    const repos: Record<string, Record<string, string>> = {};
    for (const t of tags) {
      const r = parseReference(t);
      const fam = familiarReference({ ...r, tag: undefined, digest: undefined });
      (repos[fam] ??= {})[r.tag ?? "latest"] = layerIds.at(-1) ?? "";
    }
    if (tags.length) files.push({ name: "repositories", data: Buffer.from(JSON.stringify(repos)) });
  } else {
    const layerDescs: Descriptor[] = blobs.map((b) => ({ mediaType: o.gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: sha256Digest(b), size: b.length }));
    const configDesc: Descriptor = { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length };
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: descriptorJson(configDesc), layers: layerDescs.map(descriptorJson) }));
    const mDesc: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256Digest(manifest), size: manifest.length };
    const index = {
      schemaVersion: 2, mediaType: MediaType.ociIndex,
      manifests: tags.length === 0 ? [descriptorJson(mDesc)] : tags.map((t) => descriptorJson({ ...mDesc, annotations: { "io.containerd.image.name": t, "org.opencontainers.image.ref.name": parseReference(t).tag ?? "latest" } })),
    };
    const put = (b: Buffer) => files.push({ name: `blobs/sha256/${digestHex(sha256Digest(b))}`, data: b });
    blobs.forEach(put);
    put(configBytes);
    put(manifest);
    files.push({ name: "index.json", data: Buffer.from(JSON.stringify(index)) });
    files.push({ name: "oci-layout", data: Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })) });
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const dirs = [...new Set(files.map((f) => f.name.split("/").slice(0, -1)).filter((p) => p.length > 0).flatMap((p) => p.map((_, i) => p.slice(0, i + 1).join("/") + "/")))].sort();
  const entries: LayerEntry[] = [...dirs.map((d) => ({ name: d, type: "directory" as const })), ...files.map((f) => ({ name: f.name, data: f.data }))];
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return tarLayer(entries);
}

export interface BusyboxImageOptions {
  /** Names; default ["busybox:latest"]; [] for an untagged image. */
  tags?: string[];
  format?: "docker" | "oci";
  /** gzip the layers (docker-archive layers may be either). */
  gzip?: boolean;
  /** Layers on top of busybox's (tests of multi-layer unpack). */
  extraLayers?: LayerEntry[][];
  /** Replaces the runtime config (default Cmd ["sh"], Env PATH). */
  config?: ContainerConfigJson;
}

/** The busybox image as a docker-archive (tag default busybox:latest). */
export async function buildBusyboxImage(o: BusyboxImageOptions = {}): Promise<Buffer> {
  const layers = [await busyboxLayer()];
  for (const l of o.extraLayers ?? []) layers.push(await tarLayer(l));
  return buildImageArchive({
    layers,
    tags: o.tags ?? ["busybox:latest"],
    format: o.format ?? "docker",
    gzip: o.gzip ?? false,
    ...(o.config ? { config: o.config } : {}),
  });
}
