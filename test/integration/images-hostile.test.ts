// Hostile archives through berthd's API: image layers on load, pull and import, and docker cp
// uploads. For every case: nothing is written outside the target (a canary directory on the
// host, named by absolute paths in the archives), the error is a 4xx naming the entry, the
// daemon keeps serving (a running baseline container, /_ping), and a refused load leaves no
// images, content, ingests, snapshots or leases. cp follows dockerd 20.10's rules (checked
// against it): devices are created, setuid kept, names that climb out refused.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import { socketRequest } from "../helpers/socket-request.js";
import os from "node:os";
import path from "node:path";
import { createGzip, gzipSync } from "node:zlib";
import { promisify } from "node:util";
import { startBerthd, type Berthd } from "../helpers/berthd.js";
import { startFakeRegistry } from "../helpers/registry.js";
import { containerdState, dirSnapshot, gnuLongName, mkTar, ustarBlock, type HEntry } from "../helpers/hostile-tar.js";
import { buildImageArchive, sha256Digest, MediaType } from "../../src/images/index.js";

const pexec = promisify(execFile);
const repo = new URL("../..", import.meta.url).pathname;

let b: Berthd;
let tmp: string;
let canary: string;
let canaryBefore: string;
let baseline: string;
let cpt: string;

type Reply = { status: number; body: string; bytes: Buffer };

function raw(method: string, p: string, body?: Buffer, type = "application/x-tar"): Promise<Reply> {
  return socketRequest(b.socket, method, p, { ...(body ? { body } : {}), type, timeoutMs: 60_000 });
}

async function intact(): Promise<void> {
  assert.equal(await dirSnapshot(canary), canaryBefore, "nothing written in the canary directory");
  assert.equal((await raw("GET", "/_ping")).status, 200);
  const top = await raw("GET", `/containers/${baseline}/top`);
  assert.equal(top.status, 200, top.body);
  assert.match(top.body, /sleep 1000/);
}

/** The error of a streamed reply (load, pull, import: dockerd's 200 + errorDetail), or of a plain one. */
function errorOf(r: Reply): string {
  const last = r.body.trim().split("\n").at(-1) ?? "";
  try {
    const j = JSON.parse(last) as { message?: string; errorDetail?: { message: string } };
    return j.errorDetail?.message ?? j.message ?? "";
  } catch {
    return "";
  }
}

/**
 * A load that must be refused, naming the entry, leaving nothing. dockerd answers a load that
 * fails after its stream began with 200 and an errorDetail message: so does berth.
 */
async function refusedLoad(archive: Buffer, message: RegExp): Promise<void> {
  const before = await containerdState(b);
  const r = await raw("POST", "/images/load?quiet=1", archive);
  assert.ok(r.status === 200 || r.status === 400, r.body);
  assert.match(errorOf(r), message);
  assert.deepEqual(await containerdState(b), before, "nothing left behind");
  await intact();
}

const big = () => ({ name: "pad.bin", data: randomBytes(1_200_000) });
const image = async (layers: HEntry[][], tag: string) => buildImageArchive({ layers: await Promise.all(layers.map(mkTar)), tags: [tag] });

async function startContainer(name: string): Promise<string> {
  const c = await raw("POST", `/containers/create?name=${name}`, Buffer.from(JSON.stringify({ Image: "busybox", Cmd: ["sleep", "1000"], HostConfig: { NetworkMode: "none" } })), "application/json");
  assert.equal(c.status, 201, c.body);
  const id = (JSON.parse(c.body) as { Id: string }).Id;
  assert.equal((await raw("POST", `/containers/${id}/start`)).status, 204);
  return id;
}

