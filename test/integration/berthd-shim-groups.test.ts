// berthd --shim-group-size and daemon.json's "shim-group-size" end to end: the option reaches the
// engine, containers share shims through the Docker API, and after berthd is SIGKILLed and
// started again its containers run on in their shims and new ones keep filling the groups.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildBusyboxImage } from "../../src/images/index.js";
import { startBerthd, type Berthd } from "../helpers/berthd.js";
import { isAlive, ppidOf, shimsOf } from "../helpers/shims.js";

let busybox: Buffer;
const daemons: Berthd[] = [];

before(async () => {
  busybox = await buildBusyboxImage();
});
after(async () => {
  for (const b of daemons) await b.destroy();
});

async function start(args: string[], label: string): Promise<Berthd> {
  const b = await startBerthd({ label, args });
  daemons.push(b);
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ socketPath: b.socket, method: "POST", path: "/images/load?quiet=1", headers: { "Content-Type": "application/x-tar" } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`load: ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(busybox);
  });
  return b;
}

async function run(b: Berthd, cmd = ["sleep", "1000"]): Promise<string> {
  const r = await b.request("POST", "/containers/create", { Image: "busybox", Cmd: cmd, HostConfig: { NetworkMode: "none" } });
  assert.equal(r.status, 201, r.body);
  const id = (JSON.parse(r.body) as { Id: string }).Id;
  assert.equal((await b.request("POST", `/containers/${id}/start`)).status, 204);
  return id;
}
async function state(b: Berthd, id: string): Promise<{ Running: boolean; Pid: number; ExitCode: number }> {
  const r = await b.request("GET", `/containers/${id}/json`);
  return (JSON.parse(r.body) as { State: { Running: boolean; Pid: number; ExitCode: number } }).State;
}
const shims = (b: Berthd) => shimsOf(path.join(b.root, "containerd", "containerd.sock"), b.namespace);
const shimOf = async (b: Berthd, id: string) => ppidOf((await state(b, id)).Pid);

test("--shim-group-size 2: pairs share a shim; after berthd's SIGKILL they run on and the groups keep filling", async () => {
  const b = await start(["--shim-group-size", "2"], "shgf");
  const [x, y, z] = [await run(b), await run(b), await run(b)];
  assert.equal(await shimOf(b, x), await shimOf(b, y));
  assert.notEqual(await shimOf(b, x), await shimOf(b, z));
  assert.equal(shims(b).length, 2);
  const pids = await Promise.all([x, y, z].map(async (id) => (await state(b, id)).Pid));
  const zShim = await shimOf(b, z);

  await b.kill();
  await b.restart();
  for (const [i, id] of [x, y, z].entries()) {
    const s = await state(b, id);
    assert.equal(s.Running, true);
    assert.equal(s.Pid, pids[i]);
  }
  // z's group had a free slot: the next container takes it, the one after opens a third group.
  const w = await run(b);
  assert.equal(await shimOf(b, w), zShim);
  const v = await run(b);
  assert.equal(shims(b).length, 3);
  assert.ok(![await shimOf(b, x), zShim].includes(await shimOf(b, v)));

  // Manageable after the restart: kill answers with the exit; the pair's shim ends with its last task.
  const xShim = await shimOf(b, x);
  assert.equal((await b.request("POST", `/containers/${x}/kill`)).status, 204);
  assert.equal((JSON.parse((await b.request("POST", `/containers/${x}/wait`)).body) as { StatusCode: number }).StatusCode, 137);
  assert.ok(isAlive(xShim));
  assert.equal((await b.request("POST", `/containers/${y}/stop?t=0`)).status, 204);
  for (let i = 0; i < 200 && isAlive(xShim); i++) await sleep(50);
  assert.equal(isAlive(xShim), false, "the shim ended with its group's last task");
  for (const id of [x, y, z, w, v]) assert.equal((await b.request("DELETE", `/containers/${id}?force=1`)).status, 204);
  for (let i = 0; i < 200 && shims(b).length > 0; i++) await sleep(50);
  assert.deepEqual(shims(b), []);
});

test('daemon.json "shim-group-size": 3 puts three containers in one shim; the default is a shim each', async () => {
  const dir = await fs.mkdtemp("/tmp/bshg-");
  try {
    const file = path.join(dir, "daemon.json");
    await fs.writeFile(file, JSON.stringify({ "shim-group-size": 3 }));
    const b = await start(["--config-file", file], "shgc");
    const ids = [await run(b), await run(b), await run(b)];
    const owners = new Set(await Promise.all(ids.map((id) => shimOf(b, id))));
    assert.equal(owners.size, 1);
    assert.equal(shims(b).length, 1);

    const plain = await start([], "shg1");
    const own = [await run(plain), await run(plain)];
    assert.equal(new Set(await Promise.all(own.map((id) => shimOf(plain, id)))).size, 2);
    assert.equal(shims(plain).length, 2);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
