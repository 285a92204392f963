import { create, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { cgroupsV2Pb, CGROUPS_V2_METRICS_TYPE_URL } from "../../containerd/index.js";

/**
 * A busybox `sleep` with `--memory 64m --pids-limit 50` on a cgroup v2 host (Debian 12, kernel
 * 6.1), as containerd 1.6's Tasks/Metrics sends it: memory.stat, memory.current/max,
 * memory.swap.*, memory.events, cpu.stat, pids.* and io.stat of the container's cgroup.
 */
export function v2MetricsAny() {
  const m = create(cgroupsV2Pb.MetricsSchema, {
    pids: { current: 3n, limit: 50n },
    cpu: { usageUsec: 41_873n, userUsec: 15_264n, systemUsec: 26_609n, nrPeriods: 0n, nrThrottled: 0n, throttledUsec: 0n },
    memory: {
      anon: 212_992n, file: 1_576_960n, kernelStack: 32_768n, slab: 178_944n, sock: 0n, shmem: 0n,
      fileMapped: 1_122_304n, fileDirty: 0n, fileWriteback: 0n, anonThp: 0n, inactiveAnon: 204_800n,
      activeAnon: 8_192n, inactiveFile: 1_224_704n, activeFile: 352_256n, unevictable: 0n,
      slabReclaimable: 81_920n, slabUnreclaimable: 97_024n, pgfault: 1_386n, pgmajfault: 14n,
      workingsetRefault: 0n, workingsetActivate: 0n, workingsetNodereclaim: 0n, pgrefill: 0n, pgscan: 0n,
      pgsteal: 0n, pgactivate: 86n, pgdeactivate: 0n, pglazyfree: 0n, pglazyfreed: 0n, thpFaultAlloc: 0n,
      thpCollapseAlloc: 0n, usage: 2_125_824n, usageLimit: 67_108_864n, swapUsage: 0n, swapLimit: 67_108_864n,
    },
    io: { usage: [{ major: 254n, minor: 0n, rbytes: 1_142_784n, wbytes: 8_192n, rios: 31n, wios: 2n }] },
    memoryEvents: { low: 0n, high: 0n, max: 0n, oom: 0n, oomKill: 0n },
  });
  return create(AnySchema, { typeUrl: CGROUPS_V2_METRICS_TYPE_URL, value: toBinary(cgroupsV2Pb.MetricsSchema, m) });
}