/** Runs `sh -c script` in a new container of `image` and returns its output. */
async function runIn(imageRef: string, script: string): Promise<string> {
  const c = await raw("POST", "/containers/create", Buffer.from(JSON.stringify({ Image: imageRef, Cmd: ["/bin/busybox", "sh", "-c", script], HostConfig: { NetworkMode: "none" } })), "application/json");
  assert.equal(c.status, 201, c.body);
  const id = (JSON.parse(c.body) as { Id: string }).Id;
  assert.equal((await raw("POST", `/containers/${id}/start`)).status, 204);
  const w = await raw("POST", `/containers/${id}/wait`);
  assert.equal(w.status, 200, w.body);
  const logs = await raw("GET", `/containers/${id}/logs?stdout=1&stderr=1`);
  assert.equal((await raw("DELETE", `/containers/${id}`)).status, 204);
  // Strip the stdcopy frame headers.
  const buf = logs.bytes;
  let text = "";
  for (let i = 0; i + 8 <= buf.length;) { const n = buf.readUInt32BE(i + 4); text += buf.subarray(i + 8, i + 8 + n).toString(); i += 8 + n; }
  return text || logs.body;
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-hostile-"));
  canary = await fs.mkdtemp(path.join(os.tmpdir(), "berth-canary-"));
  await fs.writeFile(path.join(canary, "keep"), "canary\n");
  await fs.mkdir(path.join(canary, "sub"));
  canaryBefore = await dirSnapshot(canary);
  b = await startBerthd({ label: "hostile" });
  const bb = path.join(tmp, "busybox.tar");
  await pexec(process.execPath, ["--import", "tsx", "scripts/busybox-image.ts", bb], { cwd: repo });
  const load = await raw("POST", "/images/load?quiet=1", await fs.readFile(bb));
  assert.equal(load.status, 200, load.body);
  baseline = await startContainer("baseline");
  cpt = await startContainer("cpt");
});
after(async () => {
  const up = await raw("GET", "/_ping").then((r) => r.status === 200, () => false);
  if (b && !up) console.error(`berthd is down; its log:\n${b.log().slice(-6000)}`);
  await b?.destroy();
  await fs.rm(tmp, { recursive: true, force: true });
  if (canary) {
    const now = await dirSnapshot(canary);
    await fs.rm(canary, { recursive: true, force: true });
    assert.equal(now, canaryBefore, "canary intact at the end");
  }
});

