// The images layer against a real containerd: load (docker-archive and OCI layout), unpack,
// run a container from the image, list/inspect from cache, tag, remove, save round trip,
// import, and every bad input leaving nothing behind. RPC counts are asserted exactly.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { minimalSpec } from "../helpers/spec.js";
import { RecordingBackend } from "../helpers/backend.js";
import { isBerthError, type ErrorKind } from "../../src/containerd/index.js";
import { createClient, type LibcontainerdClient } from "../../src/libcontainerd/index.js";
import {
  buildBusyboxImage, buildImageArchive, busyboxLayer, createImageService, createImageSource, tarLayer, sha256Digest, chainIds,
  type ImageService, type ProgressEvent,
} from "../../src/images/index.js";

let ctd: TestContainerd;
let images: ImageService;
let lcd: LibcontainerdClient;
const backend = new RecordingBackend();
const used = new Set<string>();
let fixture: Buffer;
let busyboxId: string;

before(async () => {
  ctd = await startTestContainerd("img");
  images = createImageService({ containerd: ctd.client, isUsed: (id) => used.has(id) });
  lcd = await createClient({ containerd: ctd.client, stateDir: path.join(ctd.dir, "fifos"), backend });
  await backend.waitStreamUp(lcd);
  fixture = await buildBusyboxImage();
});
after(async () => {
  await lcd.close();
  const left = await ctd.leftovers();
  const ingests = (await ctd.client.content.rpc.listStatuses({})).statuses.map((s) => s.ref);
  await ctd.stop();
  assert.deepEqual(left.containers, []);
  assert.deepEqual(left.leases, []);
  assert.deepEqual(ingests, []);
});

async function calls<T>(fn: () => Promise<T>): Promise<[T, Record<string, number>]> {
  const { result, calls } = await ctd.client.counter.measure(fn);
  return [result, calls];
}

async function contentDigests(): Promise<string[]> {
  const out: string[] = [];
  for await (const r of ctd.client.content.rpc.list({})) out.push(...r.info.map((i) => i.digest));
  return out.sort();
}

/** Everything a failed operation must not leave: records, blobs, ingests, snapshots, leases. */
async function state() {
  const left = await ctd.leftovers();
  return {
    images: (await ctd.client.images.rpc.list({})).images.map((i) => i.name).sort(),
    content: await contentDigests(),
    ingests: (await ctd.client.content.rpc.listStatuses({})).statuses.map((s) => s.ref),
    snapshots: left.snapshots.sort(),
    leases: left.leases,
  };
}

