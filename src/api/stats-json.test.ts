import assert from "node:assert/strict";
import { test } from "node:test";
import type { StatsSample } from "../daemon/types.js";
import { statsJson } from "./stats-json.js";

const sample = (limit: number): StatsSample => {
  const read = new Date("2026-11-29T04:00:00.5Z");
  return {
    read,
    previous: undefined,
    systemCpuNs: 5e12,
    onlineCpus: 4,
    stats: {
      read,
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
