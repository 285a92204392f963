import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { cgroupMetricsFromAny, cgroupsV1Pb, cgroupsV2Pb, CGROUPS_V1_METRICS_TYPE_URL, CGROUPS_V2_METRICS_TYPE_URL } from "../containerd/index.js";
import { statsFromMetrics, V2_MEMORY_STAT_KEYS } from "./stats.js";
import { v2MetricsAny } from "./testdata/v2-metrics.js";

test("v2 metrics decode from containerd's Any into dockerd's units (ns, bytes) and v2 names", () => {
  const m = cgroupMetricsFromAny(v2MetricsAny());
  assert.equal(m?.version, 2);
  const read = new Date("2026-12-07T17:00:00Z");
  const s = statsFromMetrics(m!, read);
  assert.equal(s.cgroupVersion, 2);
  assert.equal(s.read, read);
  assert.deepEqual(s.pids, { current: 3, limit: 50 });
  // usage_usec × 1000, as dockerd does: CPU % stays comparable with v1's ns.
  assert.deepEqual(s.cpu, { totalNs: 41_873_000, userNs: 15_264_000, kernelNs: 26_609_000, perCpuNs: [], periods: 0, throttledPeriods: 0, throttledTimeNs: 0 });
  assert.equal(s.memory.usage, 2_125_824);
  assert.equal(s.memory.limit, 67_108_864);
  assert.equal(s.memory.maxUsage, 0);
  assert.equal(s.memory.totalInactiveFile, 1_224_704);
  assert.deepEqual(Object.keys(s.memory.raw), [...V2_MEMORY_STAT_KEYS]);
  assert.equal(s.memory.raw["inactive_file"], 1_224_704);
  assert.equal(s.memory.raw["anon"], 212_992);
  assert.equal(s.memory.raw["kernel_stack"], 32_768);
  assert.equal(s.memory.raw["thp_collapse_alloc"], 0);
  // No v1 names leak in (the CLI picks its formula by total_inactive_file's presence).
  assert.equal("total_inactive_file" in s.memory.raw, false);
  assert.deepEqual(s.blkio, [
    { op: "read", major: 254, minor: 0, value: 1_142_784, kind: "bytes" },
    { op: "write", major: 254, minor: 0, value: 8_192, kind: "bytes" },
  ]);
  assert.equal(s.oomKills, 0);
});

test("v2 memory.events' oom is the failcnt; oom_kill the OOM kills", () => {
  const m = create(cgroupsV2Pb.MetricsSchema, { memoryEvents: { oom: 4n, oomKill: 2n }, memory: { usage: 10n } });
  const any = create(AnySchema, { typeUrl: CGROUPS_V2_METRICS_TYPE_URL, value: toBinary(cgroupsV2Pb.MetricsSchema, m) });
  const s = statsFromMetrics(cgroupMetricsFromAny(any)!, new Date());
  assert.equal(s.memory.failcnt, 4);
  assert.equal(s.oomKills, 2);
  assert.deepEqual(s.blkio, []);
});

test("v1 metrics still decode as v1; another type URL is no metrics", () => {
  const m = create(cgroupsV1Pb.MetricsSchema, { pids: { current: 2n, limit: 0n }, memory: { usage: { usage: 4096n, max: 8192n, limit: 1n << 62n } } });
  const any = create(AnySchema, { typeUrl: CGROUPS_V1_METRICS_TYPE_URL, value: toBinary(cgroupsV1Pb.MetricsSchema, m) });
  const d = cgroupMetricsFromAny(any);
  assert.equal(d?.version, 1);
  const s = statsFromMetrics(d!, new Date());
  assert.equal(s.cgroupVersion, 1);
  assert.equal(s.memory.maxUsage, 8192);
  assert.equal(cgroupMetricsFromAny(create(AnySchema, { typeUrl: "io.containerd.cgroups.v3.Metrics", value: new Uint8Array() })), undefined);
  assert.equal(cgroupMetricsFromAny(undefined), undefined);
});
