// Pull and push against registries on 127.0.0.1: Debian's docker-registry (a real distribution
// server) for the round trip, and a small Node registry for auth flows, manifest lists and
// faults (401/404/500, a connection closed mid-blob, corrupt data). Every failure must leave no
// image record, blob, ingest, snapshot or lease behind.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { Readable } from "node:stream";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { startRegistry, startFakeRegistry, closeMidBlob, type TestRegistry, type FakeRegistry, type FakeRegistryOptions } from "../helpers/registry.js";
import { isBerthError, type ErrorKind } from "../../src/containerd/index.js";
import {
  buildBusyboxImage, busyboxLayer, createImageService, sha256Digest, tarLayer, MediaType,
  type ImageService, type ProgressEvent,
} from "../../src/images/index.js";

let ctd: TestContainerd;
let images: ImageService;
let registry: TestRegistry;

before(async () => {
  ctd = await startTestContainerd("pull");
  images = createImageService({ containerd: ctd.client });
  registry = await startRegistry();
});
after(async () => {
  await registry?.stop();
  const left = await ctd.leftovers();
  const ingests = (await ctd.client.content.rpc.listStatuses({})).statuses.map((s) => s.ref);
  await ctd.stop();
  assert.deepEqual(left.leases, []);
  assert.deepEqual(ingests, []);
});

async function calls<T>(fn: () => Promise<T>): Promise<[T, Record<string, number>]> {
  const { result, calls } = await ctd.client.counter.measure(fn);
  return [result, calls];
}

