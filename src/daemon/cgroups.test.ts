import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CGROUP2_SUPER_MAGIC, cgroupVersionOf, cgroupsPathFor, defaultCgroupParent, hostCgroups, parseExecOpts, probeCgroups,
  resolveCgroupnsMode, runcOptionsFor, type HostFs,
} from "./cgroups.js";

const TMPFS_MAGIC = 0x01021994;

/** A host as files: paths that exist (with contents), and statfs types. */
function fakeFs(files: Record<string, string>, types: Record<string, number>): HostFs {
  return {
    fsType: (p) => types[p],
    read: (p) => files[p],
    exists: (p) => p in files || Object.keys(files).some((f) => f.startsWith(p + "/")),
    list: (p) => [...new Set(Object.keys(files).filter((f) => f.startsWith(p + "/")).map((f) => f.slice(p.length + 1).split("/")[0]!))],
  };
}

/** Debian 12 booted with systemd on cgroup v2 (the unified hierarchy), berthd in system.slice/berth.service. */
const v2Host = (extra: Record<string, string> = {}) => fakeFs({
  "/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
  "/sys/fs/cgroup/system.slice/berth.service/memory.swap.max": "max\n",
  "/proc/self/cgroup": "0::/system.slice/berth.service\n",
  "/run/systemd/system/.keep": "",
  "/sys/block/vda/queue/scheduler": "[mq-deadline] kyber bfq none\n",
  ...extra,
}, { "/sys/fs/cgroup": CGROUP2_SUPER_MAGIC });

/** A v1 (hybrid) host like the one this suite runs on: tmpfs of hierarchies, no systemd. */
const v1Host = () => fakeFs({
  "/proc/cgroups": "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t10\t1\ncpu\t1\t10\t1\nmemory\t4\t170\t1\nnet_cls\t0\t10\t0\npids\t8\t10\t1\n",
  "/sys/fs/cgroup/blkio/blkio.weight": "500",
  "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes": "",
  "/sys/fs/cgroup/memory/memory.swappiness": "60",
  "/sys/fs/cgroup/memory/memory.oom_control": "",
  "/sys/fs/cgroup/unified/cgroup.controllers": "",
}, { "/sys/fs/cgroup": TMPFS_MAGIC });

