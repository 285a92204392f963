import assert from "node:assert/strict";
import { test } from "node:test";

import { containerConfig, hostConfig, newContainerRecord, type HostConfigInit } from "../container/index.js";
import { isBerthError } from "../base/errors.js";
import { buildContainerSpec, cgroupsPathOf, daemonBoundingCapabilities, needsImageUserFiles, type SpecInputs } from "./container-spec.js";
import { KNOWN_CAPABILITIES, withBlkio } from "./oci/index.js";

const ID = "a".repeat(64);

function specOf(hc: HostConfigInit, o: Partial<SpecInputs> & { user?: string; hostname?: string } = {}) {
  const record = newContainerRecord({
    name: "/x",
    config: containerConfig({ image: "busybox", cmd: ["sh"], user: o.user ?? "", hostname: o.hostname ?? "" }),
    hostConfig: hostConfig({ networkMode: "none", ...hc }),
    imageId: "sha256:x",
    driver: "overlayfs",
    now: () => new Date(0),
  });
  record.id = ID;
  record.path = "sh";
  record.args = [];
  return buildContainerSpec({
    record,
    rootfs: { kind: "path", path: "/rootfs" },
    cgroupParent: "berth",
    files: { hosts: "/c/hosts", resolvConf: "/c/resolv.conf", hostname: "/c/hostname" },
    passwd: undefined,
    group: undefined,
    mounts: { binds: [], tmpfs: {} },
    host: { blkioWeight: true, blkioWeightDevice: true, cpuRealtime: true },
    hostDevices: () => [{ path: "/dev/kvm", type: "c", major: 10, minor: 232, fileMode: 0o660, uid: 0, gid: 0 }],
    daemonCapabilities: () => [...KNOWN_CAPABILITIES],
    ...o,
  });
}

test("the defaults: own pid/ipc/uts namespaces, 64 MiB /dev/shm, oom_score_adj 0, the daemon's cgroup parent", () => {
  const s = specOf({});
  assert.deepEqual((s.linux?.namespaces ?? []).map((n) => n.type).sort(), ["ipc", "mount", "network", "pid", "uts"]);
  assert.ok(s.mounts?.find((m) => m.destination === "/dev/shm")?.options?.includes("size=67108864"));
  assert.equal(s.process?.oomScoreAdj, 0);
  assert.equal(s.linux?.cgroupsPath, `/berth/${ID}`);
  assert.equal(s.process?.rlimits, undefined);
  assert.equal(s.annotations, undefined, "no shim group: nothing for the shim to read");
});

test("a container in a shim group carries the annotation the runc v2 shim groups by", () => {
  const record = { ...newContainerRecord({ name: "/x", config: containerConfig({ image: "busybox", cmd: ["sh"] }), hostConfig: hostConfig({ networkMode: "none" }), imageId: "sha256:x", driver: "overlayfs", now: () => new Date(0) }), shimGroup: "berth-g1" };
  const s = specOf({}, { record });
  assert.deepEqual(s.annotations, { "io.containerd.runc.v2.group": "berth-g1" });
});

test("each create option reaches the spec", () => {
  const s = specOf({
    ulimits: [{ name: "nofile", soft: 1024, hard: 2048 }],
    shmSize: 128 << 20,
    sysctls: { "kernel.shmmax": "1000000" },
    pidMode: "host",
    utsMode: "host",
    groupAdd: ["1234"],
    oomScoreAdj: 500,
    cgroupParent: "mine",
    maskedPaths: [],
    readonlyPaths: ["/proc/sys"],
    devices: [{ pathOnHost: "/dev/null", pathInContainer: "/dev/mynull", cgroupPermissions: "rw" }],
    deviceCgroupRules: ["c 10:237 r"],
    resources: { memory: 64 << 20, memoryReservation: 32 << 20, memorySwappiness: 10, oomKillDisable: true, blkioWeight: 300, cpuRealtimePeriod: 1_000_000 },
  });
  assert.deepEqual(s.process?.rlimits, [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 2048 }]);
  assert.ok(s.mounts?.find((m) => m.destination === "/dev/shm")?.options?.includes(`size=${128 << 20}`));
  assert.equal(s.linux?.sysctl?.["kernel.shmmax"], "1000000");
  const types = (s.linux?.namespaces ?? []).map((n) => n.type);
  assert.ok(!types.includes("pid") && !types.includes("uts") && types.includes("ipc"));
  assert.equal(s.hostname, undefined);
  assert.deepEqual(s.process?.user.additionalGids, [0, 1234]);
  assert.equal(s.process?.oomScoreAdj, 500);
  assert.equal(s.linux?.cgroupsPath, `/mine/${ID}`);
  assert.deepEqual(s.linux?.maskedPaths, []);
  assert.deepEqual(s.linux?.readonlyPaths, ["/proc/sys"]);
  assert.deepEqual(s.linux?.devices, [{ path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }]);
  assert.deepEqual(s.linux?.resources?.devices?.slice(-2), [
    { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
    { allow: true, type: "c", major: 10, minor: 237, access: "r" },
  ]);
  assert.deepEqual(s.linux?.resources?.memory, { limit: 64 << 20, swap: 128 << 20, reservation: 32 << 20, swappiness: 10, disableOOMKiller: true });
  assert.deepEqual(s.linux?.resources?.blockIO, { weight: 300 });
  assert.equal(s.linux?.resources?.cpu?.realtimePeriod, 1_000_000);
});

