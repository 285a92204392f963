import { test } from "node:test";
import assert from "node:assert/strict";
import { isBerthError } from "../base/errors.js";
import {
  MediaType, checkLayerMediaType, isConfigType, isIndexType, isManifestType, layerCompression, parseConfig,
  parseManifestOrIndex, selectManifest,
} from "./oci.js";

const D = (c: string) => "sha256:" + c.repeat(64);
const enc = (v: unknown) => Buffer.from(JSON.stringify(v));

test("layer media types and their compression", () => {
  assert.equal(layerCompression(MediaType.dockerLayer), "none");
  assert.equal(layerCompression(MediaType.dockerLayerGzip), "gzip");
  assert.equal(layerCompression(MediaType.dockerForeignLayerGzip), "gzip");
  assert.equal(layerCompression(MediaType.ociLayer), "none");
  assert.equal(layerCompression(MediaType.ociLayerGzip), "gzip");
  assert.equal(layerCompression(MediaType.ociLayerZstd), "zstd");
  assert.equal(layerCompression(MediaType.dockerConfig), undefined);
  assert.ok(isManifestType(MediaType.dockerManifest) && isManifestType(MediaType.ociManifest));
  assert.ok(isIndexType(MediaType.dockerManifestList) && isIndexType(MediaType.ociIndex));
  assert.ok(isConfigType(MediaType.dockerConfig) && isConfigType(MediaType.ociConfig));
  assert.throws(() => checkLayerMediaType({ mediaType: "application/x", digest: D("a"), size: 1 }), (e) => isBerthError(e, "invalid-argument") && /unknown layer media type/.test(e.message));
  assert.throws(() => checkLayerMediaType({ mediaType: MediaType.ociLayerZstd, digest: D("a"), size: 1 }), (e) => isBerthError(e, "not-implemented"));
  assert.throws(() => checkLayerMediaType({ mediaType: MediaType.dockerForeignLayerGzip, digest: D("a"), size: 1, urls: ["http://x"] }), (e) => isBerthError(e, "not-implemented"));
});

const manifest = {
  schemaVersion: 2, mediaType: MediaType.dockerManifest,
  config: { mediaType: MediaType.dockerConfig, digest: D("c"), size: 10 },
  layers: [{ mediaType: MediaType.dockerLayerGzip, digest: D("1"), size: 20 }],
};

test("manifests and indexes parse, with their media type checked", () => {
  const m = parseManifestOrIndex(enc(manifest), { digest: D("e"), mediaType: MediaType.dockerManifest });
  assert.equal(m.kind, "manifest");
  const idx = parseManifestOrIndex(enc({ schemaVersion: 2, manifests: [{ mediaType: MediaType.ociManifest, digest: D("e"), size: 5 }] }), { digest: D("f"), mediaType: MediaType.ociIndex });
  assert.equal(idx.kind, "index");
  const bad = (v: unknown, mt: string, re: RegExp, kind = "invalid-argument") =>
    assert.throws(() => parseManifestOrIndex(enc(v), { digest: D("0"), mediaType: mt }), (e) => isBerthError(e) && e.kind === kind && re.test(e.message));
  bad(manifest, MediaType.ociManifest, /differs from the descriptor/);
  bad({ ...manifest, mediaType: "application/x-thing" }, "application/x-thing", /unknown media type/);
  bad({ ...manifest, schemaVersion: 1 }, MediaType.dockerManifest, /schema 1/, "not-implemented");
  bad({ ...manifest, config: { ...manifest.config, digest: "md5:x" } }, MediaType.dockerManifest, /invalid digest/);
  bad({ ...manifest, config: { ...manifest.config, mediaType: "application/x" } }, MediaType.dockerManifest, /config media type/);
  bad({ ...manifest, layers: [{ ...manifest.layers[0], size: -1 }] }, MediaType.dockerManifest, /invalid size/);
  bad({ ...manifest, layers: [{ ...manifest.layers[0], mediaType: "text/plain" }] }, MediaType.dockerManifest, /unknown layer media type/);
  assert.throws(() => parseManifestOrIndex(Buffer.from("{not json"), { digest: D("0"), mediaType: MediaType.dockerManifest }), /not valid JSON/);
});

test("configs need rootfs.diff_ids", () => {
  const ok = parseConfig(enc({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [D("1")] } }), D("c"));
  assert.deepEqual(ok.rootfs.diff_ids, [D("1")]);
  assert.throws(() => parseConfig(enc({ architecture: "amd64", os: "linux" }), D("c")), /rootfs.diff_ids/);
  assert.throws(() => parseConfig(enc({ rootfs: { diff_ids: ["nope"] } }), D("c")), /invalid diff ID/);
});

test("an index gives its linux/amd64 manifest", () => {
  const idx = {
    schemaVersion: 2 as const,
    manifests: [
      { mediaType: MediaType.ociManifest, digest: D("a"), size: 1, platform: { os: "linux", architecture: "arm64" } },
      { mediaType: MediaType.ociManifest, digest: D("b"), size: 1, platform: { os: "linux", architecture: "amd64" } },
      { mediaType: MediaType.ociManifest, digest: D("c"), size: 1, platform: { os: "unknown", architecture: "unknown" } },
    ],
  };
  assert.equal(selectManifest(idx, D("f")).digest, D("b"));
  assert.throws(() => selectManifest({ schemaVersion: 2, manifests: [idx.manifests[0]!] }, D("f")), (e) => isBerthError(e, "not-found"));
  assert.equal(selectManifest({ schemaVersion: 2, manifests: [{ mediaType: MediaType.ociManifest, digest: D("d"), size: 1 }] }, D("f")).digest, D("d"), "a lone manifest without platform");
});
