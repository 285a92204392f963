// berthd killed with SIGKILL at random moments during a stream of create/start/stop/rm/exec,
// many times in a row: after every restart berth's records and containerd agree, and no
// container whose creation was acknowledged to a client is lost.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { buildBusyboxImage } from "../../src/images/index.js";
import { startBerthd, type Berthd } from "../helpers/berthd.js";
import http from "node:http";

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 50);
let b: Berthd;

before(async () => {
  b = await startBerthd({ label: "crash" });
  const tar = await buildBusyboxImage();
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ socketPath: b.socket, method: "POST", path: "/images/load?quiet=1", headers: { "Content-Type": "application/x-tar" } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`load: ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(tar);
  });
});
after(async () => {
  await b.destroy();
});

const rnd = (n: number) => Math.floor(Math.random() * n);

test(`SIGKILL of berthd ${ROUNDS} times during a stream of operations: nothing lost, nothing leaked`, { timeout: 15 * 60_000 }, async () => {
  const acked = new Set<string>();
  const removed = new Set<string>();
  const asked = new Set<string>();
  let ops = 0;
  let kills = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let running = true;
    const known = () => [...acked].filter((id) => !removed.has(id));
    const worker = async () => {
      while (running) {
        ops++;
        const ids = known();
        const pick = ids[rnd(ids.length)];
        try {
          const what = rnd(10);
          // Create while the population is small, so that 2 cores are not drowned in shims.
          if ((what < 4 && ids.length < 25) || !pick) {
            const r = await b.request("POST", "/containers/create", { Image: "busybox", Cmd: ["sleep", "1000"], HostConfig: { NetworkMode: "none" } });
            if (r.status === 201) acked.add((JSON.parse(r.body) as { Id: string }).Id);
          } else if (what < 6) {
            await b.request("POST", `/containers/${pick}/start`);
          } else if (what < 7) {
            await b.request("POST", `/containers/${pick}/stop?t=0`);
          } else if (what < 9) {
            // Once asked for, a removal may complete even if the answer never arrives.
            asked.add(pick);
            const r = await b.request("DELETE", `/containers/${pick}?force=1`);
            if (r.status === 204) removed.add(pick);
          } else {
            const r = await b.request("POST", `/containers/${pick}/exec`, { Cmd: ["true"] });
            if (r.status === 201) await b.request("POST", `/exec/${(JSON.parse(r.body) as { Id: string }).Id}/start`, { Detach: true });
          }
        } catch {
          // berthd died under the request: its outcome is unknown to the client.
        }
      }
    };
    const workers = [worker(), worker(), worker()];
    await sleep(50 + rnd(400));
    await b.kill();
    kills++;
    running = false;
    await Promise.all(workers);
    await b.restart();

    // Records (what berthd lists) and containerd agree — at once, or after the restore's
    // background cleanup of what the crash left (bounded).
    let records = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      try {
        records = await checkConsistency(round);
        break;
      } catch (e) {
        if (attempt >= 60) throw e;
        await sleep(500);
      }
    }
    for (const id of acked) {
      if (!removed.has(id) && !asked.has(id)) assert.ok(records.has(id), `round ${round}: acknowledged container ${id} lost`);
    }
    // A removal that was in flight may or may not have happened; what is gone is gone.
    for (const id of [...acked]) if (!records.has(id)) removed.add(id);
    asked.clear();
    for (const id of acked) if (records.has(id)) removed.delete(id);
  }
  assert.equal(kills, ROUNDS);
  assert.ok(ops > ROUNDS, `operations ran (${ops})`);
});

async function checkConsistency(round: number): Promise<Set<string>> {
  const list = await b.request("GET", "/containers/json?all=1");
  assert.equal(list.status, 200);
  const records = new Set((JSON.parse(list.body) as { Id: string }[]).map((c) => c.Id));
  const ctd = b.containerd();
  try {
    const containers = (await ctd.containers.list()).map((c) => c.id);
    const taskList = (await ctd.tasks.rpc.list({})).tasks;
    const tasks = taskList.map((t) => t.id);
    const describeTask = (id: string) => JSON.stringify(taskList.filter((t) => t.id === id).map((t) => ({ status: t.status, pid: t.pid, exit: t.exitStatus })));
    const snapshots: string[] = [];
    for await (const r of ctd.snapshots.rpc.list({ snapshotter: "overlayfs" })) snapshots.push(...r.info.filter((i) => i.kind === 2 /* ACTIVE */).map((i) => i.name));
    for (const id of containers) assert.ok(records.has(id), `round ${round}: containerd container ${id} has no record`);
    for (const id of tasks) assert.ok(records.has(id), `round ${round}: task ${id} ${describeTask(id)} has no record (container: ${containers.includes(id)})\n${b.log().split("\n").filter((l) => l.includes(id.slice(0, 12)) || l.includes("restored")).slice(-6).join("\n")}`);
    for (const id of snapshots) assert.ok(records.has(id), `round ${round}: snapshot ${id} has no record`);
    for (const id of records) {
      assert.ok(containers.includes(id), `round ${round}: record ${id} points at no containerd container`);
      assert.ok(snapshots.includes(id), `round ${round}: record ${id} points at no snapshot`);
    }
  } finally {
    await ctd.close();
  }
  return records;
}