async function state() {
  const content: string[] = [];
  for await (const r of ctd.client.content.rpc.list({})) content.push(...r.info.map((i) => i.digest));
  const left = await ctd.leftovers();
  return {
    images: (await ctd.client.images.rpc.list({})).images.map((i) => i.name).sort(),
    content: content.sort(),
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

/** Removes every image so the next pull really downloads. */
async function removeAll(): Promise<void> {
  for (const i of await images.list()) await images.remove(i.id, { force: true });
  assert.deepEqual((await state()).content, []);
}

describe("push and pull with a real registry (docker-registry)", () => {
  let pushedDigest = "";
  let busyboxId = "";

  test("push: monolithic blob uploads, then the manifest; a second push finds the blobs there", async () => {
    const loaded = await images.load(Readable.from([await buildBusyboxImage()]));
    busyboxId = loaded.images[0]!.id;
    const ref = `${registry.host}/test/busybox:1`;
    await images.tag("busybox", ref);
    const progress: ProgressEvent[] = [];
    const res = await images.push(ref, { onProgress: (e) => progress.push(e) });
    assert.equal(res.digest, loaded.images[0]!.digest);
    pushedDigest = res.digest;
    // Progress is per layer, as dockerd shows it; the config blob goes up too, silently.
    const layers = (await images.inspect(ref)).rootfs.diffIds.length;
    assert.equal(progress.filter((p) => p.status === "pushed").length, layers, "each layer reported");
    assert.equal(progress.filter((p) => p.status === "waiting").length, layers, "each layer announced first");
    const config = await fetch(`http://${registry.host}/v2/test/busybox/blobs/${busyboxId}`, { method: "HEAD" });
    assert.equal(config.status, 200, "the config blob is in the registry");
    const again: ProgressEvent[] = [];
    await images.push(ref, { onProgress: (e) => again.push(e) });
    assert.equal(again.filter((p) => p.status === "exists").length, layers);
    const r = await fetch(`http://${registry.host}/v2/test/busybox/manifests/1`, { method: "HEAD", headers: { accept: MediaType.dockerManifest } });
    assert.equal(r.headers.get("docker-content-digest"), res.digest);
    assert.deepEqual((await images.inspect(ref)).repoDigests, [`${registry.host}/test/busybox@${res.digest}`]);
  });

  test("pull downloads, verifies, unpacks and names the image; RPCs by method", async () => {
    await removeAll();
    const ref = `${registry.host}/test/busybox:1`;
    const progress: ProgressEvent[] = [];
    const [res, c] = await calls(() => images.pull(ref, { onProgress: (e) => progress.push(e) }));
    assert.deepEqual(res, { name: ref, id: busyboxId, digest: pushedDigest });
    assert.deepEqual(c, {
      // The layer is extracted while it downloads (a stage snapshot, committed as the layer): no Diff/Apply.
      "Content/Write": 3, "Images/Create": 1, "Leases/Create": 1, "Leases/Delete": 1,
      "Snapshots/Commit": 1, "Snapshots/Prepare": 1, "Snapshots/Stat": 1,
    });
    assert.ok(progress.some((p) => p.status === "downloading") && progress.some((p) => p.status === "done"));
    const i = await images.inspect(ref);
    assert.deepEqual(i.repoTags, [ref]);
    assert.deepEqual(i.repoDigests, [`${registry.host}/test/busybox@${pushedDigest}`]);
    const [, prep] = await calls(() => images.prepareRootfs("pulled", ref));
    assert.deepEqual(prep, { "Snapshots/Prepare": 1 });
    await images.removeRootfs("pulled");
    // Pulled again: every blob is there (AlreadyExists at STAT), nothing is downloaded or applied.
    const [, c2] = await calls(() => images.pull(ref));
    assert.deepEqual(c2, { "Content/Update": 2, "Content/Write": 3, "Leases/Create": 1, "Leases/Delete": 1, "Snapshots/Stat": 1 });
  });

  test("pull by digest", async () => {
    const ref = `${registry.host}/test/busybox@${pushedDigest}`;
    const res = await images.pull(ref);
    assert.equal(res.id, busyboxId);
    assert.equal(res.name, ref);
    assert.ok((await images.inspect(ref)).repoDigests.includes(ref));
  });

  test("an unknown tag is not-found, and nothing is left", async () => {
    await rejectsCleanly(() => images.pull(`${registry.host}/test/busybox:nope`), "not-found", /manifest .*busybox:nope: 404/);
    await rejectsCleanly(() => images.pull(`${registry.host}/test/absent:1`), "not-found", /404/);
  });
});

/** The fixture as registry content: gzipped layer, config and manifest (schema 2). */
async function parts(extra = "") {
  const layers = [await busyboxLayer(), ...(extra ? [await tarLayer([{ name: "extra", data: extra }])] : [])];
  const blobs = layers.map((l) => gzipSync(l));
  const config = Buffer.from(JSON.stringify({
    architecture: "amd64", os: "linux", created: "2024-01-01T00:00:00Z",
    config: { Env: ["PATH=/bin"], Cmd: ["sh"] }, rootfs: { type: "layers", diff_ids: layers.map((l) => sha256Digest(l)) },
  }));
  const manifestOf = (layerType: string = MediaType.dockerLayerGzip) => Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.dockerManifest,
    config: { mediaType: MediaType.dockerConfig, digest: sha256Digest(config), size: config.length },
    layers: blobs.map((b) => ({ mediaType: layerType, digest: sha256Digest(b), size: b.length })),
  }));
  const manifest = manifestOf();
  const blobMap = new Map<string, Buffer>([[sha256Digest(config), config], ...blobs.map((b) => [sha256Digest(b), b] as [string, Buffer])]);
  return { blobs, layerDigest: sha256Digest(blobs[0]!), config, configDigest: sha256Digest(config), manifest, manifestOf, blobMap };
}

