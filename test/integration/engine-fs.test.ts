// The engine's container-filesystem operations against a real containerd: docker cp into a
// created container and out of a stopped one, changes, export and commit (pausing a running
// container), with their containerd calls counted; start waits for an open view of the
// snapshot; a view left mounted by a crash is unmounted when the engine starts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import tarStream from "tar-stream";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { logsOf, startTestEngine, type TestEngine } from "../helpers/engine.js";
import { readMountInfo } from "../../src/volumes/host-mount.js";

let ctd: TestContainerd;
let engine: TestEngine;
let root: string;

before(async () => {
  ctd = await startTestContainerd("efs");
  root = path.join(ctd.dir, "berth");
  engine = await startTestEngine(ctd, { root });
});
after(async () => {
  for (const c of engine.list({ all: true })) await engine.remove(c.id, { force: true }).catch(() => {});
  await engine.close();
  const views = (await readMountInfo()).filter((m) => m.mountPoint.startsWith(path.join(root, "rootfs")));
  const left = await ctd.leftovers();
  await ctd.stop();
  assert.deepEqual(views, [], "no view left mounted");
  assert.deepEqual(left.leases, []);
});

async function calls<T>(fn: () => Promise<T>): Promise<[T, Record<string, number>]> {
  const { result, calls } = await ctd.client.counter.measure(fn);
  return [result, calls];
}

function tarOf(files: Record<string, string>): Readable {
  const pack = tarStream.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, body);
  pack.finalize();
  return Readable.from(pack as unknown as AsyncIterable<Buffer>);
}

async function tarEntries(stream: Readable): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const extract = tarStream.extract();
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  for await (const e of extract) {
    const chunks: Buffer[] = [];
    for await (const c of e as unknown as AsyncIterable<Buffer>) chunks.push(c);
    out.set(e.header.name, Buffer.concat(chunks).toString());
  }
  return out;
}

async function runToExit(id: string): Promise<void> {
  const exited = engine.wait(id, "next-exit");
  await engine.start(id);
  assert.deepEqual(await exited, { exitCode: 0 });
  await engine.libcontainerd.idle();
}

const mountedViews = async () => (await readMountInfo()).filter((m) => m.mountPoint.startsWith(path.join(root, "rootfs") + "/")).map((m) => m.mountPoint);

