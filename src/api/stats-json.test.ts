import assert from "node:assert/strict";
import { test } from "node:test";
import type { StatsSample } from "../daemon/types.js";
import { statsJson } from "./stats-json.js";
import { cgroupMetricsFromAny } from "../containerd/index.js";
import { statsFromMetrics } from "../libcontainerd/index.js";
import { v2MetricsAny } from "../libcontainerd/testdata/v2-metrics.js";

const sample = (limit: number): StatsSample => {
  const read = new Date("2026-11-29T04:00:00.5Z");
  return {
    read,
    previous: undefined,
    systemCpuNs: 5e12,
    onlineCpus: 4,
    stats: {
      read,
      cgroupVersion: 1,
      pids: { current: 1, limit: 0 },
      cpu: { totalNs: 10, userNs: 4, kernelNs: 6, perCpuNs: [], throttledPeriods: 0, throttledTimeNs: 0, periods: 0 },
      memory: { usage: 100, maxUsage: 200, limit, failcnt: 0, cache: 0, rss: 0, totalInactiveFile: 0, swapUsage: 0, swapLimit: 0, raw: { rss: 90 } },
      blkio: [{ op: "write", major: 8, minor: 0, value: 3, kind: "ios" }],
    },
  };
};

test("stats JSON: docker's names; an unlimited v1 cgroup reports the machine's memory", () => {
  const j = statsJson(sample(9223372036854771712), { id: "abc", name: "/x" }, 8 * 2 ** 30);
  assert.equal(j.memory_stats.limit, 8 * 2 ** 30);
  assert.equal(statsJson(sample(1 << 20), { id: "abc", name: "/x" }, 8 * 2 ** 30).memory_stats.limit, 1 << 20);
  assert.equal(j.read, "2026-11-29T04:00:00.5Z");
  assert.equal(j.preread, "0001-01-01T00:00:00Z");
  assert.deepEqual(j.cpu_stats, {
    cpu_usage: { total_usage: 10, usage_in_kernelmode: 6, usage_in_usermode: 4 },
    system_cpu_usage: 5e12,
    online_cpus: 4,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  });
  assert.deepEqual(j.blkio_stats.io_serviced_recursive, [{ major: 8, minor: 0, op: "Write", value: 3 }]);
  assert.deepEqual(j.pids_stats, { current: 1 });
  assert.deepEqual(j.memory_stats.stats, { rss: 90 });
});

test("stats JSON on a cgroup v2 host: dockerd's v2 subset (no percpu, no max_usage, read/write bytes, other blkio null)", () => {
  const read = new Date("2026-12-07T17:00:00Z");
  const stats = statsFromMetrics(cgroupMetricsFromAny(v2MetricsAny())!, read);
  const j = statsJson({ read, previous: undefined, systemCpuNs: 5e12, onlineCpus: 2, stats }, { id: "abc", name: "/x" }, 8 * 2 ** 30);
  assert.deepEqual(j.cpu_stats.cpu_usage, { total_usage: 41_873_000, usage_in_kernelmode: 26_609_000, usage_in_usermode: 15_264_000 });
  assert.deepEqual(j.pids_stats, { current: 3, limit: 50 });
  assert.deepEqual(j.blkio_stats, {
    io_service_bytes_recursive: [
      { major: 254, minor: 0, op: "read", value: 1_142_784 },
      { major: 254, minor: 0, op: "write", value: 8_192 },
    ],
    io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null,
    io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
  });
  assert.equal("max_usage" in j.memory_stats, false);
  assert.equal("failcnt" in j.memory_stats, false);
  assert.equal(j.memory_stats.usage, 2_125_824);
  assert.equal(j.memory_stats.limit, 67_108_864);
  const st = j.memory_stats.stats;
  assert.equal(st["inactive_file"], 1_224_704);
  assert.equal(st["total_inactive_file"], undefined);
  // What docker CLI 28 prints as MEM USAGE on v2: usage − inactive_file.
  assert.equal(j.memory_stats.usage - st["inactive_file"]!, 901_120);
  // An unlimited v2 cgroup ("max" → 2^64-1 → a huge double) reads as the machine's memory.
  const unlimited = { ...stats, memory: { ...stats.memory, limit: 2 ** 64 } };
  assert.equal(statsJson({ read, previous: undefined, systemCpuNs: 0, onlineCpus: 2, stats: unlimited }, { id: "a", name: "/x" }, 8 * 2 ** 30).memory_stats.limit, 8 * 2 ** 30);
});
