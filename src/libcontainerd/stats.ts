import type { CgroupMetrics, CgroupsV1Metrics, CgroupsV2Metrics } from "../containerd/index.js";
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
    cgroupVersion: 1,
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

/**
 * The counters of memory.stat that dockerd 20.10 passes on a cgroup v2 host, under their v2
 * names (the CLI's "used memory" subtracts `inactive_file`, as it subtracts v1's
 * `total_inactive_file`), in the order of its table.
 */
export const V2_MEMORY_STAT_KEYS = [
  "anon", "file", "kernel_stack", "slab", "sock", "shmem", "file_mapped", "file_dirty", "file_writeback",
  "anon_thp", "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable",
  "slab_reclaimable", "slab_unreclaimable", "pgfault", "pgmajfault", "workingset_refault",
  "workingset_activate", "workingset_nodereclaim", "pgrefill", "pgscan", "pgsteal", "pgactivate",
  "pgdeactivate", "pglazyfree", "pglazyfreed", "thp_fault_alloc", "thp_collapse_alloc",
] as const;

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * cgroup v2 metrics (io.containerd.cgroups.v2.Metrics) → the same plain numbers. v2 counts CPU in
 * µs (ns here, as v1), has no per-CPU usage, no max usage, and I/O as bytes read and written per
 * device; memory.events' `oom` stands in for v1's failcnt, as dockerd reports it.
 */
export function statsFromCgroupsV2(m: CgroupsV2Metrics, read: Date): TaskStats {
  const mem = m.memory;
  const raw: Record<string, number> = {};
  if (mem) {
    const fields = mem as unknown as Record<string, bigint>;
    for (const k of V2_MEMORY_STAT_KEYS) raw[k] = n(fields[camel(k)]);
  }
  const us = (v: bigint | undefined) => n(v) * 1000;
  return {
    read,
    cgroupVersion: 2,
    pids: { current: n(m.pids?.current), limit: n(m.pids?.limit) },
    cpu: {
      totalNs: us(m.cpu?.usageUsec),
      userNs: us(m.cpu?.userUsec),
      kernelNs: us(m.cpu?.systemUsec),
      perCpuNs: [],
      periods: n(m.cpu?.nrPeriods),
      throttledPeriods: n(m.cpu?.nrThrottled),
      throttledTimeNs: us(m.cpu?.throttledUsec),
    },
    memory: {
      usage: n(mem?.usage),
      maxUsage: 0,
      limit: n(mem?.usageLimit),
      failcnt: n(m.memoryEvents?.oom),
      cache: n(mem?.file),
      rss: n(mem?.anon),
      totalInactiveFile: n(mem?.inactiveFile),
      swapUsage: n(mem?.swapUsage),
      swapLimit: n(mem?.swapLimit),
      raw: mem ? raw : {},
    },
    blkio: (m.io?.usage ?? []).flatMap((e) => [
      { op: "read", major: n(e.major), minor: n(e.minor), value: n(e.rbytes), kind: "bytes" as const },
      { op: "write", major: n(e.major), minor: n(e.minor), value: n(e.wbytes), kind: "bytes" as const },
    ]),
    ...(m.memoryEvents ? { oomKills: n(m.memoryEvents.oomKill) } : {}),
  };
}

/** Either version's metrics → TaskStats. */
export function statsFromMetrics(m: CgroupMetrics, read: Date): TaskStats {
  return m.version === 1 ? statsFromCgroupsV1(m.v1, read) : statsFromCgroupsV2(m.v2, read);
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
