// containerd stops and comes back: calls fail fast meanwhile, the event stream is resubscribed,
// and ONE Tasks/List finds the exits that happened in the gap (moby loses them).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { makeBusyboxRootfs } from "../helpers/rootfs.js";
import { minimalSpec } from "../helpers/spec.js";
import { RecordingBackend } from "../helpers/backend.js";
import { isBerthError } from "../../src/containerd/index.js";
import { createClient, type LibcontainerdClient } from "../../src/libcontainerd/index.js";

let ctd: TestContainerd;
let rootfs: string;
let client: LibcontainerdClient;
const backend = new RecordingBackend();

before(async () => {
  ctd = await startTestContainerd("rst");
  rootfs = await makeBusyboxRootfs(path.join(ctd.dir, "rootfs"));
  client = await createClient({ containerd: ctd.client, stateDir: path.join(ctd.dir, "fifos"), backend, resubscribeMaxMs: 200 });
  await backend.waitStreamUp(client);
});
after(async () => {
  await client.close();
  await ctd.stop();
});

async function until(cond: () => boolean, what: string, ms = 15_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test("exits during a containerd outage are delivered once, with their real exit code", async () => {
  const spec = (id: string) => minimalSpec({ namespace: ctd.namespace, id, rootfs, args: ["sleep", "1000"] });
  const a = await client.newContainer("gone", { spec: spec("gone") });
  const b = await client.newContainer("stays", { spec: spec("stays") });
  const ta = await a.start();
  const tb = await b.start();
  const ex = await tb.exec("ex", { args: ["sleep", "1000"], cwd: "/", env: ["PATH=/bin"], user: { uid: 0, gid: 0 } });

  const start = await ctd.stopContainerd();
  try {
    // Calls while containerd is down fail fast with "unavailable", they do not hang.
    const t0 = Date.now();
    await assert.rejects(tb.pids(), (e) => isBerthError(e, "unavailable"));
    assert.ok(Date.now() - t0 < 2000, "failed fast");
    await until(() => !client.eventsLive, "the stream to be seen down");
    // The container's process dies while nobody listens.
    process.kill(ta.pid, "SIGKILL");
    await sleep(200);
  } finally {
    await start();
  }
  await until(() => backend.events("gone").some((e) => e.type === "exit"), "the exit of 'gone'");
  await until(() => client.eventsLive, "the stream back up");
  await client.idle();
  const exits = backend.events("gone").filter((e) => e.type === "exit");
  assert.equal(exits.length, 1, "delivered exactly once");
  assert.equal(exits[0]!.info.exitCode, 137);
  assert.equal((await ta.exited).exitCode, 137);
  // Counted by the restarted containerd itself, which served only what came after it: each
  // subscription that took (one, unless the stream dropped again while containerd settled) is
  // followed by exactly one Tasks/List, and the exec that still runs costs one Tasks/Get.
  const served = await ctd.serverCalls();
  const subscriptions = served["Events/Subscribe"] ?? 0;
  assert.ok(subscriptions >= 1, `the stream resubscribed: ${JSON.stringify(served)}`);
  assert.equal(served["Tasks/List"], subscriptions, `one Tasks/List per subscription: ${JSON.stringify(served)}`);
  assert.ok((served["Tasks/Get"] ?? 0) >= 1 && (served["Tasks/Get"] ?? 0) <= subscriptions, `a Tasks/Get for the exec that is still running: ${JSON.stringify(served)}`);

  // The other container and its exec were not touched.
  assert.equal(backend.events("stays").filter((e) => e.type === "exit").length, 0);
  assert.equal((await tb.status()).status, 2);
  await ta.delete();
  await ex.kill(9);
  assert.equal((await ex.exited).exitCode, 137);
  await ex.delete();
  await tb.forceDelete();
  await a.delete();
  await b.delete();
  await client.idle();
  // Duplicates that containerd may still forward after its restart are dropped.
  await sleep(300);
  assert.equal(backend.events("gone").filter((e) => e.type === "exit").length, 1);
});
