import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Registry } from "prom-client";
import { RpcCounter } from "../containerd/rpc-counter.js";
import { engineOpChannel } from "../daemon/engine/index.js";
import { cniChannel } from "../network/index.js";
import { isLoopback, parseMetricsAddress, startMetricsServer } from "./metrics.js";

const engine = { counts: () => ({ total: 6, running: 3, paused: 1, stopped: 2 }) };

function get(address: string, path: string, method = "GET"): Promise<{ status: number; type: string; body: string }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    http.request({ host, port, path, method, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c)).on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
    }).on("error", reject).end();
  });
}

const lines = (text: string, prefix: string) => text.split("\n").filter((l) => l.startsWith(prefix));

test("containerd calls, engine operations, container states and queue depth are scraped as exact lines", async () => {
  const counter = new RpcCounter();
  let depth = 0;
  await using m = await startMetricsServer({ address: "127.0.0.1:0", counter, engine, queueDepth: () => depth, registry: new Registry() });
  assert.match(m.address, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(m.port, 0);

  for (const [rpc, outcome, ms] of [["Tasks/Create", "OK", 30], ["Tasks/Create", "OK", 70], ["Tasks/Delete", "NotFound", 0.3]] as const) {
    counter.start(rpc);
    counter.finish({ rpc, outcome, durationMs: ms });
  }
  engineOpChannel.publish({ op: "start", durationMs: 120, outcome: "ok" });
  engineOpChannel.publish({ op: "start", durationMs: 2, outcome: "not-found" });
  engineOpChannel.publish({ op: "kill", durationMs: 4, outcome: "ok" });
  depth = 7;
  cniChannel.publish({ command: "ADD", plugin: "bridge", network: "berth-x", containerId: "c1", ifName: "eth0", durationMs: 40 });
  cniChannel.publish({ command: "ADD", plugin: "bridge", network: "berth-x", containerId: "c2", ifName: "eth0", durationMs: 3, error: "no address" });
  cniChannel.publish({ command: "DEL", plugin: "bridge", network: "berth-x", containerId: "c1", ifName: "eth0", durationMs: 20 });

  const r = await get(m.address, "/metrics");
  assert.equal(r.status, 200);
  assert.equal(r.type, "text/plain; version=0.0.4; charset=utf-8");
  assert.deepEqual(lines(r.body, "berth_containerd_calls_total"), [
    'berth_containerd_calls_total{method="Tasks/Create",outcome="OK"} 2',
    'berth_containerd_calls_total{method="Tasks/Delete",outcome="NotFound"} 1',
  ]);
  assert.deepEqual(lines(r.body, 'berth_containerd_call_duration_seconds_bucket{le="0.05"'), [
    'berth_containerd_call_duration_seconds_bucket{le="0.05",method="Tasks/Create"} 1',
    'berth_containerd_call_duration_seconds_bucket{le="0.05",method="Tasks/Delete"} 1',
  ]);
  assert.deepEqual(lines(r.body, 'berth_containerd_call_duration_seconds_bucket{le="0.1"'), [
    'berth_containerd_call_duration_seconds_bucket{le="0.1",method="Tasks/Create"} 2',
    'berth_containerd_call_duration_seconds_bucket{le="0.1",method="Tasks/Delete"} 1',
  ]);
  assert.deepEqual(lines(r.body, "berth_containerd_call_duration_seconds_count"), [
    'berth_containerd_call_duration_seconds_count{method="Tasks/Create"} 2',
    'berth_containerd_call_duration_seconds_count{method="Tasks/Delete"} 1',
  ]);
  assert.deepEqual(lines(r.body, 'berth_containerd_call_duration_seconds_sum{method="Tasks/Create"}'), ['berth_containerd_call_duration_seconds_sum{method="Tasks/Create"} 0.1']);
  assert.deepEqual(lines(r.body, "berth_engine_operations_total"), [
    'berth_engine_operations_total{op="start",outcome="ok"} 1',
    'berth_engine_operations_total{op="start",outcome="not-found"} 1',
    'berth_engine_operations_total{op="kill",outcome="ok"} 1',
  ]);
  assert.deepEqual(lines(r.body, 'berth_engine_operation_duration_seconds_bucket{le="0.005"'), [
    'berth_engine_operation_duration_seconds_bucket{le="0.005",op="start"} 1',
    'berth_engine_operation_duration_seconds_bucket{le="0.005",op="kill"} 1',
  ]);
  assert.deepEqual(lines(r.body, "berth_engine_operation_duration_seconds_count"), [
    'berth_engine_operation_duration_seconds_count{op="start"} 2',
    'berth_engine_operation_duration_seconds_count{op="kill"} 1',
  ]);
  assert.deepEqual(lines(r.body, "berth_cni_plugin_duration_seconds_count"), [
    'berth_cni_plugin_duration_seconds_count{plugin="bridge",command="ADD",outcome="ok"} 1',
    'berth_cni_plugin_duration_seconds_count{plugin="bridge",command="ADD",outcome="error"} 1',
    'berth_cni_plugin_duration_seconds_count{plugin="bridge",command="DEL",outcome="ok"} 1',
  ]);
  assert.deepEqual(lines(r.body, 'berth_cni_plugin_duration_seconds_sum{plugin="bridge",command="DEL"'), ['berth_cni_plugin_duration_seconds_sum{plugin="bridge",command="DEL",outcome="ok"} 0.02']);
  assert.deepEqual(lines(r.body, "berth_containers"), [
    'berth_containers{state="running"} 3',
    'berth_containers{state="paused"} 1',
    'berth_containers{state="stopped"} 2',
  ]);
  assert.deepEqual(lines(r.body, "berth_event_queue_depth"), ["berth_event_queue_depth 7"]);
  assert.equal(lines(r.body, "berth_event_loop_delay_p99_seconds ").length, 1);
  assert.match(lines(r.body, "berth_event_loop_delay_p99_seconds ")[0]!, /^berth_event_loop_delay_p99_seconds \d+(\.\d+)?(e-?\d+)?$/);
  // prom-client's default Node.js metrics, event loop lag included.
  assert.equal(lines(r.body, "nodejs_eventloop_lag_seconds ").length, 1);
  assert.equal(lines(r.body, "process_cpu_user_seconds_total ").length, 1);

  assert.equal((await get(m.address, "/")).status, 404);
  assert.equal((await get(m.address, "/metrics", "POST")).status, 405);
  assert.equal((await get(m.address, "/metrics", "HEAD")).status, 200);
});

test("after close nothing is listening, listeners are detached and the registry is emptied of berth metrics", async () => {
  const counter = new RpcCounter();
  const registry = new Registry();
  const m = await startMetricsServer({ address: "127.0.0.1:0", counter, engine, queueDepth: () => 0, registry });
  await m.close();
  await m.close();
  counter.start("Tasks/Kill");
  counter.finish({ rpc: "Tasks/Kill", outcome: "OK", durationMs: 1 });
  engineOpChannel.publish({ op: "kill", durationMs: 1, outcome: "ok" });
  assert.equal(registry.getSingleMetric("berth_containerd_calls_total"), undefined);
  assert.equal(engineOpChannel.hasSubscribers, false);
  await assert.rejects(get(m.address, "/metrics"), { code: "ECONNREFUSED" });
  // A second server on the same registry registers its metrics again (no duplicate-name error).
  await using again = await startMetricsServer({ address: "127.0.0.1:0", counter, engine, queueDepth: () => 0, registry });
  assert.equal((await get(again.address, "/metrics")).status, 200);
});

test("non-loopback addresses are refused unless allowNonLoopback", async () => {
  const base = { counter: new RpcCounter(), engine, queueDepth: () => 0 };
  await assert.rejects(startMetricsServer({ ...base, address: "0.0.0.0:0", registry: new Registry() }), { kind: "invalid-argument" });
  await assert.rejects(startMetricsServer({ ...base, address: "10.1.2.3:9323", registry: new Registry() }), { kind: "invalid-argument" });
  await assert.rejects(startMetricsServer({ ...base, address: "127.0.0.1", registry: new Registry() }), { kind: "invalid-argument" });
  await using m = await startMetricsServer({ ...base, address: "0.0.0.0:0", registry: new Registry(), allowNonLoopback: true });
  assert.match(m.address, /^0\.0\.0\.0:\d+$/);
});

test("address parsing and the loopback rule", () => {
  assert.deepEqual(parseMetricsAddress("127.0.0.1:9323"), { host: "127.0.0.1", port: 9323 });
  assert.deepEqual(parseMetricsAddress("[::1]:9323"), { host: "::1", port: 9323 });
  assert.deepEqual(parseMetricsAddress("localhost:0"), { host: "localhost", port: 0 });
  assert.throws(() => parseMetricsAddress("127.0.0.1:70000"), { kind: "invalid-argument" });
  assert.throws(() => parseMetricsAddress(":9323"), { kind: "invalid-argument" });
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "localhost"]) assert.equal(isLoopback(h), true, h);
  for (const h of ["0.0.0.0", "10.0.0.1", "::", "example.com", "128.0.0.1"]) assert.equal(isLoopback(h), false, h);
});
