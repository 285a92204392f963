// StatsSample → docker's stats JSON (types.StatsJSON), as `docker stats` and dockerode read it:
// cgroup v1's counters, or on a v2 host the subset and names dockerd 20.10 fills there.
import os from "node:os";
import type { StatsSample } from "../daemon/types.js";
import { memoryLimitOrMachine } from "../libcontainerd/index.js";
import { rfc3339Nano, ZERO_TIME } from "./json-time.js";

function cpuJson(s: StatsSample | undefined) {
  if (!s) {
    return {
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    };
  }
  const c = s.stats.cpu;
  return {
    cpu_usage: {
      total_usage: c.totalNs,
      ...(c.perCpuNs.length > 0 ? { percpu_usage: [...c.perCpuNs] } : {}),
      usage_in_kernelmode: c.kernelNs,
      usage_in_usermode: c.userNs,
    },
    system_cpu_usage: s.systemCpuNs,
    online_cpus: s.onlineCpus,
    throttling_data: { periods: c.periods, throttled_periods: c.throttledPeriods, throttled_time: c.throttledTimeNs },
  };
}

const BLKIO_OP = (op: string) => (op === "" ? op : op[0]!.toUpperCase() + op.slice(1).toLowerCase());

/** dockerd's v2 blkio: bytes read and written per device ("read"/"write"); the rest is null. */
function blkioV2(st: StatsSample["stats"]) {
  const bytes = st.blkio.filter((e) => e.kind === "bytes").map((e) => ({ major: e.major, minor: e.minor, op: e.op, value: e.value }));
  return blkioLists(bytes.length > 0 ? bytes : null);
}

/** dockerd's blkio_stats with only the bytes list given (the others null), or all null. */
function blkioLists(serviceBytes: { major: number; minor: number; op: string; value: number }[] | null) {
  return {
    io_service_bytes_recursive: serviceBytes,
    io_serviced_recursive: null,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  };
}

export function statsJson(s: StatsSample, container: { id: string; name: string }, machineMemory = os.totalmem()) {
  const st = s.stats;
  const v2 = st.cgroupVersion === 2;
  const blk = (kind: "bytes" | "ios") =>
    st.blkio.filter((e) => e.kind === kind).map((e) => ({ major: e.major, minor: e.minor, op: BLKIO_OP(e.op), value: e.value }));
  const mem = st.memory;
  return {
    read: rfc3339Nano(s.read),
    preread: s.previous ? rfc3339Nano(s.previous.read) : ZERO_TIME,
    pids_stats: { current: st.pids.current, ...(st.pids.limit > 0 ? { limit: st.pids.limit } : {}) },
    blkio_stats: v2 ? blkioV2(st) : {
      io_service_bytes_recursive: blk("bytes"),
      io_serviced_recursive: blk("ios"),
      io_queue_recursive: [],
      io_service_time_recursive: [],
      io_wait_time_recursive: [],
      io_merged_recursive: [],
      io_time_recursive: [],
      sectors_recursive: [],
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuJson(s),
    precpu_stats: cpuJson(s.previous),
    // v2 has no max usage; its failcnt (memory.events' oom) is omitted at 0, as Go's omitempty does.
    memory_stats: v2
      ? {
        usage: mem.usage,
        stats: { ...mem.raw },
        ...(mem.failcnt > 0 ? { failcnt: mem.failcnt } : {}),
        limit: memoryLimitOrMachine(mem.limit, machineMemory),
      }
      : {
        usage: mem.usage,
        max_usage: mem.maxUsage,
        stats: { ...mem.raw },
        failcnt: mem.failcnt,
        limit: memoryLimitOrMachine(mem.limit, machineMemory),
      },
    name: container.name,
    id: container.id,
  };
}

/** What dockerd sends for a container that is not running: zeros, with its name and ID. */
export function emptyStatsJson(container: { id: string; name: string }) {
  return {
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: blkioLists(null),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuJson(undefined),
    precpu_stats: cpuJson(undefined),
    memory_stats: {},
    name: container.name,
    id: container.id,
  };
}
