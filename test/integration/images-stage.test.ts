// Layers extracted while they load (layer-stage.ts) must end up exactly as containerd's own
// Diff/Apply leaves them. The same image is loaded into two namespaces of one containerd: one
// service stages every layer, the other never does; the committed snapshot of every layer is
// then compared file by file (type, mode, owner, size, device, times, content, link target,
// hard links, the overlay opaque xattr). Layers berth does not stage (a hard link into a lower
// layer, a path through a symlink of the same layer) fall back to Diff/Apply, and that is
// checked too.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { createContainerdClient, type ContainerdClient } from "../../src/containerd/index.js";
import { buildImageArchive, createImageService, type ImageService } from "../../src/images/index.js";
import { lgetxattr } from "../../src/base/native-fs.js";
import { stageChannel } from "../../src/images/layer-stage.js";

let ctd: TestContainerd;
let refClient: ContainerdClient;
let staged: ImageService;
let reference: ImageService;
const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-stage-escape-"));

before(async () => {
  ctd = await startTestContainerd("stage");
  refClient = createContainerdClient({ address: ctd.address, namespace: `${ctd.namespace}-ref` });
  staged = createImageService({ containerd: ctd.client, stageMinBytes: 0 });
  reference = createImageService({ containerd: refClient, stageMinBytes: Infinity });
});
after(async () => {
  await refClient.close();
  const left = await ctd.leftovers();
  await ctd.stop(); // removes containerd's root: the reference namespace's snapshots go with it
  fs.rmSync(hostDir, { recursive: true, force: true });
  assert.deepEqual(left.leases, []);
  assert.ok(!left.snapshots.some((s) => s.startsWith("stage-") || s.startsWith("extract-")), `no stage left: ${left.snapshots.join(", ")}`);
});

type Entry = Partial<tar.Header> & { name: string; data?: Buffer };
const T = new Date("2024-03-04T05:06:07Z");

/** A layer tar; padded past 1 MiB so that the load streams it (smaller blobs are held in memory). */
async function layer(entries: Entry[]): Promise<Buffer> {
  entries = [...entries, { name: `pad-${randomBytes(4).toString("hex")}`, data: randomBytes((1 << 20) + 1) }];
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => { for await (const c of pack) chunks.push(c as Buffer); })();
  for (const e of entries) {
    const { data, ...h } = e;
    const header = { uid: 0, gid: 0, mtime: T, mode: h.type === "directory" ? 0o755 : 0o644, ...h, ...(data ? { size: data.length } : {}) } as tar.Header;
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (data) pack.entry(header, data, cb); else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Paths a layer tar names (cleaned), whose times come from the tar. */
async function namedIn(layerTar: Buffer): Promise<Set<string>> {
  const out = new Set<string>();
  const x = tar.extract();
  const done = (async () => { for await (const e of x) { out.add(path.posix.normalize(e.header.name).replace(/\/+$/, "").replace(/^\.$/, "")); e.resume(); } })();
  x.end(layerTar);
  await done;
  return out;
}

/** What an applier must reproduce of a tree: one line per path. */
function describeTree(root: string, listed: Set<string>): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const p = path.join(root, rel);
    const st = fs.lstatSync(p);
    let extra = "";
    if (st.isFile()) extra = createHash("sha256").update(fs.readFileSync(p)).digest("hex").slice(0, 16);
    else if (st.isSymbolicLink()) extra = `-> ${fs.readlinkSync(p)}`;
    else if (st.isCharacterDevice() || st.isBlockDevice()) extra = `rdev ${st.rdev}`;
    const opaque = st.isDirectory() ? lgetxattr(p, "trusted.overlay.opaque")?.toString() ?? "" : "";
    // Times: what the tar says for the entries it names; directories it wrote into without
    // naming them, whiteouts and the root have "now" in both appliers: only mode and owner count.
    const mtime = st.isSymbolicLink() || rel === "" || !listed.has(rel) ? "" : st.mtime.toISOString();
    out.push(`${rel || "."} ${st.mode.toString(8)} ${st.uid}:${st.gid} n${st.isDirectory() ? "" : st.nlink} ${st.isFile() ? st.size : ""} ${mtime} ${extra} ${opaque}`);
    if (st.isDirectory()) for (const c of fs.readdirSync(p).sort()) walk(rel ? `${rel}/${c}` : c);
  };
  walk("");
  return out;
}