test("privileged: the host's devices and the daemon's capabilities; a --device at its host path adds nothing", () => {
  const s = specOf(
    { privileged: true, capDrop: ["ALL"], devices: [{ pathOnHost: "/dev/null", pathInContainer: "/dev/null", cgroupPermissions: "r" }], deviceCgroupRules: ["c 1:1 r"] },
    { daemonCapabilities: () => ["CAP_CHOWN", "CAP_SYS_ADMIN"] },
  );
  assert.deepEqual(s.process?.capabilities?.bounding, ["CAP_CHOWN", "CAP_SYS_ADMIN"]);
  assert.deepEqual(s.linux?.devices?.map((d) => d.path), ["/dev/kvm"]);
  assert.deepEqual(s.linux?.resources?.devices, [{ allow: true, access: "rwm" }]);
  assert.equal(s.linux?.maskedPaths, undefined);
});

test("refusals reach the caller as invalid-argument", () => {
  const refused = (hc: HostConfigInit, message: RegExp, o: { hostname?: string } = {}) =>
    assert.throws(() => specOf(hc, o), (e: unknown) => isBerthError(e, "invalid-argument") && message.test(e.message));
  refused({ utsMode: "host" }, /^conflicting options: hostname and the UTS mode$/, { hostname: "h" });
  refused({ pidMode: "container:db" }, /^PID mode "container:db" is not supported yet/);
  refused({ ipcMode: "host", sysctls: { "kernel.shmmax": "1" } }, /not allowed in the hosts ipc namespace/);
  assert.throws(() => specOf({ resources: { blkioWeight: 300 } }, { host: { blkioWeight: false, blkioWeightDevice: false, cpuRealtime: true } }), /Block I\/O weight/);
  refused({ groupAdd: ["audio"] }, /^Unable to find group audio$/);
});

test("the image's user files are needed for a named user or a named --group-add only", () => {
  const rec = (user: string, groupAdd?: string[]) =>
    newContainerRecord({ name: "/x", config: containerConfig({ image: "i", user }), hostConfig: hostConfig(groupAdd ? { groupAdd } : {}), imageId: "i", driver: "d", now: () => new Date(0) });
  assert.equal(needsImageUserFiles(rec("")), false);
  assert.equal(needsImageUserFiles(rec("1000:1000", ["5", "6"])), false);
  assert.equal(needsImageUserFiles(rec("nobody")), true);
  assert.equal(needsImageUserFiles(rec("", ["audio"])), true);
});

test("cgroup paths are absolute and clean; the daemon's capabilities come from /proc", () => {
  assert.equal(cgroupsPathOf("berth", ID), `/berth/${ID}`);
  assert.equal(cgroupsPathOf("/a/b/", ID), `/a/b/${ID}`);
  assert.ok(daemonBoundingCapabilities().includes("CAP_CHOWN"));
});

// ---- daemon-wide security (--no-new-privileges, --default-ulimit, AppArmor, --userns-remap) ----

const REMAP = {
  uids: [{ containerID: 0, hostID: 100000, size: 65536 }],
  gids: [{ containerID: 0, hostID: 100000, size: 65536 }],
};

test("--no-new-privileges is every container's default; no-new-privileges=false opts out", () => {
  assert.equal(specOf({}).process?.noNewPrivileges, undefined);
  assert.equal(specOf({}, { security: { noNewPrivileges: true } }).process?.noNewPrivileges, true);
  assert.equal(specOf({ securityOpt: ["no-new-privileges=false"] }, { security: { noNewPrivileges: true } }).process?.noNewPrivileges, undefined);
});

test("--default-ulimit: the defaults reach the spec; the container's own ulimit of a name wins", () => {
  const security = { defaultUlimits: [{ name: "nofile", soft: 1, hard: 2 }, { name: "nproc", soft: 3, hard: 4 }] };
  const rl = (s: ReturnType<typeof specOf>) => Object.fromEntries((s.process?.rlimits ?? []).map((r) => [r.type, [r.soft, r.hard]]));
  assert.deepEqual(rl(specOf({}, { security })), { RLIMIT_NOFILE: [1, 2], RLIMIT_NPROC: [3, 4] });
  assert.deepEqual(rl(specOf({ ulimits: [{ name: "nofile", soft: 10, hard: 20 }] }, { security })), { RLIMIT_NOFILE: [10, 20], RLIMIT_NPROC: [3, 4] });
});

