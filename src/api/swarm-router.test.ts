import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { NOT_A_SWARM_MANAGER, NOT_PART_OF_A_SWARM } from "./swarm-router.js";
import { request, startHarness, type Harness } from "./testdata/harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const call = async (method: string, p: string, body?: unknown) => {
  const r = await request(h.socketPath, method, `/v1.41${p}`, body === undefined ? {} : { body });
  return { status: r.status, body: r.json<unknown>() };
};

test("swarm, node, service, task, secret and config endpoints answer dockerd's 503 for a node outside a swarm", async () => {
  const notManager = { status: 503, body: { message: NOT_A_SWARM_MANAGER } };
  for (const [m, p] of [
    ["GET", "/swarm"], ["POST", "/swarm/update?version=1"], ["GET", "/swarm/unlockkey"], ["POST", "/swarm/unlock"],
    ["GET", "/nodes"], ["GET", "/nodes/n1"], ["DELETE", "/nodes/n1"], ["POST", "/nodes/n1/update?version=1"],
    ["GET", "/services"], ["POST", "/services/create"], ["GET", "/services/s1"], ["DELETE", "/services/s1"],
    ["POST", "/services/s1/update?version=1"], ["GET", "/services/s1/logs?stdout=1"],
    ["GET", "/tasks"], ["GET", "/tasks/t1"], ["GET", "/tasks/t1/logs?stdout=1"],
    ["GET", "/secrets"], ["POST", "/secrets/create"], ["GET", "/secrets/x"], ["DELETE", "/secrets/x"], ["POST", "/secrets/x/update?version=1"],
    ["GET", "/configs"], ["POST", "/configs/create"], ["GET", "/configs/x"], ["DELETE", "/configs/x"], ["POST", "/configs/x/update?version=1"],
  ] as const) {
    assert.deepEqual(await call(m, p), notManager, `${m} ${p}`);
  }
  assert.deepEqual(await call("POST", "/swarm/leave?force=1"), { status: 503, body: { message: NOT_PART_OF_A_SWARM } });
  assert.equal(NOT_A_SWARM_MANAGER, 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.');
  // GET /services checks its filters before it finds there is no manager.
  const badFilter = await call("GET", `/services?filters=${encodeURIComponent('{"x":{"y":true}}')}`);
  assert.equal(badFilter.status, 400);
  assert.match((badFilter.body as { message: string }).message, /filter 'x'/i);
  // berth cannot become a swarm node: init and join are refused, not pretended.
  const init = await call("POST", "/swarm/init", { ListenAddr: "0.0.0.0:2377" });
  assert.equal(init.status, 501);
});

test("plugins: none are installed, none can be", async () => {
  assert.deepEqual(await call("GET", "/plugins"), { status: 200, body: [] });
  assert.deepEqual(await call("GET", `/plugins?filters=${encodeURIComponent('{"enabled":{"true":true}}')}`), { status: 200, body: [] });
  assert.equal((await call("GET", `/plugins?filters=${encodeURIComponent('{"foo":{"x":true}}')}`)).status, 400);
  for (const [m, p] of [["GET", "/plugins/vieux/sshfs:latest/json"], ["DELETE", "/plugins/vieux/sshfs:latest"], ["POST", "/plugins/vieux/sshfs:latest/enable?timeout=0"], ["POST", "/plugins/vieux/sshfs:latest/disable"], ["POST", "/plugins/vieux/sshfs:latest/set"]] as const) {
    assert.deepEqual(await call(m, p), { status: 404, body: { message: 'plugin "vieux/sshfs:latest" not found' } }, `${m} ${p}`);
  }
  assert.equal((await call("POST", "/plugins/pull?remote=vieux/sshfs")).status, 501);
  assert.deepEqual(await call("GET", "/plugins/x/bogus"), { status: 404, body: { message: "page not found" } });
});
