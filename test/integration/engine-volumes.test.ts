// Volumes through the engine: named volumes outlive containers, ro is enforced, copy-up from
// the image, anonymous volumes go with rm -v / --rm, a volume in use cannot be removed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { logsOf, startTestEngine, type TestEngine } from "../helpers/engine.js";
import { createVolumeStore, type VolumeStore } from "../../src/volumes/index.js";
import { isBerthError } from "../../src/containerd/index.js";
import path from "node:path";

let ctd: TestContainerd;
let engine: TestEngine;
let volumes: VolumeStore;

before(async () => {
  ctd = await startTestContainerd("vol");
  engine = await startTestEngine(ctd);
  // A second handle on the same store directory, for listing (the engine's own is internal).
  volumes = await createVolumeStore({ root: path.join(ctd.dir, "berth-list") });
});
after(async () => {
  for (const c of engine.list({ all: true })) await engine.remove(c.id, { force: true, removeVolumes: true }).catch(() => {});
  await engine.close();
  await ctd.stop();
  void volumes;
});

async function runToEnd(cmd: string[], hostConfig: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const { id } = await engine.create({ config: { image: "busybox", cmd, ...extra }, hostConfig });
  const exited = engine.wait(id, "next-exit");
  await engine.start(id);
  const r = await exited;
  await engine.libcontainerd.idle();
  return { id, exitCode: r.exitCode, ...(await logsOf(engine, id)) };
}

test("a named volume: data written by one container is read by the next; ro is enforced", async () => {
  const w = await runToEnd(["sh", "-c", "echo kept > /data/file"], { binds: ["data:/data"] });
  assert.equal(w.exitCode, 0);
  const v = engine.inspect(w.id);
  assert.deepEqual(v.mounts.map((m) => [m.type, m.name, m.destination, m.rw]), [["volume", "data", "/data", true]]);
  assert.match(v.mounts[0]!.source, /\/volumes\/data\/_data$/);
  await engine.remove(w.id);
  const r = await runToEnd(["cat", "/data/file"], { binds: ["data:/data:ro"] });
  assert.equal(r.stdout, "kept\n");
  const ro = await runToEnd(["sh", "-c", "echo x > /data/other"], { binds: ["data:/data:ro"] });
  assert.notEqual(ro.exitCode, 0);
  assert.match(ro.stderr, /Read-only file system/);
  await engine.remove(r.id);
  await engine.remove(ro.id);
});

test("copy-up: a new volume at a path with image content gets that content first", async () => {
  const c = await runToEnd(["sh", "-c", "cat /etc/passwd | head -1; ls /etc"], { binds: ["etcvol:/etc"] });
  assert.match(c.stdout, /^root:x:0:0:/);
  assert.match(c.stdout, /group/);
  await engine.remove(c.id);
  // --mount with volume-nocopy: the volume stays empty.
  // (runc creates the mount points of /etc/hosts, hostname and resolv.conf in it, as with dockerd.)
  const n = await runToEnd(["sh", "-c", "ls -A /etc | grep -v -x -E 'hosts|hostname|resolv.conf' | wc -l"], { mounts: [{ type: "volume", source: "emptyetc", target: "/etc", volumeOptions: { noCopy: true } }] });
  assert.equal(n.stdout.trim(), "0");
  await engine.remove(n.id);
});

test("anonymous volumes (-v /path and image VOLUME) go with rm -v; named ones stay", async () => {
  const c = await runToEnd(["sh", "-c", "echo a > /scratch/x"], { binds: ["named:/named", "/scratch"].filter((b) => b.includes(":")), mounts: [] }, { volumes: ["/scratch"] });
  const anon = engine.inspect(c.id).mounts.find((m) => m.destination === "/scratch")!;
  assert.equal(anon.type, "volume");
  assert.match(anon.name, /^[0-9a-f]{64}$/);
  const dataDir = anon.source;
  const fs = await import("node:fs/promises");
  assert.equal(await fs.readFile(path.join(dataDir, "x"), "utf8"), "a\n");
  await engine.remove(c.id, { removeVolumes: true });
  await assert.rejects(fs.stat(dataDir), { code: "ENOENT" }, "anonymous volume removed with rm -v");
  const named = path.join(ctd.dir, "berth", "volumes", "named", "_data");
  await fs.stat(named);
});

test("bad mounts fail the create and leave nothing behind", async () => {
  const before = engine.list({ all: true }).length;
  await assert.rejects(engine.create({ config: { image: "busybox", cmd: ["true"] }, hostConfig: { binds: ["bad name!:/x"] } }), (e) => isBerthError(e, "invalid-argument"));
  await assert.rejects(engine.create({ config: { image: "busybox", cmd: ["true"] }, hostConfig: { binds: ["/does/not/exist:/x"] } }), (e) => isBerthError(e, "invalid-argument"));
  await assert.rejects(engine.create({ config: { image: "busybox", cmd: ["true"] }, hostConfig: { binds: ["v1:/x", "v2:/x"] } }), (e) => isBerthError(e, "invalid-argument") && /Duplicate mount point/.test(e.message));
  assert.equal(engine.list({ all: true }).length, before);
  const fs = await import("node:fs/promises");
  const names = await fs.readdir(path.join(ctd.dir, "berth", "volumes")).catch(() => [] as string[]);
  assert.ok(!names.includes("v1") && !names.includes("v2"), `no half-created volumes: ${names.join(",")}`);
});
