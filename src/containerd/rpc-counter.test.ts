import { test } from "node:test";
import assert from "node:assert/strict";
import diagnosticsChannel from "node:diagnostics_channel";
import { RpcCounter, totalCalls } from "./rpc-counter.js";
import { parseGrpcStarted } from "../daemon/containerd-process.js";

test("snapshots diff to the calls started in between, by Service/Method", async () => {
  const c = new RpcCounter();
  c.start("Tasks/Create");
  c.finish({ rpc: "Tasks/Create", outcome: "OK", durationMs: 1 });
  const before = c.snapshot();
  const { result, calls } = await c.measure(async () => {
    c.start("Tasks/Start");
    c.finish({ rpc: "Tasks/Start", outcome: "OK", durationMs: 1 });
    c.start("Tasks/Kill");
    c.start("Tasks/Kill");
    c.finish({ rpc: "Tasks/Kill", outcome: "NotFound", durationMs: 1 });
    return 7;
  });
  assert.equal(result, 7);
  assert.deepEqual(calls, { "Tasks/Kill": 2, "Tasks/Start": 1 });
  assert.equal(totalCalls(calls), 3);
  assert.deepEqual(c.since(before), calls);
  assert.deepEqual(c.snapshot().handled["Tasks/Kill"], { NotFound: 1 });
});

test("finished calls are published on diagnostics_channel and to listeners", () => {
  const c = new RpcCounter();
  const seen: unknown[] = [];
  const onMsg = (m: unknown) => seen.push(m);
  diagnosticsChannel.subscribe("berth:containerd:rpc:finish", onMsg);
  const heard: string[] = [];
  const off = c.onFinish((f) => heard.push(`${f.rpc}:${f.outcome}`));
  c.start("Version/Version");
  c.finish({ rpc: "Version/Version", outcome: "OK", durationMs: 0.2 });
  off();
  c.finish({ rpc: "Version/Version", outcome: "OK", durationMs: 0.2 });
  diagnosticsChannel.unsubscribe("berth:containerd:rpc:finish", onMsg);
  assert.deepEqual(heard, ["Version/Version:OK"]);
  assert.equal(seen.length, 2);
});

test("containerd's metrics text parses to the same Service/Method keys", () => {
  const text = [
    "# TYPE grpc_server_started_total counter",
    'grpc_server_started_total{grpc_method="Create",grpc_service="containerd.services.tasks.v1.Tasks",grpc_type="unary"} 3',
    'grpc_server_started_total{grpc_method="Subscribe",grpc_service="containerd.services.events.v1.Events",grpc_type="server_stream"} 1',
    'grpc_server_started_total{grpc_method="Delete",grpc_service="containerd.services.tasks.v1.Tasks",grpc_type="unary"} 0',
    'grpc_server_handled_total{grpc_code="OK",grpc_method="Create",grpc_service="containerd.services.tasks.v1.Tasks",grpc_type="unary"} 3',
  ].join("\n");
  assert.deepEqual(parseGrpcStarted(text), { "Tasks/Create": 3, "Events/Subscribe": 1 });
});