describe("image layers (docker load)", () => {
  test("names that climb out, absolute names, PAX and GNU long names with '..': 400 naming the entry", async () => {
    const rel = path.relative("/", canary);
    for (const withBig of [false, true]) {
      const pad = withBig ? [big()] : [];
      await refusedLoad(await image([[...pad, { name: `../../../../../../../${rel}/x`, data: "x" }]], "bad:dotdot"), /escapes the root/);
      await refusedLoad(await image([[...pad, { name: `${canary}/x`, data: "x" }]], "bad:abs"), /absolute path/);
      await refusedLoad(await image([[...pad, { name: "innocent", data: "x", pax: { path: `a/${"p".repeat(120)}/../../../../${rel}/x` } }]], "bad:pax"), /escapes the root/);
      await refusedLoad(await image([[...pad, { name: "h", type: "link", linkname: `${canary}/keep` }]], "bad:hlabs"), /hard link "h" to absolute path/);
      await refusedLoad(await image([[...pad, { name: "h", type: "link", linkname: "../../../x" }]], "bad:hldotdot"), /hard link "h" to "..\/..\/..\/x" escapes/);
      await refusedLoad(await image([[...pad, { name: ".wh..", data: "" }]], "bad:wh"), /whiteout ".wh.." names no entry/);
      await refusedLoad(await image([[...pad, { name: "../.wh.x", data: "" }]], "bad:wh2"), /escapes the root/);
    }
    // GNU long names are parsed as names too (the layer itself is the archive here).
    const gnu = gnuLongName(`d/${"g".repeat(120)}/../../../${rel}/x`, "x");
    await refusedLoad(await buildImageArchive({ layers: [gnu], tags: ["bad:gnu"] }), /escapes the root/);
  });

  test("symlinks out of the root followed by writes, duplicates, file<->directory: stored inside the image, the host untouched", async () => {
    for (const withBig of [false, true]) {
      const pad = withBig ? [big()] : [];
      const tag = `ok:links${withBig ? "-big" : ""}`;
      const archive = await image([
        [{ name: "bin/", type: "directory" }, { name: "bin/busybox", data: await fs.readFile("/bin/busybox"), mode: 0o755 },
          { name: "out", type: "symlink", linkname: canary }, { name: "up", type: "symlink", linkname: "../../.." },
          { name: "f", data: "file" }, { name: "d/", type: "directory" }, { name: "d/inner", data: "x" }],
        // A second layer: writes through the lower layer's symlinks, replaces a file with a
        // directory and a directory with a file, and a duplicated entry (the last one wins).
        [...pad, { name: "out/x", data: "through out" }, { name: "up/escaped", data: "through up" },
          { name: "f/", type: "directory" }, { name: "f/x", data: "f is a dir" }, { name: "d", data: "d is a file" },
          { name: "dup", data: "first" }, { name: "dup", data: "second" }],
      ], tag);
      const r = await raw("POST", "/images/load?quiet=1", archive);
      assert.equal(r.status, 200, r.body);
      await intact();
      // As dockerd 20.10 (checked), containerd's overlay applier (and berth's staging, which falls back to it when a lower
      // layer has a symlink where the layer has a directory) makes "out" and "up" directories of
      // the upper layer: the writes stay in the image, whichever way the layer was unpacked.
      const out = await runIn(tag, `cat /out/x; echo; cat /up/escaped; echo; cat /f/x; echo; cat /d; echo; cat /dup; echo; ls ${canary} 2>&1 | wc -l`);
      assert.equal(out, "through out\nthrough up\nf is a dir\nd is a file\nsecond\n1\n");
      assert.equal((await raw("DELETE", `/images/${tag}`)).status, 200);
    }
  });

  test("a gzip bomb (256 MiB of zeros in a ~256 KiB layer) inflates to disk, not memory", async () => {
    const gz = createGzip({ level: 9 });
    const chunks: Buffer[] = [];
    gz.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => gz.on("end", r));
    const size = 256 << 20;
    const header = ustarBlock("zeros", size, "0");
    gz.write(header);
    const zero = Buffer.alloc(1 << 20);
    for (let i = 0; i < size >> 20; i++) if (!gz.write(zero)) await new Promise((r) => gz.once("drain", r));
    gz.end(Buffer.alloc(1024));
    await ended;
    const layer = Buffer.concat(chunks);
    assert.ok(layer.length < 1 << 20, `${layer.length} bytes compressed`);
    // The diff ID is the sha256 of the uncompressed tar: hashed as it is made.
    const h = createHash("sha256").update(header);
    for (let i = 0; i < size >> 20; i++) h.update(zero);
    h.update(Buffer.alloc(1024));
    const diffId = "sha256:" + h.digest("hex");
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [diffId] } }));
    const cfgName = `${sha256Digest(config).slice(7)}.json`;
    const archive = await mkTar([
      { name: "bomb/layer.tar", data: layer }, { name: cfgName, data: config },
      { name: "manifest.json", data: JSON.stringify([{ Config: cfgName, RepoTags: ["bomb:1"], Layers: ["bomb/layer.tar"] }]) },
    ]);
    const hwm = async () => Number(/VmHWM:\s+(\d+)/.exec(await fs.readFile(`/proc/${b.pid}/status`, "utf8"))![1]) * 1024;
    const rssBefore = await hwm();
    const t0 = Date.now();
    const r = await raw("POST", "/images/load?quiet=1", archive);
    assert.equal(r.status, 200, r.body);
    const grew = (await hwm()) - rssBefore;
    assert.ok(grew < 96 << 20, `berthd's peak RSS grew by ${grew >> 20} MiB`);
    await intact();
    assert.equal((await raw("DELETE", "/images/bomb:1")).status, 200);
    assert.ok(Date.now() - t0 < 30_000);
  });

  test("a layer whose digest does not match: OCI layout on load, a registry on pull", async () => {
    const layer = gzipSync(await mkTar([{ name: "a", data: "a" }]));
    const diffId = sha256Digest(await mkTar([{ name: "a", data: "a" }]));
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [diffId] } }));
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256Digest(config), size: config.length },
      layers: [{ mediaType: MediaType.ociLayerGzip, digest: sha256Digest(layer), size: layer.length }],
    }));
    const wrong = Buffer.from(layer);
    wrong[wrong.length - 9]! ^= 0x55;
    const blob = (d: Buffer, body = d) => ({ name: `blobs/sha256/${sha256Digest(d).slice(7)}`, data: body });
    const index = { schemaVersion: 2, manifests: [{ mediaType: MediaType.ociManifest, digest: sha256Digest(manifest), size: manifest.length, annotations: { "io.containerd.image.name": "docker.io/library/bad:digest" } }] };
    await refusedLoad(await mkTar([{ name: "oci-layout", data: '{"imageLayoutVersion":"1.0.0"}' }, { name: "index.json", data: JSON.stringify(index) }, blob(manifest), blob(config), blob(layer, wrong)]), /blobs\/sha256\/[0-9a-f]{64}: digest does not match/);

    const f = await startFakeRegistry({
      manifests: new Map([["x/bad:1", { mediaType: MediaType.ociManifest, bytes: manifest }]]),
      blobs: new Map([[sha256Digest(config), config], [sha256Digest(layer), wrong]]),
    });
    try {
      const before = await containerdState(b);
      const r = await raw("POST", `/images/create?fromImage=${encodeURIComponent(`${f.host}/x/bad`)}&tag=1`);
      // The stream has begun (200), as dockerd's: the error is its last message.
      assert.match(r.body, /"error(Detail)?":.*(digest|gzip)/);
      assert.deepEqual(await containerdState(b), before, "nothing left behind");
      await intact();
    } finally {
      await f.close();
    }
  });

  test("truncated archives and a truncated gzip layer", async () => {
    const archive = await image([[big(), { name: "a", data: "a" }]], "bad:trunc");
    for (const cut of [100, 700, 1_000_000, archive.length - 600]) await refusedLoad(archive.subarray(0, cut), /truncated|missing|not a tar|unrecognized/);
    const gzLayer = gzipSync(await mkTar([{ name: "a", data: randomBytes(4000) }]));
    await refusedLoad(await buildImageArchive({ layers: [gzLayer.subarray(0, gzLayer.length - 40)], tags: ["bad:gz"] }), /gzip|not a valid tar|truncated/);
  });

  test("docker import of hostile rootfs tarballs", async () => {
    for (const [entries, re] of [
      [[{ name: "../../evil", data: "x" }], /escapes the root/],
      [[{ name: `${canary}/x`, data: "x" }], /absolute path/],
      [[{ name: "h", type: "link", linkname: `${canary}/keep` }], /hard link .* absolute/],
    ] as [HEntry[], RegExp][]) {
      const before = await containerdState(b);
      const r = await raw("POST", "/images/create?fromSrc=-&repo=bad-import", await mkTar(entries));
      assert.match(r.body, re);
      assert.ok(r.status === 400 || /"error/.test(r.body), `${r.status} ${r.body}`);
      assert.deepEqual(await containerdState(b), before);
      await intact();
    }
  });
});

