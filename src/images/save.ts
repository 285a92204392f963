// `docker save`: a docker-archive that is also an OCI image layout, as docker 25+ writes it:
// oci-layout, blobs/sha256/<hex> for every blob (so manifests keep their digests through a
// load), index.json naming each image, and manifest.json for loaders that know only the
// docker-archive format. Blobs stream from Content/Read; entries are deterministic (fixed
// mtime, fixed order), so saving the same images twice gives the same bytes.
import { PassThrough, type Readable } from "node:stream";
import tar from "tar-stream";
import type { ContainerdClient } from "../containerd/index.js";
import { digestHex } from "./digest.js";
import type { ResolvedImage } from "./image-store.js";
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, MediaType, descriptorJson, type Descriptor } from "./oci.js";
import { familiarReference, parseReference } from "./reference.js";

export interface SaveItem {
  image: ResolvedImage;
  /** Normalized names to record for this image (none when saved by ID). */
  names: string[];
}

const MTIME = new Date(0);
const blobPath = (d: string) => `blobs/sha256/${digestHex(d)}`;

export function saveArchive(client: ContainerdClient, items: SaveItem[], signal?: AbortSignal): Readable {
  const pack = tar.pack();
  const out = new PassThrough();
  // A client that hangs up destroys `out`; the pipe then destroys the pack with an error that
  // nobody else listens to, which would take berthd down. The failure is out's to report.
  pack.on("error", () => {});
  (pack as unknown as Readable).pipe(out);
  const blobs: Descriptor[] = [];
  const seen = new Set<string>();
  const add = (d: Descriptor) => { if (!seen.has(d.digest)) { seen.add(d.digest); blobs.push(d); } };
  for (const { image } of items) {
    for (const l of image.manifest.layers) add(l);
    add(image.configDesc);
    add(image.manifestDesc);
    if (image.target.digest !== image.manifestDesc.digest) add(image.target);
  }
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: items.flatMap(({ image, names }) => {
      const desc = { mediaType: image.target.mediaType, digest: image.target.digest, size: image.target.size };
      if (names.length === 0) return [descriptorJson(desc)];
      return names.map((n) => descriptorJson({ ...desc, annotations: { [ANNOTATION_IMAGE_NAME]: n, [ANNOTATION_REF_NAME]: parseReference(n).tag ?? "" } }));
    }),
  };
  const manifestJson = items.map(({ image, names }) => ({
    Config: blobPath(image.configDesc.digest),
    RepoTags: names.length > 0 ? names.map((n) => familiarReference(n)) : null,
    Layers: image.manifest.layers.map((l) => blobPath(l.digest)),
  }));

  const entry = (name: string, data: Buffer | string) => new Promise<void>((resolve, reject) => {
    pack.entry({ name, mtime: MTIME, mode: 0o644, uid: 0, gid: 0 }, data, (e) => (e ? reject(e) : resolve()));
  });
  const dir = (name: string) => new Promise<void>((resolve, reject) => {
    pack.entry({ name, type: "directory", mtime: MTIME, mode: 0o755, uid: 0, gid: 0 }, (e) => (e ? reject(e) : resolve()));
  });
  void (async () => {
    await dir("blobs");
    await dir("blobs/sha256");
    for (const b of blobs) {
      signal?.throwIfAborted();
      const w = pack.entry({ name: blobPath(b.digest), size: b.size, mtime: MTIME, mode: 0o644, uid: 0, gid: 0 });
      const finished = new Promise<void>((resolve, reject) => { w.on("finish", () => resolve()); w.on("error", reject); });
      // Awaited below; until then an error (the reader went away) must not be unhandled.
      finished.catch(() => {});
      for await (const chunk of client.content.read(b.digest, signal ? { signal } : undefined)) {
        if ((w as unknown as { destroyed: boolean }).destroyed) break;
        if (!w.write(chunk)) await new Promise<void>((r) => { w.once("drain", () => r()); w.once("close", () => r()); });
      }
      (w as unknown as { end(): void }).end();
      await finished;
    }
    await entry("index.json", JSON.stringify(index));
    await entry("manifest.json", JSON.stringify(manifestJson));
    await entry("oci-layout", JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    pack.finalize();
  })().catch((e: unknown) => {
    out.destroy(e as Error);
    (pack as unknown as Readable).destroy();
  });
  return out;
}