async function rejectsCleanly(fn: () => Promise<unknown>, kind: ErrorKind, message: RegExp): Promise<void> {
  const before = await state();
  await assert.rejects(fn, (e: unknown) => {
    assert.ok(isBerthError(e), `a BerthError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message, message);
    return true;
  });
  assert.deepEqual(await state(), before, "nothing left behind");
}

/** Rewrites an archive entry by entry (drop with null). */
async function repack(archive: Buffer, edit: (name: string, data: Buffer) => Buffer | null, extra: { name: string; data: Buffer }[] = []): Promise<Buffer> {
  const ex = tar.extract();
  const pack = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => { for await (const c of pack) out.push(c as Buffer); })();
  Readable.from([archive]).pipe(ex as unknown as NodeJS.WritableStream);
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e as unknown as AsyncIterable<Buffer>) chunks.push(c);
    const h = e.header;
    if (h.type !== "file") { pack.entry({ ...h }); continue; }
    const data = edit(h.name, Buffer.concat(chunks));
    if (data !== null) pack.entry({ ...h, size: data.length }, data);
  }
  for (const x of extra) pack.entry({ name: x.name, size: x.data.length }, x.data);
  pack.finalize();
  await done;
  return Buffer.concat(out);
}

async function runEcho(imageRef: string, args: string[]): Promise<string> {
  const id = `img-${randomBytes(4).toString("hex")}`;
  const rootfs = await images.prepareRootfs(id, imageRef);
  const spec = minimalSpec({ namespace: ctd.namespace, id, rootfs: "rootfs", args });
  const c = await lcd.newContainer(id, { spec, rootfs: { kind: "snapshot", snapshotter: rootfs.snapshotter, key: rootfs.key, mounts: rootfs.mounts } });
  const out: Buffer[] = [];
  let ended: Promise<unknown> = Promise.resolve();
  const task = await c.start({
    attachStdio: (io) => {
      io.stdout!.on("data", (b: Buffer) => out.push(b));
      io.stderr!.resume();
      ended = once(io.stdout!, "end");
    },
  });
  const exit = await task.exited;
  await task.delete();
  await ended;
  await c.delete();
  const [, rmCalls] = await calls(() => images.removeRootfs(rootfs.key));
  assert.deepEqual(rmCalls, { "Snapshots/Remove": 1 });
  assert.equal(exit.exitCode, 0);
  return Buffer.concat(out).toString();
}

describe("load and unpack", () => {
  test("the busybox fixture loads: RPCs by method, GC labels, tag, inspect", async () => {
    const progress: ProgressEvent[] = [];
    const [res, loadCalls] = await calls(() => images.load(Readable.from([fixture]), { onProgress: (e) => progress.push(e) }));
    assert.deepEqual(loadCalls, {
      "Content/Write": 3, // layer (streamed), config, manifest
      "Images/Create": 1,
      "Images/List": 1, // the record cache, read once
      "Leases/Create": 1,
      "Leases/Delete": 1,
      "Snapshots/Commit": 1, // the stage the layer was extracted into while it streamed, as the layer
      "Snapshots/Prepare": 1, // that stage
      "Snapshots/Stat": 1,
    });
    assert.equal(res.images.length, 1);
    const img = res.images[0]!;
    assert.equal(img.name, "docker.io/library/busybox:latest");
    busyboxId = img.id;
    assert.ok(progress.some((p) => p.status === "done"), "progress per layer");

    const manifest = await ctd.client.content.info(img.digest);
    const inspect = await images.inspect("busybox");
    assert.equal(manifest.labels["containerd.io/gc.ref.content.config"], inspect.id);
    const m = JSON.parse(Buffer.concat(await arrayOf(ctd.client.content.read(img.digest))).toString());
    assert.equal(manifest.labels["containerd.io/gc.ref.content.l.0"], m.layers[0].digest);
    assert.equal(m.layers[0].mediaType, "application/vnd.docker.image.rootfs.diff.tar");
    const config = await ctd.client.content.info(inspect.id);
    assert.equal(config.labels["containerd.io/gc.ref.snapshot.overlayfs"], inspect.chainId);
    assert.equal(inspect.chainId, inspect.rootfs.diffIds[0], "one layer: chainID = diffID");

    assert.deepEqual(inspect.repoTags, ["docker.io/library/busybox:latest"]);
    assert.deepEqual(inspect.repoDigests, [], "a loaded image has no repo digest");
    assert.deepEqual(inspect.config.cmd, ["sh"]);
    assert.deepEqual(inspect.config.env, ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
    assert.equal(inspect.config.entrypoint, undefined);
    assert.equal(inspect.created?.toISOString(), "2024-01-01T00:00:00.000Z");
    assert.equal(inspect.architecture, "amd64");
    assert.equal(inspect.os, "linux");
    assert.equal(inspect.target.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
    assert.ok(inspect.size > 1_000_000);
    const list = await images.list();
    assert.deepEqual(list.map((i) => [i.id, i.repoTags]), [[busyboxId, ["docker.io/library/busybox:latest"]]]);
    assert.deepEqual((await ctd.leftovers()).snapshots, [inspect.chainId]);
  });

  test("the same archive again: nothing re-applied, same image", async () => {
    const [res, c] = await calls(() => images.load(Readable.from([fixture])));
    assert.equal(res.images[0]!.id, busyboxId);
    // The layer streams again (a docker-archive names no digests) and is staged again, but the
    // unpack finds its snapshot: the stage is dropped, nothing is applied or committed.
    assert.equal(c["Snapshots/Prepare"], 1, "the speculative stage");
    assert.equal(c["Snapshots/Remove"], 1, "dropped");
    assert.equal(c["Snapshots/Commit"], undefined, "no layer committed again");
    assert.equal(c["Diff/Apply"], undefined);
    assert.equal(c["Images/Create"] ?? 0, 0, "the name already points there");
  });

  test("a second unpack costs one Snapshots/Stat; prepareRootfs one Snapshots/Prepare", async () => {
    const [u, unpackCalls] = await calls(() => images.unpack("busybox:latest"));
    assert.deepEqual(unpackCalls, { "Snapshots/Stat": 1 });
    assert.equal(u.applied, 0);
    const [r, prepCalls] = await calls(() => images.prepareRootfs("prep-only", "busybox"));
    assert.deepEqual(prepCalls, { "Snapshots/Prepare": 1 });
    assert.equal(r.key, "prep-only");
    assert.equal(r.mounts[0]?.type, "overlay");
    const info = await ctd.client.snapshots.rpc.stat({ snapshotter: "overlayfs", key: "prep-only" });
    assert.match(info.info!.labels["containerd.io/gc.root"]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(info.info!.parent, u.chainId);
    const [, rmCalls] = await calls(() => images.removeRootfs("prep-only"));
    assert.deepEqual(rmCalls, { "Snapshots/Remove": 1 });
  });

  test("a container runs from the image's snapshot: busybox echo", async () => {
    assert.equal(await runEcho("busybox", ["busybox", "echo", "hello from berth"]), "hello from berth\n");
    assert.equal(await runEcho(busyboxId, ["sh", "-c", "cat /etc/passwd | head -1; ls -ld /tmp | cut -c1-10"]), "root:x:0:0:root:/root:/bin/sh\ndrwxrwxrwt\n");
  });

  test("the engine's ImageSource: resolve free, prepare one Prepare, remove one Remove", async () => {
    const source = createImageSource(images);
    const [img, rc] = await calls(() => source.resolve("busybox"));
    assert.deepEqual(rc, {});
    assert.deepEqual(img, { id: busyboxId, name: "busybox:latest", config: {
      cmd: ["sh"], env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], workingDir: "", user: "", exposedPorts: [], volumes: [], labels: {},
    } });
    const [rootfs, pc] = await calls(() => source.prepareRootfs("via-source", img));
    assert.deepEqual(pc, { "Snapshots/Prepare": 1 });
    const [, xc] = await calls(() => source.removeRootfs("via-source", rootfs));
    assert.deepEqual(xc, { "Snapshots/Remove": 1 });
  });

  test("list and inspect cost no RPC once read", async () => {
    const [, c] = await calls(async () => {
      await images.list();
      await images.inspect("busybox");
      await images.inspect(busyboxId.slice(7, 19));
      await images.history("busybox");
    });
    assert.deepEqual(c, {});
  });

  test("an OCI layout with gzip layers and a second layer: only the new layer is applied", async () => {
    const archive = await buildBusyboxImage({ tags: ["oci/two:layers"], format: "oci", gzip: true, extraLayers: [[{ name: "etc/motd", data: "second layer\n" }]] });
    const [res] = await calls(() => images.load(Readable.from([archive])));
    const inspect = await images.inspect("oci/two:layers");
    assert.equal(res.images[0]!.id, inspect.id);
    assert.equal(inspect.target.mediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.equal(inspect.rootfs.diffIds.length, 2);
    assert.equal(inspect.rootfs.diffIds[0], (await images.inspect("busybox")).rootfs.diffIds[0], "same base layer");
    const chains = chainIds(inspect.rootfs.diffIds);
    assert.equal(inspect.chainId, chains[1]);
    assert.equal(chains[1], sha256Digest(`${chains[0]} ${inspect.rootfs.diffIds[1]}`));
    assert.ok((await ctd.leftovers()).snapshots.includes(chains[1]!));
    assert.equal(await runEcho("oci/two:layers", ["cat", "/etc/motd"]), "second layer\n");
    // A fresh service (cold cache) unpacks a stack whose lower layer exists: one layer applied.
    await images.remove("oci/two:layers");
    assert.ok(!(await ctd.leftovers()).snapshots.includes(chains[1]!), "the top snapshot was collected");
    const [again, c2] = await calls(() => images.load(Readable.from([archive])));
    assert.equal(again.images[0]!.id, inspect.id);
    assert.equal(c2["Diff/Apply"], 1, "only the second layer");
    assert.equal(c2["Snapshots/Stat"], 2, "top missing, base present");
    await images.remove("oci/two:layers");
  });

  test("a docker-archive with gzipped layers loads with the gzip media type", async () => {
    const archive = await buildBusyboxImage({ tags: ["gz/busybox:1"], gzip: true, extraLayers: [[{ name: "gz", data: "gz" }]] });
    await images.load(Readable.from([archive]));
    const inspect = await images.inspect("gz/busybox:1");
    const manifest = JSON.parse(Buffer.concat(await arrayOf(ctd.client.content.read(inspect.target.digest))).toString());
    assert.deepEqual(manifest.layers.map((l: { mediaType: string }) => l.mediaType), [
      "application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip",
    ]);
    const layerInfo = await ctd.client.content.info(manifest.layers[0].digest);
    assert.equal(layerInfo.labels["containerd.io/uncompressed"], inspect.rootfs.diffIds[0]);
    await images.remove("gz/busybox:1");
  });
});

async function arrayOf<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("tag, remove, save, history, import", () => {
  test("tag adds a name, re-tagging moves it; remove untags, then deletes and collects", async () => {
    const imp = await images.importRootfs(Readable.from([await tarLayer([{ name: "hello.txt", data: "hi" }])]), { tag: "scratch/one:1" });
    await images.tag("busybox", "localhost:5000/tagged/bb:v1");
    await images.tag("busybox", "moving:tag");
    assert.deepEqual((await images.inspect("busybox")).repoTags, [
      "docker.io/library/busybox:latest", "docker.io/library/moving:tag", "localhost:5000/tagged/bb:v1",
    ]);
    const [, moveCalls] = await calls(() => images.tag("scratch/one:1", "moving:tag"));
    assert.deepEqual(moveCalls, { "Images/Update": 1 });
    assert.equal(await images.resolve("moving:tag"), imp.id);
    await assert.rejects(images.tag("busybox", "x@sha256:" + "a".repeat(64)), (e) => isBerthError(e, "invalid-argument"));

    assert.deepEqual(await images.remove("localhost:5000/tagged/bb:v1"), { untagged: ["localhost:5000/tagged/bb:v1"], deleted: [] });
    await assert.rejects(images.remove(imp.id), (e) => isBerthError(e, "conflict") && /multiple repositories/.test(e.message));
    assert.deepEqual(await images.remove("moving:tag"), { untagged: ["docker.io/library/moving:tag"], deleted: [] });
    const beforeDelete = await contentDigests();
    assert.ok(beforeDelete.includes(imp.id));
    const [res, delCalls] = await calls(() => images.remove("scratch/one:1"));
    assert.deepEqual(res, { untagged: ["docker.io/scratch/one:1"], deleted: [imp.id] });
    assert.deepEqual(delCalls, { "Images/Delete": 1 });
    const after = await contentDigests();
    assert.ok(!after.includes(imp.id) && !after.includes(imp.digest), "config and manifest collected");
    assert.ok(!(await ctd.leftovers()).snapshots.includes((await chainOf(imp.id)) ?? "none"));
    await assert.rejects(images.inspect("scratch/one:1"), (e) => isBerthError(e, "not-found") && /No such image/.test(e.message));
  });

  test("remove is refused while a container uses the image, unless forced", async () => {
    await images.tag("busybox", "inuse:1");
    const imp = await images.importRootfs(Readable.from([await tarLayer([{ name: "f", data: "x" }])]), { tag: "inuse:only" });
    used.add(imp.id);
    try {
      await assert.rejects(images.remove("inuse:only"), (e) => isBerthError(e, "conflict") && /must force/.test(e.message));
      assert.deepEqual(await images.remove("inuse:1"), { untagged: ["docker.io/library/inuse:1"], deleted: [] }, "untag of a busybox name");
      const forced = await images.remove("inuse:only", { force: true });
      assert.deepEqual(forced, { untagged: ["docker.io/library/inuse:only"], deleted: [] });
      const still = await images.inspect(imp.id);
      assert.deepEqual(still.repoTags, [], "dangling, kept for its container");
      assert.ok((await images.list()).some((i) => i.id === imp.id));
    } finally {
      used.delete(imp.id);
    }
    assert.deepEqual(await images.remove(imp.id), { untagged: [], deleted: [imp.id] });
  });

  test("save → load round-trips the blobs byte for byte; saving twice gives the same bytes", async () => {
    const saved = await readAllOf(await images.save(["busybox"]));
    const again = await readAllOf(await images.save(["busybox:latest"]));
    assert.ok(saved.equals(again), "deterministic");
    const files = await tarFiles(saved);
    const inspect = await images.inspect("busybox");
    for (const d of [inspect.target.digest, inspect.id, inspect.rootfs.diffIds[0]!]) {
      const fromStore = Buffer.concat(await arrayOf(ctd.client.content.read(d)));
      assert.ok(files.get(`blobs/sha256/${d.slice(7)}`)?.equals(fromStore), `blob ${d} identical`);
    }
    const mj = JSON.parse(files.get("manifest.json")!.toString());
    assert.deepEqual(mj[0].RepoTags, ["busybox:latest"]);
    assert.ok(files.has("oci-layout") && files.has("index.json"));
    // Load into a cold service after removing the image: same ID, same manifest digest.
    await images.tag("busybox", "keep:me");
    await images.remove("busybox");
    const fresh = createImageService({ containerd: ctd.client });
    const res = await fresh.load(Readable.from([saved]));
    assert.deepEqual(res.images, [{ name: "docker.io/library/busybox:latest", id: inspect.id, digest: inspect.target.digest }]);
    images.refresh();
    await images.remove("keep:me");
    assert.equal((await images.inspect("busybox")).id, inspect.id);
  });

  test("save of several images (shared layers once) loads back as all of them", async () => {
    await images.load(Readable.from([await buildBusyboxImage({ tags: ["multi/a:1"], extraLayers: [[{ name: "a", data: "a" }]] })]));
    await images.load(Readable.from([await buildBusyboxImage({ tags: ["multi/b:1", "multi/b:2"], format: "oci", extraLayers: [[{ name: "b", data: "b" }]] })]));
    const a = await images.inspect("multi/a:1");
    const b = await images.inspect("multi/b:1");
    const saved = await readAllOf(await images.save(["multi/a:1", "multi/b:1", "multi/b:2", busyboxId]));
    const files = await tarFiles(saved);
    assert.equal([...files.keys()].filter((n) => n.startsWith("blobs/")).length, 3 + 3 + 2 + 1, "busybox layer once; 2 extra layers, 3 configs, 3 manifests");
    const mj = JSON.parse(files.get("manifest.json")!.toString());
    assert.deepEqual(mj.map((m: { RepoTags: string[] | null }) => m.RepoTags), [["multi/a:1"], ["multi/b:1", "multi/b:2"], null]);
    for (const r of ["multi/a:1", "multi/b:1", "multi/b:2"]) await images.remove(r);
    const res = await images.load(Readable.from([saved]));
    assert.deepEqual(res.images.map((i) => [i.name, i.id]), [
      ["docker.io/multi/a:1", a.id], ["docker.io/multi/b:1", b.id], ["docker.io/multi/b:2", b.id], [undefined, busyboxId],
    ]);
    assert.equal((await images.inspect("multi/b:2")).target.digest, b.target.digest, "the OCI manifest kept its digest");
    for (const r of ["multi/a:1", "multi/b:1", "multi/b:2"]) await images.remove(r);
  });

  test("history comes from the config, newest first", async () => {
    const h = await images.history("busybox");
    assert.equal(h.length, 1);
    assert.equal(h[0]!.id, busyboxId);
    assert.equal(h[0]!.createdBy, "berth fixture: busybox root filesystem");
    assert.ok(h[0]!.size > 1_000_000);
  });

  test("import a rootfs tarball (gzipped) with changes", async () => {
    const layer = gzipSync(await busyboxLayer());
    const res = await images.importRootfs(Readable.from([layer]), {
      tag: "imported:1", message: "from a test",
      changes: ['CMD ["echo","imported"]', "ENV A=b C=\"d e\"", "WORKDIR /tmp", "USER nobody", "EXPOSE 8080", "LABEL x=y"],
    });
    const i = await images.inspect("imported:1");
    assert.equal(i.id, res.id);
    assert.deepEqual(i.config.cmd, ["echo", "imported"]);
    assert.deepEqual(i.config.env, ["A=b", "C=d e"]);
    assert.equal(i.config.workingDir, "/tmp");
    assert.equal(i.config.user, "nobody");
    assert.deepEqual(i.config.exposedPorts, ["8080/tcp"]);
    assert.deepEqual(i.config.labels, { x: "y" });
    assert.equal((await images.history("imported:1"))[0]!.comment, "from a test");
    assert.equal(await runEcho("imported:1", ["busybox", "echo", "imported ok"]), "imported ok\n");
    await images.remove("imported:1");
    await rejectsCleanly(() => images.importRootfs(Readable.from([layer]), { tag: "bad:change", changes: ["RUN rm -rf /"] }), "invalid-argument", /RUN is not supported/);
    await rejectsCleanly(() => images.importRootfs(Readable.from([Buffer.from("not a tar".repeat(200))])), "invalid-argument", /not a valid tar/);
  });
});

async function chainOf(id: string): Promise<string | undefined> {
  try { return (await images.inspect(id)).chainId; } catch { return undefined; }
}

async function readAllOf(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

async function tarFiles(archive: Buffer): Promise<Map<string, Buffer>> {
  const ex = tar.extract();
  Readable.from([archive]).pipe(ex as unknown as NodeJS.WritableStream);
  const m = new Map<string, Buffer>();
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e as unknown as AsyncIterable<Buffer>) chunks.push(c);
    if (e.header.type === "file") m.set(e.header.name, Buffer.concat(chunks));
  }
  return m;
}

describe("bad input leaves nothing behind", () => {
  const load = (b: Buffer) => () => images.load(Readable.from([b]));
  const withLayer = async (entries: Parameters<typeof tarLayer>[0], tags = ["bad:layer"]) =>
    buildImageArchive({ layers: [await tarLayer(entries)], tags });
  /** Pads a layer past the in-memory threshold so it takes the streaming path. */
  const big = { name: "big.bin", data: randomBytes(1_200_000) };

  test("a truncated archive", async () => {
    await rejectsCleanly(load(fixture.subarray(0, Math.floor(fixture.length / 2))), "invalid-argument", /truncated|missing/);
  });

  test("not a tar archive, and an archive with no image", async () => {
    await rejectsCleanly(load(Buffer.from("hello world".repeat(100))), "invalid-argument", /truncated or not a tar/);
    await rejectsCleanly(load(await tarLayer([{ name: "readme", data: "x" }])), "invalid-argument", /unrecognized image archive/);
  });

  test("a blob whose digest does not match its name (OCI layout), and a config that does not match", async () => {
    const oci = await buildBusyboxImage({ format: "oci", tags: ["bad:digest"] });
    const files = await tarFiles(oci);
    const index = JSON.parse(files.get("index.json")!.toString());
    const mPath = `blobs/sha256/${index.manifests[0].digest.slice(7)}`;
    const manifest = JSON.parse(files.get(mPath)!.toString());
    const cfgPath = `blobs/sha256/${manifest.config.digest.slice(7)}`;
    const layerPath = `blobs/sha256/${manifest.layers[0].digest.slice(7)}`;
    const flip = (b: Buffer) => { const c = Buffer.from(b); c[c.length - 600]! ^= 1; return c; };
    await rejectsCleanly(load(await repack(oci, (n, d) => (n === cfgPath ? flip(Buffer.concat([d.subarray(0, -1), Buffer.from(" ")])) : d))), "invalid-argument", /digest does not match/);
    await rejectsCleanly(load(await repack(oci, (n, d) => (n === layerPath ? flip(d) : d))), "invalid-argument", /digest does not match/);
    const docker = await buildBusyboxImage({ tags: ["bad:config"] });
    await rejectsCleanly(load(await repack(docker, (n, d) => (n.endsWith(".json") && n !== "manifest.json" ? Buffer.from(d.toString().replace('"sh"', '"ash"')) : d))), "invalid-argument", /digest does not match/);
  });

  test("a layer that does not match the config's diff ID", async () => {
    // The file "a" becomes "b": still a valid tar, a different diff ID.
    const flipData = (d: Buffer) => { const c = Buffer.from(d); c[512] = 0x62; return c; };
    const docker = await buildBusyboxImage({ tags: ["bad:diffid"], extraLayers: [[{ name: "a", data: "a" }]] });
    await rejectsCleanly(load(await repack(docker, (n, d) => (n.endsWith("/layer.tar") && d.length < 100_000 ? flipData(d) : d))), "invalid-argument", /diff ID/);
  });

  test("layer entries escaping the root are refused, in memory and streamed", async () => {
    await rejectsCleanly(load(await withLayer([{ name: "../evil", data: "x" }])), "invalid-argument", /escapes the root/);
    await rejectsCleanly(load(await withLayer([big, { name: "a/../../evil", data: "x" }])), "invalid-argument", /escapes the root/);
    await rejectsCleanly(load(await withLayer([{ name: "/etc/evil", data: "x" }])), "invalid-argument", /absolute path/);
    await rejectsCleanly(load(await withLayer([big, { name: "passwd", type: "link", linkname: "../../../etc/passwd" }])), "invalid-argument", /hard link .* escapes the root/);
    await rejectsCleanly(load(await withLayer([{ name: "shadow", type: "link", linkname: "/etc/shadow" }])), "invalid-argument", /hard link .* absolute/);
  });

  test("a symlink pointing outside is stored as it is (resolved in the container's root)", async () => {
    const res = await images.load(Readable.from([await withLayer([{ name: "out", type: "symlink", linkname: "../../../etc/hostname" }], ["ok:symlink"])]));
    assert.equal(res.images[0]!.name, "docker.io/library/ok:symlink");
    await images.remove("ok:symlink");
  });

  test("a manifest naming a missing blob", async () => {
    const docker = await buildBusyboxImage({ tags: ["bad:missing"] });
    await rejectsCleanly(load(await repack(docker, (n, d) => (n.endsWith("layer.tar") ? null : d))), "not-found", /layer ".*layer.tar" is missing from the archive/);
    const oci = await buildBusyboxImage({ format: "oci", tags: ["bad:missing"] });
    const files = await tarFiles(oci);
    const manifest = [...files.entries()].find(([n, d]) => n.startsWith("blobs/") && d.length < 2000 && d.toString().includes('"layers":['))!;
    const cfg = JSON.parse(manifest[1].toString()).config.digest.slice(7);
    await rejectsCleanly(load(await repack(oci, (n, d) => (n.endsWith(cfg) ? null : d))), "not-found", /image config .* is missing from the archive/);
  });

  test("unknown media types", async () => {
    const oci = await buildBusyboxImage({ format: "oci", tags: ["bad:mediatype"] });
    const layerType = "application/vnd.oci.image.layer.v1.tar";
    const files = await tarFiles(oci);
    const [mName, mData] = [...files.entries()].find(([n, d]) => n.startsWith("blobs/") && d.length < 2000 && d.toString().includes(layerType))!;
    const bad = Buffer.from(mData.toString().replace(layerType, "application/x-unknown"));
    const badDigest = sha256Digest(bad);
    const edited = await repack(oci, (n, d) => {
      if (n === mName) return null;
      if (n === "index.json") return Buffer.from(d.toString().replaceAll(`sha256:${mName.slice(13)}`, badDigest).replace(/"size":\d+/, `"size":${bad.length}`));
      return d;
    }, [{ name: `blobs/sha256/${badDigest.slice(7)}`, data: bad }]);
    await rejectsCleanly(load(edited), "invalid-argument", /unknown layer media type "application\/x-unknown"/);
    const idx = await repack(oci, (n, d) => (n === "index.json" ? Buffer.from(d.toString().replace("application/vnd.oci.image.manifest.v1+json", "application/x-what")) : d));
    await rejectsCleanly(load(idx), "invalid-argument", /media type/);
  });

  test("an invalid name in the archive", async () => {
    await rejectsCleanly(load(await buildBusyboxImage({ tags: ["valid:tag"] }).then((b) => repack(b, (n, d) => (n === "manifest.json" ? Buffer.from(d.toString().replace("valid:tag", "Invalid/Name:x")) : d)))), "invalid-argument", /invalid reference format/);
  });

  test("a cancelled load", async () => {
    const ac = new AbortController();
    const slow = Readable.from((async function* () {
      yield fixture.subarray(0, 1 << 20);
      ac.abort();
      yield fixture.subarray(1 << 20);
    })());
    const before = await state();
    await assert.rejects(images.load(slow, { signal: ac.signal }), (e: Error) => e.name === "AbortError" || isBerthError(e, "canceled"));
    assert.deepEqual(await state(), before);
  });

  test("invalid references", async () => {
    for (const bad of ["UPPER:case", "a:b:c", "x@sha256:123", ""]) {
      await assert.rejects(images.inspect(bad), (e) => isBerthError(e, "invalid-argument") || isBerthError(e, "not-found"), bad);
    }
    await assert.rejects(images.pull("bad//name"), (e) => isBerthError(e, "invalid-argument") && /invalid reference format/.test(e.message));
  });
});

describe("containerd's own applier (what berth's checks add to)", () => {
  test("Diff/Apply keeps '../' entries and hard links inside the snapshot", async () => {
    // A layer written straight into the content store, bypassing berth's checks.
    const layer = await tarLayer([
      { name: "etc/", type: "directory" },
      { name: "etc/hostname", data: "inside\n" },
      { name: "../../escaped-by-dotdot", data: "dotdot" },
      { name: "hl", type: "link", linkname: "../../../etc/hostname" },
    ]);
    const digest = sha256Digest(layer);
    const lease = `applier-${randomBytes(4).toString("hex")}`;
    await ctd.client.leases.rpc.create({ id: lease });
    const headers = { "containerd-lease": lease };
    const key = `applier-${randomBytes(4).toString("hex")}`;
    try {
      const w = await ctd.client.content.openWriter({ ref: `${lease}-layer`, total: layer.length, expected: digest, lease });
      await w.write(layer);
      await w.commit(digest);
      const prep = await ctd.client.snapshots.rpc.prepare({ snapshotter: "overlayfs", key }, { headers });
      assert.equal(prep.mounts[0]?.type, "bind");
      const root = prep.mounts[0]!.source;
      const applied = await ctd.client.diff.rpc.apply({ diff: { mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size: BigInt(layer.length) }, mounts: prep.mounts }, { headers });
      assert.equal(applied.applied?.digest, digest);
      assert.equal(await fs.readFile(path.join(root, "escaped-by-dotdot"), "utf8"), "dotdot", "'../../x' lands at the root of the snapshot");
      await assert.rejects(fs.stat(path.join(root, "..", "escaped-by-dotdot")), { code: "ENOENT" });
      await assert.rejects(fs.stat(path.join(root, "../..", "escaped-by-dotdot")), { code: "ENOENT" });
      assert.equal(await fs.readFile(path.join(root, "hl"), "utf8"), "inside\n", "the hard link points at the layer's own file");
      assert.equal((await fs.stat(path.join(root, "hl"))).ino, (await fs.stat(path.join(root, "etc/hostname"))).ino);
    } finally {
      await ctd.client.snapshots.rpc.remove({ snapshotter: "overlayfs", key }).catch(() => {});
      await ctd.client.leases.rpc.delete({ id: lease, sync: true });
    }
  });
});