/** The committed snapshot directory of each layer, bottom first (from a view's overlay lowerdirs). */
async function layerDirs(client: ContainerdClient, top: string, layers: number): Promise<string[]> {
  const key = `view-${randomBytes(4).toString("hex")}`;
  // gc.root: the garbage collector, which runs after every load's lease goes, must not take it.
  const v = await client.snapshots.rpc.view({ snapshotter: "overlayfs", key, parent: top, labels: { "containerd.io/gc.root": new Date().toISOString() } });
  await client.snapshots.rpc.remove({ snapshotter: "overlayfs", key });
  const m = v.mounts[0]!;
  const dirs = m.type === "bind" ? [m.source] : m.options.find((o) => o.startsWith("lowerdir="))!.slice(9).split(":").reverse();
  assert.equal(dirs.length, layers);
  return dirs;
}

async function loadBoth(name: string, layers: Buffer[]): Promise<{ calls: Record<string, number>; fallbacks: string[] }> {
  const archive = await buildImageArchive({ layers, tags: [name] });
  const fallbacks: string[] = [];
  const onFallback = (m: unknown) => fallbacks.push((m as { reason: string }).reason);
  subscribe(stageChannel.name, onFallback);
  let calls: Record<string, number>;
  try {
    calls = (await ctd.client.counter.measure(() => staged.load(Readable.from([archive])))).calls;
  } finally {
    unsubscribe(stageChannel.name, onFallback);
  }
  await reference.load(Readable.from([archive]));
  const a = await staged.inspect(name);
  const b = await reference.inspect(name);
  assert.equal(a.chainId, b.chainId);
  const dirsA = await layerDirs(ctd.client, a.chainId!, layers.length);
  const dirsB = await layerDirs(refClient, b.chainId!, layers.length);
  for (let i = 0; i < layers.length; i++) {
    const listed = await namedIn(layers[i]!);
    assert.deepEqual(describeTree(dirsA[i]!, listed), describeTree(dirsB[i]!, listed), `layer ${i} as containerd's Diff/Apply leaves it`);
  }
  return { calls, fallbacks };
}

