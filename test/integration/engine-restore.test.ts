// berthd restarts while containers run: restore with two calls for the whole namespace,
// re-attach stdio and logs, record exits that happened meanwhile, remove unexplained objects.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { logsOf, startTestEngine, type TestEngine } from "../helpers/engine.js";
import { minimalSpec } from "../helpers/spec.js";

let ctd: TestContainerd;
let engine: TestEngine | undefined;

before(async () => {
  ctd = await startTestContainerd("rest");
});
after(async () => {
  if (engine) {
    for (const c of engine.list({ all: true })) await engine.remove(c.id, { force: true }).catch(() => {});
    await engine.close();
  }
  await ctd.stop();
});

test("restore: running containers re-attached, exits while down recorded, orphans removed", async () => {
  const root = path.join(ctd.dir, "berth");
  const a = await startTestEngine(ctd, { root });
  const ticker = (await a.create({ name: "ticker", config: { image: "busybox", cmd: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.1; done"] } })).id;
  const quitter = (await a.create({ name: "quitter", config: { image: "busybox", cmd: ["sh", "-c", "sleep 1; exit 3"] } })).id;
  const created = (await a.create({ name: "created", config: { image: "busybox", cmd: ["true"] } })).id;
  const done = (await a.create({ name: "done", config: { image: "busybox", cmd: ["true"] } })).id;
  const paused = (await a.create({ name: "paused", config: { image: "busybox", cmd: ["sleep", "1000"] } })).id;
  await a.start(ticker);
  await a.start(quitter);
  await a.start(paused);
  await a.pause(paused);
  const doneExit = a.wait(done, "next-exit");
  await a.start(done);
  await doneExit;
  await a.libcontainerd.idle();
  const startedAt = a.inspect(ticker).state.startedAt!;
  const pid = a.inspect(ticker).state.pid;
  // An object in berth's namespace that no record explains (a crash between create and save).
  await ctd.client.containers.create({ id: "orphan", spec: minimalSpec({ namespace: ctd.namespace, id: "orphan", rootfs: "/", args: ["true"] }), runtime: { name: "io.containerd.runc.v2" } });

  // berthd goes away; its containers do not.
  await a.close();
  await sleep(1500); // "quitter" exits while nobody listens

  engine = await startTestEngine(ctd, { root });
  // The daemon's one Events/Subscribe stream is not part of the restore.
  const before = ctd.client.counter.snapshot();
  const report = await engine.restore();
  // What the crash left is cleaned in the background, not in the way of the start-up.
  await engine.cleanupsDone();
  await engine.libcontainerd.idle();
  const restoreCalls = ctd.client.counter.since(before);
  assert.deepEqual(restoreCalls, {
    "Containers/Delete": 1, // the orphan
    "Containers/List": 1,
    "Tasks/Delete": 1, // reaping the quitter for its exit code
    "Tasks/List": 1,
  });
  assert.deepEqual(report.orphansRemoved, ["orphan"]);
  assert.equal(report.containers, 5);
  assert.equal(report.running, 2);
  assert.equal(report.exitedWhileDown, 1);

  const t = engine.inspect("ticker");
  assert.equal(t.state.status, "running");
  assert.equal(t.state.pid, pid);
  assert.equal(t.state.startedAt?.getTime(), startedAt.getTime(), "start time survives the restore");
  const q = engine.inspect("quitter");
  assert.equal(q.state.status, "exited");
  assert.equal(q.state.exitCode, 3, "the real exit code of an exit that happened while berthd was down");
  assert.equal(engine.inspect("created").state.status, "created");
  assert.equal(engine.inspect("done").state.status, "exited");
  assert.equal(engine.inspect("paused").state.status, "paused");
  assert.equal(engine.inspect(created).name, "/created");

  // The ticker's output flows into its log again (stdio re-attached).
  const count = async () => ((await logsOf(engine!, ticker)).stdout.match(/tick/g) ?? []).length;
  const n1 = await count();
  await sleep(500);
  assert.ok((await count()) > n1, "log grows after restore");
  // And it is fully controllable.
  await engine.unpause("paused");
  await engine.stop("ticker", { timeout: 1 });
  assert.equal(engine.inspect("ticker").state.running, false);
  assert.equal((await ctd.client.containers.list()).some((c) => c.id === "orphan"), false);
  void done;
});
