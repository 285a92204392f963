/** cgroup resources: memory, CPU, pids. */
import { errInvalidArgument } from "../../base/errors.js";
import { atoi } from "../../base/go-parse.js";
import { type SpecOpt, requireInteger, resourcesOf } from "./spec-opt.js";

/** dockerd's floor: not a kernel limit, room for the container's own start-up. */
const MIN_MEMORY = 6_291_456;

export interface HostMemoryFeatures {
  /** memory.memsw.* exists (swap accounting on). Without it dockerd limits memory only. */
  swapLimit?: boolean;
}

/**
 * Memory limit in bytes (0: none) and memory+swap in bytes: undefined or 0 means twice the
 * limit (dockerd's default), -1 unlimited swap. Validated as dockerd does.
 */
export function withMemoryLimit(limit: number, swap?: number, host: HostMemoryFeatures = {}): SpecOpt {
  requireInteger(limit, "memory limit");
  const memorySwap = swap ?? 0;
  requireInteger(memorySwap, "memory+swap limit");
  if (limit !== 0 && limit < MIN_MEMORY) throw errInvalidArgument("Minimum memory limit allowed is 6MB");
  if (limit > 0 && memorySwap > 0 && memorySwap < limit) {
    throw errInvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage");
  }
  if (limit === 0 && memorySwap > 0) {
    throw errInvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage");
  }
  let effectiveSwap = limit > 0 && memorySwap === 0 ? limit * 2 : memorySwap;
  if (host.swapLimit === false) effectiveSwap = -1;
  return (spec) => {
    const resources = resourcesOf(spec);
    const memory = (resources.memory ??= {});
    if (limit > 0) memory.limit = limit;
    else delete memory.limit;
    // dockerd writes swap only when positive; -1 (unlimited) is the cgroup's default.
    if (effectiveSwap > 0) memory.swap = effectiveSwap;
    else delete memory.swap;
  };
}

export interface CpuOptions {
  /** docker --cpus × 1e9. */
  nanoCpus?: number;
  shares?: number;
  /** µs per period; -1 unlimited. */
  quota?: number;
  /** µs. */
  period?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
}

export interface HostCpuFeatures {
  /** Online CPUs, for dockerd's range check of nanoCpus; skipped when not given. */
  numCpus?: number;
}

/** The CFS period dockerd uses for --cpus: 100 ms. */
const NANO_CPUS_PERIOD = 100_000;

/** moby `parsers.ParseUintList` syntax: "0-3,5,7". */
function validateCpuList(value: string, what: "cpus" | "mems"): void {
  if (value === "") return;
  const bad = () =>
    errInvalidArgument(`Invalid value ${value} for cpuset ${what}: invalid format: ${value}`);
  for (const part of value.split(",")) {
    if (!part.includes("-")) {
      if (atoi(part) === undefined) throw bad();
      continue;
    }
    const dash = part.indexOf("-");
    const lo = atoi(part.slice(0, dash));
    const hi = atoi(part.slice(dash + 1));
    if (lo === undefined || hi === undefined || hi < lo) throw bad();
  }
}