describe("pull from a registry in Node: auth, manifest lists, faults", () => {
  let fake: FakeRegistry | undefined;
  const serve = async (o: Partial<FakeRegistryOptions> & Pick<FakeRegistryOptions, "manifests" | "blobs">) => {
    await fake?.close();
    fake = await startFakeRegistry(o);
    return fake;
  };
  after(async () => { await fake?.close(); });

  test("bearer token: the challenge's realm, service and scope; the token on later requests", async () => {
    await removeAll();
    const p = await parts();
    const f = await serve({ manifests: new Map([["x/bb:1", { mediaType: MediaType.dockerManifest, bytes: p.manifest }]]), blobs: p.blobMap, auth: { kind: "bearer", username: "u", password: "pw" } });
    const res = await images.pull(`${f.host}/x/bb:1`, { credentials: { username: "u", password: "pw" } });
    assert.equal(res.id, p.configDigest);
    const tokenReq = f.requests.find((r) => r.url.startsWith("/token"))!;
    assert.match(tokenReq.url, /service=fake-registry/);
    assert.match(decodeURIComponent(tokenReq.url), /scope=repository:x\/bb:pull/);
    assert.ok(f.requests.filter((r) => r.url.includes("/blobs/")).every((r) => r.authorization?.startsWith("Bearer ")));
    await images.remove(res.id);
  });

  test("basic auth: with credentials from the options; without, permission-denied", async () => {
    const p = await parts();
    const f = await serve({ manifests: new Map([["x/bb:1", { mediaType: MediaType.dockerManifest, bytes: p.manifest }]]), blobs: p.blobMap, auth: { kind: "basic", username: "u", password: "pw" } });
    await rejectsCleanly(() => images.pull(`${f.host}/x/bb:1`), "permission-denied", /401/);
    const withCreds = createImageService({ containerd: ctd.client, registry: { credentials: (h) => (h === f.host ? { username: "u", password: "pw" } : undefined) } });
    const res = await withCreds.pull(`${f.host}/x/bb:1`);
    assert.equal(res.id, p.configDigest);
    await withCreds.remove(res.id);
    images.refresh();
    await rejectsCleanly(() => images.pull(`${f.host}/x/bb:1`, { credentials: { username: "u", password: "wrong" } }), "permission-denied", /401/);
  });

  test("a manifest list: linux/amd64 is picked, the list is the target", async () => {
    const p = await parts();
    const list = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaType.dockerManifestList,
      manifests: [
        { mediaType: MediaType.dockerManifest, digest: "sha256:" + "1".repeat(64), size: 100, platform: { architecture: "arm64", os: "linux" } },
        { mediaType: MediaType.dockerManifest, digest: sha256Digest(p.manifest), size: p.manifest.length, platform: { architecture: "amd64", os: "linux" } },
      ],
    }));
    const f = await serve({
      manifests: new Map([
        ["x/multi:1", { mediaType: MediaType.dockerManifestList, bytes: list }],
        [`x/multi@${sha256Digest(p.manifest)}`, { mediaType: MediaType.dockerManifest, bytes: p.manifest }],
      ]),
      blobs: p.blobMap,
    });
    const res = await images.pull(`${f.host}/x/multi:1`);
    assert.equal(res.digest, sha256Digest(list));
    const i = await images.inspect(`${f.host}/x/multi:1`);
    assert.equal(i.id, p.configDigest);
    assert.equal(i.manifestDigest, sha256Digest(p.manifest));
    assert.equal(i.target.mediaType, MediaType.dockerManifestList);
    assert.deepEqual(i.repoDigests, [`${f.host}/x/multi@${sha256Digest(list)}`]);
    const info = await ctd.client.content.info(sha256Digest(list));
    assert.equal(info.labels["containerd.io/gc.ref.content.m.0"], sha256Digest(p.manifest));
    await images.remove(res.id);

    const armOnly = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ mediaType: MediaType.ociManifest, digest: "sha256:" + "2".repeat(64), size: 10, platform: { architecture: "arm64", os: "linux" } }] }));
    const g = await serve({ manifests: new Map([["x/arm:1", { mediaType: MediaType.ociIndex, bytes: armOnly }]]), blobs: new Map() });
    await rejectsCleanly(() => images.pull(`${g.host}/x/arm:1`), "not-found", /no manifest for linux\/amd64/);
  });

  test("a connection closed mid-blob: the download resumes with a Range from containerd's offset", async () => {
    const p = await parts();
    let dropped = 0;
    const f = await serve({
      manifests: new Map([["x/drop:1", { mediaType: MediaType.dockerManifest, bytes: p.manifest }]]), blobs: p.blobMap,
      fault: (req, res) => {
        if (req.url?.endsWith(p.layerDigest) && !req.headers.range && dropped++ === 0) { closeMidBlob(res, p.blobs[0]!, 600_000); return true; }
        return false;
      },
    });
    const res = await images.pull(`${f.host}/x/drop:1`);
    assert.equal(res.id, p.configDigest);
    const ranged = f.requests.filter((r) => r.url.endsWith(p.layerDigest) && r.range);
    assert.equal(ranged.length, 1);
    assert.match(ranged[0]!.range!, /^bytes=(\d+)-$/);
    const from = Number(/^bytes=(\d+)-$/.exec(ranged[0]!.range!)![1]);
    assert.ok(from > 0 && from <= 600_000, `resumed at ${from}`);
    await images.remove(res.id);
  });

  test("layers download in parallel, at most 3 at a time, each reported", async () => {
    const layers = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => tarLayer([{ name: `f${i}`, data: `layer ${i}` }])));
    const gz = layers.map((l) => gzipSync(l));
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: layers.map((l) => sha256Digest(l)) } }));
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256Digest(config), size: config.length },
      layers: gz.map((b) => ({ mediaType: MediaType.ociLayerGzip, digest: sha256Digest(b), size: b.length })),
    }));
    const blobs = new Map<string, Buffer>([[sha256Digest(config), config], ...gz.map((b) => [sha256Digest(b), b] as [string, Buffer])]);
    let inflight = 0;
    let peak = 0;
    const f = await serve({
      manifests: new Map([["x/par:1", { mediaType: MediaType.ociManifest, bytes: manifest }]]), blobs,
      fault: (req, res) => {
        const blob = gz.find((b) => req.url!.endsWith(sha256Digest(b)));
        if (!blob) return false;
        peak = Math.max(peak, ++inflight);
        // Held long enough that the third download starts before the first is answered, even on
        // a loaded machine (each starts after a Content/Write status RPC).
        setTimeout(() => { inflight--; res.writeHead(200, { "content-length": blob.length }).end(blob); }, 250);
        return true;
      },
    });
    const progress: ProgressEvent[] = [];
    const res = await images.pull(`${f.host}/x/par:1`, { onProgress: (e) => progress.push(e) });
    assert.equal(peak, 3);
    assert.deepEqual(new Set(progress.filter((p) => p.status === "done" && p.current === p.total && gz.some((b) => sha256Digest(b) === p.id)).map((p) => p.id)).size, 6);
    assert.equal((await images.inspect(res.id)).target.mediaType, MediaType.ociManifest);
    await images.remove(res.id);
  });

  test("faults: 404, 500, a registry that always drops, corrupt data, unknown media types", async () => {
    const p = await parts();
    const manifests = new Map([["x/f:1", { mediaType: MediaType.dockerManifest, bytes: p.manifest }]]);
    let f = await serve({ manifests: new Map(), blobs: p.blobMap });
    await rejectsCleanly(() => images.pull(`${f.host}/x/f:1`), "not-found", /MANIFEST_UNKNOWN/);

    f = await serve({ manifests, blobs: p.blobMap, fault: (req, res) => (req.url!.endsWith(p.layerDigest) ? (res.writeHead(500).end("boom"), true) : false) });
    await rejectsCleanly(() => images.pull(`${f.host}/x/f:1`), "unavailable", /500/);

    f = await serve({ manifests, blobs: p.blobMap, fault: (req, res) => (req.url!.endsWith(p.layerDigest) ? (closeMidBlob(res, p.blobs[0]!, 100_000), true) : false) });
    await rejectsCleanly(() => images.pull(`${f.host}/x/f:1`), "unavailable", /broke off|ended at/);

    const corrupt = new Map(p.blobMap);
    const bad = Buffer.from(p.blobs[0]!);
    bad[bad.length - 100]! ^= 0xff;
    corrupt.set(p.layerDigest, bad);
    f = await serve({ manifests, blobs: corrupt });
    await rejectsCleanly(() => images.pull(`${f.host}/x/f:1`), "invalid-argument", /digest|gzip/);

    f = await serve({ manifests: new Map([["x/f:1", { mediaType: "application/x-unknown", bytes: Buffer.from("{}") }]]), blobs: p.blobMap });
    await rejectsCleanly(() => images.pull(`${f.host}/x/f:1`), "invalid-argument", /unknown media type/);

    f = await serve({ manifests: new Map([["x/f:1", { mediaType: MediaType.dockerManifest, bytes: p.manifestOf("application/x-layer") }]]), blobs: p.blobMap });
    await rejectsCleanly(() => images.pull(`${f.host}/x/f:1`), "invalid-argument", /unknown layer media type/);

    await f.close();
    await rejectsCleanly(() => images.pull(`${f.host}/x/f:1`), "unavailable", /ECONNREFUSED|fetch failed/);
  });

  test("an unsafe layer from a registry is refused before it is committed", async () => {
    const evil = await tarLayer([{ name: "../../evil", data: "x" }]);
    const gz = gzipSync(evil);
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256Digest(evil)] } }));
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaType.dockerManifest,
      config: { mediaType: MediaType.dockerConfig, digest: sha256Digest(config), size: config.length },
      layers: [{ mediaType: MediaType.dockerLayerGzip, digest: sha256Digest(gz), size: gz.length }],
    }));
    const f = await serve({ manifests: new Map([["x/evil:1", { mediaType: MediaType.dockerManifest, bytes: manifest }]]), blobs: new Map([[sha256Digest(config), config], [sha256Digest(gz), gz]]) });
    await rejectsCleanly(() => images.pull(`${f.host}/x/evil:1`), "invalid-argument", /escapes the root/);
  });
});