describe("a created and then stopped container's filesystem", () => {
  let id: string;

  test("docker cp into a created container: no RPC; start sees the file", async () => {
    ({ id } = await engine.create({ config: { image: "busybox", cmd: ["sh", "-c", "cat /cpfile; echo more >> /cpfile; rm /bin/ls"] }, hostConfig: { networkMode: "none" } }));
    const [, c] = await calls(() => engine.putArchive(id, "/", tarOf({ cpfile: "copied before start\n" })));
    assert.deepEqual(c, {});
    assert.deepEqual(await mountedViews(), [], "the view is unmounted after the copy");
    await runToExit(id);
    assert.equal((await logsOf(engine, id)).stdout, "copied before start\n");
  });

  test("docker cp out of a stopped container, changes, export: no RPC", async () => {
    const [stat, c1] = await calls(() => engine.statPath(id, "/cpfile"));
    assert.equal(stat.size, "copied before start\nmore\n".length);
    const [got, c2] = await calls(async () => tarEntries((await engine.getArchive(id, "/cpfile")).tar));
    assert.equal(got.get("cpfile"), "copied before start\nmore\n");
    const [changes, c3] = await calls(() => engine.changes(id));
    assert.deepEqual(changes.map((x) => `${"CAD"[x.kind]} ${x.path}`), ["C /bin", "D /bin/ls", "A /cpfile"]);
    const [exported, c4] = await calls(async () => tarEntries(await engine.exportContainer(id)));
    assert.equal(exported.get("cpfile"), "copied before start\nmore\n");
    assert.ok(exported.has("bin/busybox") && !exported.has("bin/ls"));
    assert.deepEqual([c1, c2, c3, c4], [{}, {}, {}, {}]);
    assert.deepEqual(await mountedViews(), []);
  });

  test("start waits while a view of the snapshot is open", async () => {
    const { tar } = await engine.getArchive(id, "/bin");
    assert.equal((await mountedViews()).length, 1);
    let started = false;
    const start = engine.start(id).then(() => { started = true; });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(started, false, "start waits for the view");
    await tarEntries(tar);
    await start;
    assert.equal(started, true);
    await engine.wait(id, "not-running");
    assert.deepEqual(await mountedViews(), []);
  });

  test("commit of a stopped container: RPCs, and the image runs with the new CMD", async () => {
    const [r, c] = await calls(() => engine.commit(id, {
      containerConfig: { Hostname: id.slice(0, 12), Env: ["PATH=/bin"], Cmd: ["sh", "-c", "x"], Image: "busybox", Labels: {} },
      changes: ['CMD ["cat","/cpfile"]'], author: "me", comment: "from the engine", reference: "test/efs:1", pause: true,
    }));
    assert.match(r.id, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(c, {
      "Leases/Create": 1, "Diff/Diff": 1, "Content/Write": 2, "Snapshots/Prepare": 1, "Diff/Apply": 1,
      "Snapshots/Commit": 1, "Images/Create": 1, "Leases/Delete": 1,
    });
    const { id: c2 } = await engine.create({ config: { image: "test/efs:1" }, hostConfig: { networkMode: "none" } });
    await runToExit(c2);
    assert.equal((await logsOf(engine, c2)).stdout, "copied before start\nmore\nmore\n");
  });
});

test("docker cp reaches a stopped container's volumes (as dockerd); export leaves them out", async () => {
  const { id } = await engine.create({ config: { image: "busybox", cmd: ["sh", "-c", "cat /vol1/in; echo data > /vol1/data.txt"], volumes: ["/vol1"] }, hostConfig: { networkMode: "none" } });
  // Before the first start: the anonymous volume's mount point is made inside the view.
  await engine.putArchive(id, "/vol1", tarOf({ in: "into the volume\n" }));
  await runToExit(id);
  assert.equal((await logsOf(engine, id)).stdout, "into the volume\n");
  const got = await tarEntries((await engine.getArchive(id, "/vol1/data.txt")).tar);
  assert.equal(got.get("data.txt"), "data\n");
  const exported = await tarEntries(await engine.exportContainer(id));
  assert.ok(!exported.has("vol1/data.txt"));
  assert.deepEqual(await mountedViews(), []);
  await engine.remove(id, { force: true, removeVolumes: true });
});

test("commit of a running container pauses it during the diff and resumes it", async () => {
  const { id } = await engine.create({ config: { image: "busybox", cmd: ["sh", "-c", "echo live > /live; exec sleep 60"] }, hostConfig: { networkMode: "none" } });
  await engine.start(id);
  for (let i = 0; i < 50; i++) {
    const ch = await engine.changes(id);
    if (ch.some((x) => x.path === "/live")) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const [, c] = await calls(() => engine.commit(id, { containerConfig: { Cmd: ["sleep"] }, pause: true }));
  assert.equal(c["Tasks/Pause"], 1);
  assert.equal(c["Tasks/Resume"], 1);
  assert.equal(c["Diff/Diff"], 1);
  assert.equal(engine.inspect(id).state.status, "running");
  const [, nopause] = await calls(() => engine.commit(id, { containerConfig: { Cmd: ["sleep"] }, pause: false }));
  assert.equal(nopause["Tasks/Pause"], undefined);
  await engine.remove(id, { force: true });
});

test("a view left mounted by a crash is unmounted when the engine starts", async () => {
  const stale = path.join(root, "rootfs", "crashed");
  await fs.mkdir(stale, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "tmpfs", stale]);
  assert.deepEqual(await mountedViews(), [stale]);
  await engine.close();
  engine = await startTestEngine(ctd, { root });
  await engine.restore();
  assert.deepEqual(await mountedViews(), []);
  await assert.rejects(fs.stat(stale), { code: "ENOENT" });
});

test("a last line without a newline is logged once the output ends (dockerd does; docker-py's cp test cats such a file)", async () => {
  const { id } = await engine.create({ config: { image: "busybox", cmd: ["printf", "no newline"] }, hostConfig: { networkMode: "none" } });
  await runToExit(id);
  assert.equal((await logsOf(engine, id)).stdout, "no newline");
  await engine.remove(id);
});
