import type { CgroupsV1Metrics } from "../containerd/index.js";
import type { TaskStats } from "./types.js";

const n = (v: bigint | undefined): number => (v === undefined ? 0 : Number(v));

/** cgroup v1 metrics (Tasks/Metrics) → plain numbers. Byte and ns counters fit in a double. */
export function statsFromCgroupsV1(m: CgroupsV1Metrics, read: Date): TaskStats {
  const mem = m.memory;
  const raw: Record<string, number> = {};
  if (mem) {
    for (const [k, v] of Object.entries(mem)) if (typeof v === "bigint") raw[snake(k)] = Number(v);
  }
  return {
    read,
    pids: { current: n(m.pids?.current), limit: n(m.pids?.limit) },
    cpu: {
      totalNs: n(m.cpu?.usage?.total),
      userNs: n(m.cpu?.usage?.user),
      kernelNs: n(m.cpu?.usage?.kernel),
      perCpuNs: (m.cpu?.usage?.perCpu ?? []).map(Number),
      periods: n(m.cpu?.throttling?.periods),
      throttledPeriods: n(m.cpu?.throttling?.throttledPeriods),
      throttledTimeNs: n(m.cpu?.throttling?.throttledTime),
    },
    memory: {
      usage: n(mem?.usage?.usage),
      maxUsage: n(mem?.usage?.max),
      limit: n(mem?.usage?.limit),
      failcnt: n(mem?.usage?.failcnt),
      cache: n(mem?.cache),
      rss: n(mem?.rss),
      totalInactiveFile: n(mem?.totalInactiveFile),
      swapUsage: n(mem?.swap?.usage),
      swapLimit: n(mem?.swap?.limit),
      raw,
    },
    blkio: [
      ...(m.blkio?.ioServiceBytesRecursive ?? []).map((e) => ({ op: e.op, major: n(e.major), minor: n(e.minor), value: n(e.value), kind: "bytes" as const })),
      ...(m.blkio?.ioServicedRecursive ?? []).map((e) => ({ op: e.op, major: n(e.major), minor: n(e.minor), value: n(e.value), kind: "ios" as const })),
    ],
    ...(m.memoryOomControl ? { oomKills: n(m.memoryOomControl.oomKill) } : {}),
  };
}

// Docker's stats JSON names the raw memory counters in cgroup v1's snake_case ("total_rss").
function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/**
 * A memory limit as docker reports it: a cgroup without one (0, or v1's "unlimited" 2^63)
 * reads as the machine's memory, as dockerd shows it. `machineMemory` 0 means unknown.
 */
export function memoryLimitOrMachine(limit: number, machineMemory: number): number {
  return machineMemory > 0 && (limit === 0 || limit > machineMemory) ? machineMemory : limit;
}