/** CPU shares, CFS quota/period, --cpus and cpusets, validated as dockerd does. */
export function withCpu(cpu: CpuOptions, host: HostCpuFeatures = {}): SpecOpt {
  const nanoCpus = cpu.nanoCpus ?? 0;
  const period = cpu.period ?? 0;
  const quota = cpu.quota ?? 0;
  requireInteger(nanoCpus, "NanoCPUs");
  requireInteger(period, "CPU period");
  requireInteger(quota, "CPU quota");
  if (cpu.shares !== undefined) {
    requireInteger(cpu.shares, "CPU shares");
    if (cpu.shares < 0) throw errInvalidArgument("shares: invalid argument");
  }
  if (nanoCpus > 0 && period > 0) {
    throw errInvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  }
  if (nanoCpus > 0 && quota > 0) {
    throw errInvalidArgument("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  }
  if (host.numCpus !== undefined) {
    if (nanoCpus < 0 || nanoCpus > host.numCpus * 1e9) {
      throw errInvalidArgument(
        `Range of CPUs is from 0.01 to ${host.numCpus}.00, as there are only ${host.numCpus} CPUs available`,
      );
    }
  } else if (nanoCpus < 0) {
    throw errInvalidArgument("Range of CPUs is from 0.01 upwards; NanoCPUs can not be negative");
  }
  if (period !== 0 && (period < 1000 || period > 1_000_000)) {
    throw errInvalidArgument("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  }
  if (quota > 0 && quota < 1000) throw errInvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  validateCpuList(cpu.cpusetCpus ?? "", "cpus");
  validateCpuList(cpu.cpusetMems ?? "", "mems");

  return (spec) => {
    const c = (resourcesOf(spec).cpu ??= {});
    if (cpu.shares !== undefined) c.shares = cpu.shares;
    if (cpu.cpusetCpus) c.cpus = cpu.cpusetCpus;
    if (cpu.cpusetMems) c.mems = cpu.cpusetMems;
    if (nanoCpus > 0) {
      c.period = NANO_CPUS_PERIOD;
      // Integer arithmetic as dockerd's int64 (BigInt: nanoCpus × period can exceed 2^53).
      c.quota = Number((BigInt(nanoCpus) * BigInt(NANO_CPUS_PERIOD)) / 1_000_000_000n);
    }
    if (period !== 0) c.period = period;
    if (quota !== 0) c.quota = quota;
  };
}

/** --pids-limit: 0 or negative means unlimited, written as -1 (what runc needs to lift a limit). */
export function withPidsLimit(limit: number): SpecOpt {
  requireInteger(limit, "pids limit");
  return (spec) => {
    resourcesOf(spec).pids = { limit: limit <= 0 ? -1 : limit };
  };
}

export interface MemoryTuning {
  /** Soft limit in bytes; 0 is none. */
  reservation?: number;
  /** 0–100; undefined or -1 leaves the kernel's. */
  swappiness?: number;
  oomKillDisable?: boolean;
}

/**
 * --memory-reservation, --memory-swappiness, --oom-kill-disable, validated as dockerd does
 * against the container's memory limit (`limit`, 0 for none).
 */
export interface HostMemoryTuning {
  /** memory.swappiness exists (cgroup v1 only). */
  swappiness?: boolean | undefined;
  /** memory.oom_control exists (cgroup v1 only). */
  oomKillDisable?: boolean | undefined;
}

export function withMemoryTuning(t: MemoryTuning, limit = 0, host: HostMemoryTuning = {}): SpecOpt {
  const reservation = t.reservation ?? 0;
  requireInteger(reservation, "memory reservation");
  if (reservation !== 0 && reservation < MIN_MEMORY) throw errInvalidArgument("Minimum memory reservation allowed is 6MB");
  if (limit > 0 && reservation > 0 && limit < reservation) {
    throw errInvalidArgument("Minimum memory limit can not be less than memory reservation limit, see usage");
  }
  const swappiness = t.swappiness ?? -1;
  requireInteger(swappiness, "memory swappiness");
  if (swappiness !== -1 && (swappiness < 0 || swappiness > 100)) {
    throw errInvalidArgument(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  }
  // dockerd discards both with a warning where the cgroup lacks them (any v2 host); berth refuses.
  if (swappiness !== -1 && host.swappiness === false) {
    throw errInvalidArgument("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted (cgroup v2 has none; berth does not discard it as dockerd does)");
  }
  if (t.oomKillDisable && host.oomKillDisable === false) {
    throw errInvalidArgument("Your kernel does not support OomKillDisable (cgroup v2 has none; berth does not discard it as dockerd does)");
  }
  return (spec) => {
    const memory = (resourcesOf(spec).memory ??= {});
    if (reservation > 0) memory.reservation = reservation;
    if (swappiness !== -1) memory.swappiness = swappiness;
    if (t.oomKillDisable) memory.disableOOMKiller = true;
  };
}

export interface BlkioOptions {
  /** 10–1000; 0 leaves the kernel's. */
  weight?: number;
  /** Weights of single devices, the device already resolved to its numbers. */
  weightDevices?: readonly { major: number; minor: number; weight: number }[];
}

export interface HostBlkioFeatures {
  /** blkio.weight exists (a CFQ/BFQ scheduler); dockerd discards the weight without it. */
  weight?: boolean;
  weightDevice?: boolean;
}

/**
 * --blkio-weight and --blkio-weight-device. Where the host's cgroup has no weight file dockerd
 * discards the setting with a warning; berth refuses it instead, so it is never silently lost.
 */
export function withBlkio(o: BlkioOptions, host: HostBlkioFeatures = {}): SpecOpt {
  const weight = o.weight ?? 0;
  const devices = o.weightDevices ?? [];
  requireInteger(weight, "blkio weight");
  if (weight !== 0 && host.weight === false) {
    throw errInvalidArgument("Your kernel does not support Block I/O weight or the cgroup is not mounted (berth does not discard it as dockerd does)");
  }
  if (weight !== 0 && (weight < 10 || weight > 1000)) throw errInvalidArgument("Range of blkio weight is from 10 to 1000");
  if (devices.length > 0 && host.weightDevice === false) {
    throw errInvalidArgument("Your kernel does not support Block I/O weight_device or the cgroup is not mounted (berth does not discard it as dockerd does)");
  }
  for (const d of devices) {
    if (!Number.isSafeInteger(d.weight) || d.weight < 10 || d.weight > 1000) {
      throw errInvalidArgument(`invalid weight for device: ${d.weight}`);
    }
  }
  const copy = devices.map((d) => ({ ...d }));
  return (spec) => {
    if (weight === 0 && copy.length === 0) return;
    const blockIO = (resourcesOf(spec).blockIO ??= {});
    if (weight !== 0) blockIO.weight = weight;
    if (copy.length > 0) blockIO.weightDevice = copy.map((d) => ({ ...d }));
  };
}

export interface HostCpuRealtime {
  /** cpu.rt_runtime_us exists (CONFIG_RT_GROUP_SCHED). */
  realtime?: boolean;
}

/** --cpu-rt-period / --cpu-rt-runtime in µs (0: the parent's), validated as dockerd does. */
export function withCpuRealtime(o: { period?: number; runtime?: number }, host: HostCpuRealtime = {}): SpecOpt {
  const period = o.period ?? 0;
  const runtime = o.runtime ?? 0;
  requireInteger(period, "CPU real-time period");
  requireInteger(runtime, "CPU real-time runtime");
  if ((period !== 0 || runtime !== 0) && host.realtime === false) {
    throw errInvalidArgument("Your kernel does not support CPU real-time scheduler");
  }
  if (period !== 0 && runtime !== 0 && runtime > period) {
    throw errInvalidArgument("cpu real-time runtime cannot be higher than cpu real-time period");
  }
  return (spec) => {
    if (period === 0 && runtime === 0) return;
    const cpu = (resourcesOf(spec).cpu ??= {});
    if (period !== 0) cpu.realtimePeriod = period;
    if (runtime !== 0) cpu.realtimeRuntime = runtime;
  };
}
