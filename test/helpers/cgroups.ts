// The host's cgroup version, for tests that assert on cgroup files or cgroup-shaped output: each
// selects what this host is (v1 here, v2 on Debian 11+ / Ubuntu 21.10+ / Fedora), so the suite runs
// unchanged on either. Read the way the daemon reads it (src/daemon/cgroups.ts).
import { cgroupVersionOf } from "../../src/daemon/cgroups.js";

export const HOST_CGROUP_VERSION: 1 | 2 = cgroupVersionOf();

/** node:test `skip` values: false where the test applies, else why it is skipped. */
export const ONLY_V1 = HOST_CGROUP_VERSION === 1 ? false : "cgroup v1 only (this host is cgroup v2)";
export const ONLY_V2 = HOST_CGROUP_VERSION === 2 ? false : "cgroup v2 only (this host is cgroup v1)";

/**
 * A container's own cgroup file as it sees it at /sys/fs/cgroup: v1 mounts each controller's
 * hierarchy (`memory/memory.limit_in_bytes`), v2 the unified one (`memory.max`).
 */
export function cgroupFile(v1: string, v2: string): string {
  return `/sys/fs/cgroup/${HOST_CGROUP_VERSION === 1 ? v1 : v2}`;
}