test("a v2 host with systemd: version 2, the systemd driver by default, its controllers, private cgroupns", () => {
  const h = probeCgroups({ fs: v2Host() });
  assert.equal(h.version, 2);
  assert.equal(h.driver, "systemd");
  assert.deepEqual(h.controllers, ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"]);
  assert.equal(h.defaultCgroupnsMode, "private");
  assert.deepEqual(h.features, {
    blkioWeight: true, blkioWeightDevice: false, cpuRealtime: false, swapLimit: true, memorySwappiness: false, oomKillDisable: false,
  });
  // Asked for cgroupfs, it is cgroupfs (dockerd's --exec-opt native.cgroupdriver=cgroupfs).
  assert.equal(probeCgroups({ fs: v2Host(), execOpts: ["native.cgroupdriver=cgroupfs"] }).driver, "cgroupfs");
  // Per-device weights need BFQ on v2 (runc writes them to io.bfq.weight only).
  assert.equal(probeCgroups({ fs: v2Host({ "/sys/block/vda/queue/scheduler": "mq-deadline kyber [bfq] none\n" }) }).features.blkioWeightDevice, true);
});

test("a v2 host without systemd (a container, an init-less VM): cgroupfs, and systemd asked for is refused at start", () => {
  const noSystemd = fakeFs({ "/sys/fs/cgroup/cgroup.controllers": "cpu memory pids\n", "/proc/self/cgroup": "0::/\n", "/proc/swaps": "" }, { "/sys/fs/cgroup": CGROUP2_SUPER_MAGIC });
  const h = probeCgroups({ fs: noSystemd });
  assert.equal(h.driver, "cgroupfs");
  assert.equal(h.features.blkioWeight, false);
  assert.equal(h.features.swapLimit, true);
  assert.throws(() => probeCgroups({ fs: noSystemd, execOpts: ["native.cgroupdriver=systemd"] }), /needs systemd running/);
});

test("a v1 host: version 1 (the hybrid unified mount does not count), cgroupfs, host cgroupns, v1 files", () => {
  const h = probeCgroups({ fs: v1Host() });
  assert.equal(h.version, 1);
  assert.equal(h.driver, "cgroupfs");
  assert.deepEqual(h.controllers, ["cpuset", "cpu", "memory", "pids"]);
  assert.equal(h.defaultCgroupnsMode, "host");
  assert.deepEqual(h.features, {
    blkioWeight: true, blkioWeightDevice: false, cpuRealtime: false, swapLimit: true, memorySwappiness: true, oomKillDisable: true,
  });
});

test("the version: cgroup2fs magic, else cgroup.controllers when statfs cannot answer", () => {
  assert.equal(cgroupVersionOf("/sys/fs/cgroup", fakeFs({}, { "/sys/fs/cgroup": CGROUP2_SUPER_MAGIC })), 2);
  assert.equal(cgroupVersionOf("/sys/fs/cgroup", fakeFs({ "/sys/fs/cgroup/cgroup.controllers": "" }, {})), 2);
  assert.equal(cgroupVersionOf("/sys/fs/cgroup", fakeFs({ "/sys/fs/cgroup/cgroup.controllers": "" }, { "/sys/fs/cgroup": TMPFS_MAGIC })), 1);
});

test("this host as probed agrees with its /sys/fs/cgroup", async () => {
  const { statfsSync } = await import("node:fs");
  const h = hostCgroups();
  assert.equal(h.version, Number(statfsSync("/sys/fs/cgroup").type) === CGROUP2_SUPER_MAGIC ? 2 : 1);
  assert.ok(h.controllers.includes("memory"));
});

test("exec-opts: only native.cgroupdriver, with cgroupfs or systemd", () => {
  assert.deepEqual(parseExecOpts([]), {});
  assert.deepEqual(parseExecOpts(["native.cgroupdriver=systemd"]), { cgroupDriver: "systemd" });
  assert.deepEqual(parseExecOpts(["Native.CgroupDriver=cgroupfs"]), { cgroupDriver: "cgroupfs" });
  assert.throws(() => parseExecOpts(["native.cgroupdriver=lxc"]), /native\.cgroupdriver option lxc not supported/);
  assert.throws(() => parseExecOpts(["native.umask=normal"]), /unknown exec-opt "native\.umask"/);
  assert.throws(() => parseExecOpts(["systemd"]), /expected key=value/);
});

test("cgroupsPath: /parent/id for cgroupfs, parent:berth:id for systemd (a slice)", () => {
  const id = "f".repeat(64);
  assert.equal(cgroupsPathFor("cgroupfs", "berth", id), `/berth/${id}`);
  assert.equal(cgroupsPathFor("systemd", defaultCgroupParent("systemd", "berth"), id), `system.slice:berth:${id}`);
  assert.equal(cgroupsPathFor("systemd", "my.slice", id, "ns1"), `my.slice:ns1:${id}`);
  assert.throws(() => cgroupsPathFor("systemd", "/mine", id), /should be a valid slice named as "xxx\.slice"/);
  assert.throws(() => cgroupsPathFor("systemd", ".slice", id), /valid slice/);
  assert.equal(defaultCgroupParent("cgroupfs", "berth"), "berth");
  assert.deepEqual(runcOptionsFor("systemd"), { systemdCgroup: true });
  assert.equal(runcOptionsFor("cgroupfs"), undefined);
});

test("cgroupns: the container's own mode, else host for privileged on v1, else the host's default", () => {
  const v1 = { version: 1 as const, defaultCgroupnsMode: "host" as const };
  const v2 = { version: 2 as const, defaultCgroupnsMode: "private" as const };
  assert.equal(resolveCgroupnsMode("", false, v1), "host");
  assert.equal(resolveCgroupnsMode(undefined, false, v2), "private");
  assert.equal(resolveCgroupnsMode("", true, v2), "private");
  assert.equal(resolveCgroupnsMode("", true, { ...v1, defaultCgroupnsMode: "private" }), "host");
  assert.equal(resolveCgroupnsMode("private", false, v1), "private");
  assert.equal(resolveCgroupnsMode("host", false, v2), "host");
  assert.throws(() => resolveCgroupnsMode("shared", false, v2), /invalid cgroup namespace mode: shared/);
});