describe("staged layers", () => {
  test("files, modes, owners, links, devices, whiteouts, opaque and implicit directories match Diff/Apply", async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const base = await layer([
      { name: "./", type: "directory", mode: 0o751, mtime: new Date("2023-01-01T00:00:00Z") },
      { name: "etc/", type: "directory" },
      { name: "etc/passwd", data: Buffer.from("root:x:0:0::/root:/bin/sh\n") },
      { name: "etc/group", data: Buffer.from("root:x:0:\n"), mode: 0o600, uid: 0, gid: 42 },
      { name: "usr/", type: "directory" },
      { name: "usr/bin/", type: "directory", mode: 0o711 },
      { name: "usr/bin/suid", data: Buffer.from("#!/bin/sh\n"), mode: 0o4755 },
      { name: "usr/bin/hl", type: "link", linkname: "usr/bin/suid" },
      { name: "bin", type: "symlink", linkname: "usr/bin", uid: 7, gid: 8 },
      { name: "opq/", type: "directory" },
      { name: "opq/a", data: Buffer.from("a") },
      { name: "opq/b", data: Buffer.from("b") },
      { name: "home/", type: "directory" },
      { name: "home/u/", type: "directory", mode: 0o700, uid: 1000, gid: 1000 },
      { name: "home/u/f", data: Buffer.from("f"), uid: 1000, gid: 1000, mode: 0o640 },
      { name: "implicit/parent/file", data: Buffer.from("under directories the tar never lists") },
      { name: "run.fifo", type: "fifo", mode: 0o620 },
      { name: "dev/null2", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
      { name: "dev/loopx", type: "block-device", devmajor: 7, devminor: 300, mode: 0o660, gid: 6 },
      { name: "data/", type: "directory" },
      { name: "data/big", data: big },
      { name: ".wh.nothing-below", data: Buffer.alloc(0) },
      { name: "dup", data: Buffer.from("first") },
      { name: "dup", data: Buffer.from("second, which wins") },
      { name: "pax-time", data: Buffer.from("t"), pax: { mtime: "1700000000.25" } },
    ]);
    const second = await layer([
      { name: "etc/.wh.passwd", data: Buffer.alloc(0) },
      { name: "opq/.wh..wh..opq", data: Buffer.alloc(0) },
      { name: "opq/c", data: Buffer.from("c") },
      { name: "home/u/g", data: Buffer.from("g: home/ and home/u/ are not listed, they keep their attributes from below") },
      { name: "usr/bin/suid", data: Buffer.from("replaced"), mode: 0o755 },
      { name: "data/", type: "directory", mode: 0o750 },
      { name: "deep/er/", type: "directory", mode: 0o701 },
    ]);
    const third = await layer([
      { name: "./", type: "directory", mode: 0o750, mtime: new Date("2022-02-02T00:00:00Z") },
      { name: "bin/", type: "directory" },
      { name: "bin/x", data: Buffer.from("a directory where the symlink was") },
    ]);
    const { calls, fallbacks } = await loadBoth("stage/rich:1", [base, second, third]);
    assert.deepEqual(fallbacks, []);
    assert.equal(calls["Diff/Apply"], undefined, "every layer went in while it loaded");
    assert.equal(calls["Snapshots/Prepare"], 5, "a stage per layer, and a snapshot on the parent for the upper two");
    assert.equal(calls["Snapshots/Commit"], 3);
  });

  test("extended attributes and a path through a symlink fall back to Diff/Apply, safely", async () => {
    const base = await layer([
      { name: "etc/", type: "directory" },
      { name: "etc/hostname", data: Buffer.from("base\n") },
    ]);
    const linked = await layer([{ name: "etc/xattr", data: Buffer.from("x"), pax: { "SCHILY.xattr.user.berth": "kept" } }]);
    const through = await layer([
      { name: "escape", type: "symlink", linkname: hostDir },
      { name: "escape/pwned", data: Buffer.from("must stay inside the snapshot") },
    ]);
    const { calls, fallbacks } = await loadBoth("stage/fallback:1", [base, linked, through]);
    assert.equal(fallbacks.length, 0, "these layers never finish staging: no commit attempt to fall back from");
    assert.equal(calls["Diff/Apply"], 2, "the two unusual layers were applied by containerd");
    assert.deepEqual(fs.readdirSync(hostDir), [], "nothing was written through the symlink on the host");
    const [, mid] = await layerDirs(ctd.client, (await staged.inspect("stage/fallback:1")).chainId!, 3);
    assert.equal(lgetxattr(path.join(mid!, "etc/xattr"), "user.berth")?.toString(), "kept");
  });

  test("a layer whose directory is a symlink below falls back at commit", async () => {
    const base = await layer([
      { name: "usr/", type: "directory" },
      { name: "usr/lib/", type: "directory" },
      { name: "lib", type: "symlink", linkname: "usr/lib" },
    ]);
    const upper = await layer([{ name: "lib/libx.so", data: Buffer.from("written through /lib") }]);
    const { calls, fallbacks } = await loadBoth("stage/merged-usr:1", [base, upper]);
    assert.equal(fallbacks.length, 1);
    assert.match(fallbacks[0]!, /^lib is a symlink/);
    assert.equal(calls["Diff/Apply"], 1);
  });
});