describe("docker cp uploads (PUT /containers/{id}/archive)", () => {
  let n = 0;
  /** A fresh directory in the container; returns its path inside and on the host. */
  async function dest(): Promise<{ inside: string; host: string }> {
    const pid = (JSON.parse((await raw("GET", `/containers/${cpt}/json`)).body) as { State: { Pid: number } }).State.Pid;
    const inside = `/tmp/t${n++}`;
    const host = `/proc/${pid}/root${inside}`;
    await fs.mkdir(host);
    return { inside, host };
  }
  const put = (inside: string, archive: Buffer) => raw("PUT", `/containers/${cpt}/archive?path=${encodeURIComponent(inside)}`, archive);

  test("refused as dockerd refuses them: names, symlinks and hard links that climb out; a truncated tar", async () => {
    const rel = path.relative("/", canary);
    const cases: [HEntry[] | Buffer, RegExp][] = [
      [[{ name: "../../evil", data: "e" }], /"..\/..\/evil" is outside of/],
      [[{ name: "innocent", data: "e", pax: { path: `q/${"z".repeat(110)}/../../../../${rel}/x` } }], /is outside of/],
      [gnuLongName(`q/${"g".repeat(110)}/../../../../${rel}/x`, "e"), /is outside of/],
      [[{ name: "b", type: "symlink", linkname: "../../../.." }, { name: "b/y", data: "y" }], /invalid symlink .*"..\/..\/..\/.."/],
      [[{ name: "h", type: "link", linkname: "../../x" }], /invalid hard link "h" -> "..\/..\/x"/],
      [[{ name: "h", type: "link", linkname: "/etc/passwd" }], /hard link "h": its target "\/etc\/passwd" does not exist/],
      [[{ name: "h", type: "link", linkname: "." }], /hard link "h": its target "." is a directory/],
      [[{ name: "f", data: "f" }, { name: "f/x", data: "x" }], /"f\/x": a parent directory is not a directory/],
      [(await mkTar([{ name: "a", data: randomBytes(5000) }])).subarray(0, 2000), /truncated or not a tar/],
    ];
    for (const [entries, re] of cases) {
      const d = await dest();
      const r = await put(d.inside, Buffer.isBuffer(entries) ? entries : await mkTar(entries));
      assert.equal(r.status, 400, r.body);
      assert.match(errorOf(r), re);
      await intact();
    }
  });

  test("symlinks to host paths, then writes and links through them, stay in the container", async () => {
    const d = await dest();
    const r = await put(d.inside, await mkTar([
      // Written through an absolute symlink: lands in the container's own <canary> path.
      { name: "a", type: "symlink", linkname: canary }, { name: "a/x", data: "via a\n" },
      // A hard link to a symlink pointing at a host file, with an owner: the link's owner
      // changes, never the file the symlink names.
      { name: "s", type: "symlink", linkname: `${canary}/keep` }, { name: "h", type: "link", linkname: "s", uid: 4343, gid: 4343, mode: 0o600 },
      // A symlink replaced by a FIFO with an owner: the FIFO's, not the symlink target's.
      { name: "s2", type: "symlink", linkname: `${canary}/keep` }, { name: "s2", type: "fifo", uid: 4242, gid: 4242 },
      // A file replaced by a directory, a directory by a file, a duplicated file.
      { name: "f", data: "f" }, { name: "f/", type: "directory" }, { name: "f/x", data: "fx" },
      { name: "dd/", type: "directory" }, { name: "dd/y", data: "y" }, { name: "dd", data: "dd is a file" },
      { name: "dup", data: "first" }, { name: "dup", data: "second" },
      // Whiteouts mean nothing to cp: plain files.
      { name: ".wh.etc", data: "" }, { name: "w/.wh..wh..opq", data: "" },
      { name: `/abs/${"l".repeat(150)}`, data: "long, absolute" },
    ]));
    assert.equal(r.status, 200, r.body);
    await intact();
    const pid = (JSON.parse((await raw("GET", `/containers/${cpt}/json`)).body) as { State: { Pid: number } }).State.Pid;
    assert.equal(await fs.readFile(`/proc/${pid}/root${canary}/x`, "utf8"), "via a\n");
    const h = await fs.lstat(path.join(d.host, "h"));
    assert.ok(h.isSymbolicLink());
    assert.equal(`${h.uid}:${h.gid}`, "4343:4343");
    const s2 = await fs.lstat(path.join(d.host, "s2"));
    assert.ok(s2.isFIFO());
    assert.equal(`${s2.uid}:${s2.gid}`, "4242:4242");
    assert.equal(await fs.readFile(path.join(d.host, "f/x"), "utf8"), "fx");
    assert.equal(await fs.readFile(path.join(d.host, "dd"), "utf8"), "dd is a file");
    assert.equal(await fs.readFile(path.join(d.host, "dup"), "utf8"), "second");
    assert.equal((await fs.stat(path.join(d.host, ".wh.etc"))).size, 0);
    assert.ok((await fs.stat(path.join(d.host, "w/.wh..wh..opq"))).isFile());
    assert.equal(await fs.readFile(path.join(d.host, "abs", "l".repeat(150)), "utf8"), "long, absolute");
  });

  test("a created (never started) container: the same rules through its rootfs view", async () => {
    const c = await raw("POST", "/containers/create", Buffer.from(JSON.stringify({ Image: "busybox", Cmd: ["true"], HostConfig: { NetworkMode: "none" } })), "application/json");
    assert.equal(c.status, 201, c.body);
    const id = (JSON.parse(c.body) as { Id: string }).Id;
    const refused = await raw("PUT", `/containers/${id}/archive?path=/tmp`, await mkTar([{ name: "../../evil", data: "e" }]));
    assert.equal(refused.status, 400, refused.body);
    assert.match(errorOf(refused), /is outside of/);
    const r = await raw("PUT", `/containers/${id}/archive?path=/tmp`, await mkTar([
      { name: "s", type: "symlink", linkname: `${canary}/keep` }, { name: "h", type: "link", linkname: "s", uid: 4343, gid: 4343 },
      { name: "s2", type: "symlink", linkname: `${canary}/keep` }, { name: "s2", type: "fifo", uid: 4242, gid: 4242 },
      { name: "a", type: "symlink", linkname: canary }, { name: "a/x", data: "via a" },
    ]));
    assert.equal(r.status, 200, r.body);
    await intact();
    // What landed, read back through cp: the hard link's owner, and a/x in the container's own <canary>.
    const got = await raw("GET", `/containers/${id}/archive?path=/tmp`);
    assert.equal(got.status, 200, got.body);
    const names = new Map<string, string>();
    const ex = (await import("tar-stream")).default.extract();
    const done = (async () => { for await (const e of ex) { names.set(e.header.name, `${e.header.type} ${e.header.uid}`); e.resume(); } })();
    ex.end(got.bytes);
    await done;
    // cp's read side leaves FIFOs out: the symlink is gone, replaced (the canary shows by what not).
    assert.ok(!names.get("tmp/s2")?.startsWith("symlink"), names.get("tmp/s2"));
    assert.equal(names.get("tmp/h"), "symlink 4343");
    const x = await raw("GET", `/containers/${id}/archive?path=${encodeURIComponent(`${canary}/x`)}`);
    assert.equal(x.status, 200, x.body);
    assert.equal((await raw("DELETE", `/containers/${id}`)).status, 204);
  });

  test("device nodes are created, setuid and setgid kept, owners set (dockerd's cp as root)", async () => {
    const d = await dest();
    const r = await put(d.inside, await mkTar([
      { name: "null2", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
      { name: "blk", type: "block-device", devmajor: 7, devminor: 0, mode: 0o600 },
      { name: "fifo", type: "fifo", mode: 0o640 },
      { name: "suid", data: "#!/bin/sh\n", mode: 0o4755, uid: 1000, gid: 1000 },
      { name: "sgid", data: "x", mode: 0o2755 },
      { name: "sdir/", type: "directory", mode: 0o1777 },
    ]));
    assert.equal(r.status, 200, r.body);
    const st = async (n: string) => fs.lstat(path.join(d.host, n));
    const c = await st("null2");
    assert.ok(c.isCharacterDevice());
    assert.equal(c.rdev, (1 << 8) | 3);
    assert.equal(c.mode & 0o7777, 0o666);
    assert.ok((await st("blk")).isBlockDevice());
    assert.equal((await st("blk")).rdev, 7 << 8);
    assert.ok((await st("fifo")).isFIFO());
    assert.equal((await st("fifo")).mode & 0o7777, 0o640);
    const s = await st("suid");
    assert.equal(s.mode & 0o7777, 0o4755);
    assert.equal(`${s.uid}:${s.gid}`, "1000:1000");
    assert.equal((await st("sgid")).mode & 0o7777, 0o2755);
    assert.equal((await st("sdir")).mode & 0o7777, 0o1777);
    await intact();
  });
});
