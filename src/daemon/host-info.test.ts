import { test } from "node:test";
import assert from "node:assert/strict";
import { cgroupV1Mounts, readHostFacts, warningsOf, type HostReader } from "./host-info.js";

const MOUNTINFO_V1 = [
  "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
  "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
  "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset",
  "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
  "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
  "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
].join("\n");

function reader(files: Record<string, string>, present: string[] = []): HostReader {
  return {
    readFile: async (p) => files[p],
    exists: async (p) => p in files || present.includes(p),
  };
}

test("cgroup v1 controllers by mount point, named hierarchies and cgroup2 left out", () => {
  const m = cgroupV1Mounts(MOUNTINFO_V1);
  assert.equal(m.get("cpu"), "/sys/fs/cgroup/cpu,cpuacct");
  assert.equal(m.get("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
  assert.equal(m.get("memory"), "/sys/fs/cgroup/memory");
  assert.equal(m.has("name=systemd"), false);
  assert.deepEqual([...m.keys()].sort(), ["cpu", "cpuacct", "cpuset", "memory", "pids"]);
});

test("a v1 host with every knob, forwarding and bridge netfilter on: all true, no warnings", async () => {
  const f = await readHostFacts(reader({
    "/proc/self/mountinfo": MOUNTINFO_V1,
    "/proc/sys/net/ipv4/ip_forward": "1\n",
    "/proc/sys/net/bridge/bridge-nf-call-iptables": "1\n",
    "/proc/sys/net/bridge/bridge-nf-call-ip6tables": "1\n",
  }, [
    "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", "/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes",
    "/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us",
    "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu,cpuacct/cpu.shares",
  ]));
  assert.deepEqual(f, {
    cgroupVersion: "1", memoryLimit: true, swapLimit: true, kernelMemoryTCP: true, oomKillDisable: true,
    cpuCfsPeriod: true, cpuCfsQuota: true, cpuShares: true, cpuSet: true, pidsLimit: true,
    ipv4Forwarding: true, bridgeNfIptables: true, bridgeNfIp6tables: true, warnings: [],
  });
});

test("forwarding off, br_netfilter not loaded, no swap accounting: false, with dockerd's warnings", async () => {
  const f = await readHostFacts(reader({ "/proc/self/mountinfo": MOUNTINFO_V1, "/proc/sys/net/ipv4/ip_forward": "0\n" }, [
    "/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us",
    "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu,cpuacct/cpu.shares",
  ]));
  assert.equal(f.ipv4Forwarding, false);
  assert.equal(f.bridgeNfIptables, false);
  assert.equal(f.swapLimit, false);
  assert.deepEqual(f.warnings, [
    "WARNING: No swap limit support", "WARNING: IPv4 forwarding is disabled",
    "WARNING: bridge-nf-call-iptables is disabled", "WARNING: bridge-nf-call-ip6tables is disabled",
  ]);
});

test("a v2 host: version 2 from cgroup.controllers, knobs from the controllers offered", async () => {
  const f = await readHostFacts(reader({
    "/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids\n",
    "/proc/sys/net/ipv4/ip_forward": "1",
    "/proc/sys/net/bridge/bridge-nf-call-iptables": "1",
    "/proc/sys/net/bridge/bridge-nf-call-ip6tables": "1",
  }));
  assert.equal(f.cgroupVersion, "2");
  assert.equal(f.memoryLimit && f.cpuShares && f.cpuSet && f.pidsLimit, true);
  assert.equal(f.oomKillDisable, false);
  assert.deepEqual(f.warnings, [], "no oom-kill-disable warning on v2, as dockerd");
  const bare = await readHostFacts(reader({ "/sys/fs/cgroup/cgroup.controllers": "pids\n" }));
  assert.equal(bare.memoryLimit, false);
  assert.ok(bare.warnings.includes("WARNING: No memory limit support"));
});

test("warnings follow dockerd's order", () => {
  const none = { cgroupVersion: "1" as const, memoryLimit: false, swapLimit: false, kernelMemoryTCP: false, oomKillDisable: false, cpuCfsPeriod: false, cpuCfsQuota: false, cpuShares: false, cpuSet: false, pidsLimit: false, ipv4Forwarding: false, bridgeNfIptables: false, bridgeNfIp6tables: false };
  assert.deepEqual(warningsOf(none).map((w) => w.replace("WARNING: ", "")), [
    "No memory limit support", "No swap limit support", "No oom kill disable support", "No cpu cfs quota support",
    "No cpu cfs period support", "No cpu shares support", "No cpuset support", "IPv4 forwarding is disabled",
    "bridge-nf-call-iptables is disabled", "bridge-nf-call-ip6tables is disabled",
  ]);
});

test("this host, read for real: the version matches /sys/fs/cgroup", async () => {
  const { existsSync, readFileSync } = await import("node:fs");
  const f = await readHostFacts();
  assert.equal(f.cgroupVersion, existsSync("/sys/fs/cgroup/cgroup.controllers") ? "2" : "1");
  assert.equal(f.ipv4Forwarding, readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() === "1");
});
