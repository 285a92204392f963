import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import {
  decodeEvent, runcOptionsFromAny, runcOptionsToAny, specFromAny, specToAny, processToAny,
  cgroupsV1MetricsFromAny,
} from "./any.js";
import { cgroupsV1Pb, taskEventsPb } from "./proto.js";

test("the OCI spec travels as JSON under containerd's bare type URL", () => {
  const spec = { ociVersion: "1.0.2", process: { cwd: "/", user: { uid: 0, gid: 0 }, args: ["true"] } };
  const any = specToAny(spec);
  assert.equal(any.typeUrl, "types.containerd.io/opencontainers/runtime-spec/1/Spec");
  assert.deepEqual(JSON.parse(new TextDecoder().decode(any.value)), spec);
  assert.deepEqual(specFromAny(any), spec);
  assert.throws(() => specFromAny(processToAny(spec.process)), { kind: "invalid-argument" });
  assert.equal(processToAny(spec.process).typeUrl, "types.containerd.io/opencontainers/runtime-spec/1/Process");
});

test("runc options use the bare type URL the shim decodes (never type.googleapis.com/)", () => {
  const any = runcOptionsToAny({ binaryName: "runc", systemdCgroup: false, root: "/run/x" });
  assert.equal(any.typeUrl, "containerd.runc.v1.Options");
  const back = runcOptionsFromAny(any)!;
  assert.equal(back.binaryName, "runc");
  assert.equal(back.root, "/run/x");
  assert.equal(runcOptionsFromAny(undefined), undefined);
});

test("event payloads and cgroup metrics decode from bare type URLs", () => {
  const exit = create(taskEventsPb.TaskExitSchema, { containerId: "c1", id: "c1", pid: 42, exitStatus: 137 });
  const any = create(AnySchema, { typeUrl: "containerd.events.TaskExit", value: toBinary(taskEventsPb.TaskExitSchema, exit) });
  const ev = decodeEvent(any) as taskEventsPb.TaskExit;
  assert.equal(ev.$typeName, "containerd.events.TaskExit");
  assert.equal(ev.exitStatus, 137);
  assert.equal(ev.pid, 42);
  assert.equal(decodeEvent(create(AnySchema, { typeUrl: "containerd.events.Nope", value: new Uint8Array() })), undefined);

  const m = create(cgroupsV1Pb.MetricsSchema, { pids: { current: 3n, limit: 10n }, memory: { usage: { usage: 4096n } } });
  const mAny = create(AnySchema, { typeUrl: "io.containerd.cgroups.v1.Metrics", value: toBinary(cgroupsV1Pb.MetricsSchema, m) });
  const decoded = cgroupsV1MetricsFromAny(mAny)!;
  assert.equal(decoded.pids?.current, 3n);
  assert.equal(decoded.memory?.usage?.usage, 4096n);
});
