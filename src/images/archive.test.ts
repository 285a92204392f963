// Pieces of archive reading and writing that need no containerd.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { digestFromBlobPath, resolveArchivePath, type ArchiveContents } from "./archive-read.js";
import { cleanTarPath } from "./layer-check.js";
import { buildBusyboxImage, busyboxLayer } from "./busybox-image.js";
import { busyboxApplets } from "./busybox-rootfs.js";
import { sha256Digest } from "./digest.js";
import { parseWwwAuthenticate, defaultPlainHttp } from "./distribution.js";

test("archive paths", () => {
  assert.equal(cleanTarPath("./manifest.json"), "manifest.json");
  assert.equal(cleanTarPath("/abc/layer.tar"), "abc/layer.tar");
  assert.equal(cleanTarPath("blobs/sha256/"), "blobs/sha256");
  assert.equal(cleanTarPath("a/../b"), "b");
  assert.equal(digestFromBlobPath("blobs/sha256/" + "a".repeat(64)), "sha256:" + "a".repeat(64));
  assert.equal(digestFromBlobPath("blobs/sha256/xyz"), undefined);
  const c: ArchiveContents = { json: new Map(), blobs: new Map(), links: new Map([["b/layer.tar", "a/layer.tar"], ["c/layer.tar", "b/layer.tar"]]) };
  assert.equal(resolveArchivePath(c, "./c/layer.tar"), "a/layer.tar");
  c.links.set("a/layer.tar", "c/layer.tar");
  assert.throws(() => resolveArchivePath(c, "a/layer.tar"), /too many links/);
});

test("WWW-Authenticate challenges", () => {
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), {
    scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" },
  });
  assert.deepEqual(parseWwwAuthenticate('Basic realm="x"'), { scheme: "basic", params: { realm: "x" } });
  assert.ok(defaultPlainHttp("127.0.0.1:5000") && defaultPlainHttp("localhost") && !defaultPlainHttp("docker.io") && !defaultPlainHttp("10.0.0.1:5000"));
});

async function entries(archive: Buffer) {
  const ex = tar.extract();
  Readable.from([archive]).pipe(ex as unknown as NodeJS.WritableStream);
  const out: { name: string; type: string; mode: number; mtime: number; linkname: string; data: Buffer }[] = [];
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e as unknown as AsyncIterable<Buffer>) chunks.push(c);
    out.push({ name: e.header.name, type: e.header.type, mode: e.header.mode, mtime: e.header.mtime.getTime(), linkname: e.header.linkname ?? "", data: Buffer.concat(chunks) });
  }
  return out;
}

test("the busybox fixture: deterministic docker-archive, sorted, with the expected files", async () => {
  const a = await buildBusyboxImage();
  const b = await buildBusyboxImage();
  assert.equal(sha256Digest(a), sha256Digest(b), "same bytes every time");
  const files = await entries(a);
  const names = files.map((f) => f.name);
  assert.deepEqual(names, [...names].sort(), "sorted entries");
  const manifest = JSON.parse(files.find((f) => f.name === "manifest.json")!.data.toString());
  assert.deepEqual(manifest[0].RepoTags, ["busybox:latest"]);
  assert.ok(names.indexOf("manifest.json") > names.indexOf(manifest[0].Layers[0]), "manifest.json after the layers");
  const config = JSON.parse(files.find((f) => f.name === manifest[0].Config)!.data.toString());
  assert.deepEqual(config.config, { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] });
  assert.equal(sha256Digest(files.find((f) => f.name === manifest[0].Config)!.data), "sha256:" + manifest[0].Config.replace(".json", ""));

  const layer = await entries(await busyboxLayer());
  const byName = new Map(layer.map((e) => [e.name, e]));
  assert.equal(byName.get("tmp/")!.mode, 0o1777);
  assert.equal(byName.get("root/")!.mode, 0o700);
  assert.equal(byName.get("bin/busybox")!.mode, 0o755);
  assert.match(byName.get("etc/passwd")!.data.toString(), /^root:x:0:0:root:\/root:\/bin\/sh$/m);
  assert.match(byName.get("etc/group")!.data.toString(), /^root:x:0:$/m);
  assert.equal(byName.get("bin/sh")!.type, "symlink");
  assert.equal(byName.get("bin/sh")!.linkname, "busybox");
  assert.equal(layer.filter((e) => e.type === "symlink").length, new Set(busyboxApplets()).size);
  assert.ok(layer.every((e) => e.mtime === Date.parse("2024-01-01T00:00:00Z")));
});

test("the OCI layout variant names its image in index.json", async () => {
  const files = await entries(await buildBusyboxImage({ format: "oci", tags: ["x/y:1"] }));
  const index = JSON.parse(files.find((f) => f.name === "index.json")!.data.toString());
  assert.equal(index.manifests[0].annotations["io.containerd.image.name"], "docker.io/x/y:1");
  assert.equal(index.manifests[0].annotations["org.opencontainers.image.ref.name"], "1");
  assert.ok(files.some((f) => f.name === "oci-layout"));
});