test("AppArmor: no profile field on a host without it; docker-default or unconfined on one with it", () => {
  assert.equal(specOf({}).process?.apparmorProfile, undefined);
  assert.equal(specOf({}, { security: { apparmor: { enabled: false } } }).process?.apparmorProfile, undefined);
  assert.throws(() => specOf({ securityOpt: ["apparmor=docker-default"] }), (e: unknown) => isBerthError(e, "invalid-argument"));
  const on = { apparmor: { enabled: true, isLoaded: () => true } };
  assert.equal(specOf({}, { security: on }).process?.apparmorProfile, "docker-default");
  assert.equal(specOf({ privileged: true }, { security: on }).process?.apparmorProfile, "unconfined");
  assert.equal(specOf({ securityOpt: ["apparmor=custom"] }, { security: on }).process?.apparmorProfile, "custom");
});

test("--userns-remap: a user namespace with the mappings, unless --userns host; privileged needs --userns host", () => {
  const s = specOf({ networkMode: "bridge" }, { security: { remap: REMAP } });
  assert.ok(s.linux?.namespaces?.some((n) => n.type === "user"));
  assert.deepEqual(s.linux?.uidMappings, REMAP.uids);
  assert.deepEqual(s.linux?.gidMappings, REMAP.gids);
  // The default ping range names gids the namespace does not map (EINVAL): narrowed to the mapped ones.
  assert.equal(s.linux?.sysctl?.["net.ipv4.ping_group_range"], "0 65535");
  const host = specOf({ usernsMode: "host" }, { security: { remap: REMAP } });
  assert.ok(!host.linux?.namespaces?.some((n) => n.type === "user"));
  assert.equal(host.linux?.uidMappings, undefined);
  assert.throws(
    () => specOf({ privileged: true }, { security: { remap: REMAP } }),
    (e: unknown) => isBerthError(e, "invalid-argument") && /privileged mode is incompatible with user namespaces/.test((e as Error).message),
  );
  assert.ok(specOf({ privileged: true, usernsMode: "host" }, { security: { remap: REMAP } }).process?.capabilities?.bounding?.includes("CAP_SYS_ADMIN"));
  // Without --userns-remap nothing changes.
  assert.equal(specOf({}).linux?.uidMappings, undefined);
});

/** What probeCgroups reports for a systemd v2 host (cgroups.test.ts). */
const V2_FEATURES = { blkioWeight: true, blkioWeightDevice: false, cpuRealtime: false, swapLimit: true, memorySwappiness: false, oomKillDisable: false };

test("the systemd driver: cgroupsPath slice:berth:id; a cgroup parent must be a slice", () => {
  const s = specOf({}, { cgroupDriver: "systemd", cgroupParent: "system.slice", host: V2_FEATURES });
  assert.equal(s.linux?.cgroupsPath, `system.slice:berth:${ID}`);
  assert.equal(specOf({ cgroupParent: "batch.slice" }, { cgroupDriver: "systemd", cgroupParent: "system.slice" }).linux?.cgroupsPath, `batch.slice:berth:${ID}`);
  assert.throws(() => specOf({ cgroupParent: "/mine" }, { cgroupDriver: "systemd", cgroupParent: "system.slice" }), /valid slice named as "xxx\.slice"/);
});

test("cgroupns private adds a cgroup namespace; host (v1's default) has none", () => {
  const types = (hc: HostConfigInit) => (specOf(hc).linux?.namespaces ?? []).map((n) => n.type);
  assert.ok(types({ cgroupnsMode: "private" }).includes("cgroup"));
  assert.ok(!types({ cgroupnsMode: "host" }).includes("cgroup"));
  assert.ok(!types({}).includes("cgroup"));
});

test("on a v2 host: limits go through linux.resources as runc maps them; v1-only knobs are refused, not dropped", () => {
  const host = V2_FEATURES;
  const s = specOf({ resources: { memory: 64 << 20, memorySwap: 128 << 20, memoryReservation: 32 << 20, cpuShares: 512, nanoCpus: 1.5e9, cpusetCpus: "0", pidsLimit: 50, blkioWeight: 300 } }, { host });
  const r = s.linux?.resources;
  assert.deepEqual(r?.memory, { limit: 64 << 20, swap: 128 << 20, reservation: 32 << 20 });
  assert.deepEqual(r?.cpu, { shares: 512, cpus: "0", period: 100_000, quota: 150_000 });
  assert.deepEqual(r?.pids, { limit: 50 });
  assert.deepEqual(r?.blockIO, { weight: 300 });
  assert.throws(() => specOf({ resources: { memorySwappiness: 10 } }, { host }), /memory swappiness/);
  assert.throws(() => specOf({ resources: { oomKillDisable: true } }, { host }), /OomKillDisable/);
  assert.throws(() => specOf({ resources: { cpuRealtimeRuntime: 1000 } }, { host }), /real-time/);
  // Per-device weights without BFQ: runc 1.1 would skip them silently.
  assert.throws(() => withBlkio({ weightDevices: [{ major: 8, minor: 0, weight: 100 }] }, { weightDevice: host.blkioWeightDevice }), /weight_device/);
  // Without swap accounting memory+swap is not written (runc would fail on memory.swap.max).
  assert.equal(specOf({ resources: { memory: 64 << 20 } }, { host: { ...host, swapLimit: false } }).linux?.resources?.memory?.swap, undefined);
});
