import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  RUNC_DEFAULT_DEVICES,
  defaultSpec,
  isDefaultMount,
} from "./default-spec.js";

// Expected values are written out in full (not imported) so a change to a default is a visible
// test change. Source: moby v20.10.27 oci/defaults.go, oci/caps/defaults.go, daemon/oci_linux.go.
const dockerCaps = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

const expected = {
  ociVersion: "1.0.2-dev",
  process: {
    user: { uid: 0, gid: 0 },
    env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    cwd: "/",
    capabilities: { bounding: dockerCaps, effective: dockerCaps, permitted: dockerCaps },
  },
  root: { path: "rootfs" },
  mounts: [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid", "noexec", "nodev"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"],
    },
  ],
  linux: {
    maskedPaths: [
      "/proc/asound",
      "/proc/acpi",
      "/proc/kcore",
      "/proc/keys",
      "/proc/latency_stats",
      "/proc/timer_list",
      "/proc/timer_stats",
      "/proc/sched_debug",
      "/proc/scsi",
      "/sys/firmware",
      "/sys/devices/virtual/powercap",
    ],
    readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    namespaces: [{ type: "mount" }, { type: "network" }, { type: "uts" }, { type: "pid" }, { type: "ipc" }],
    devices: [],
    resources: {
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 5, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 9, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 8, access: "rwm" },
        { allow: true, type: "c", major: 5, minor: 0, access: "rwm" },
        { allow: true, type: "c", major: 5, minor: 1, access: "rwm" },
        { allow: false, type: "c", major: 10, minor: 229, access: "rwm" },
      ],
    },
  },
};

describe("defaultSpec", () => {
  it("is dockerd 20.10's default Linux spec, field for field", () => {
    assert.deepEqual(defaultSpec(), expected);
  });

  it("serialises to the same JSON (no undefined-valued keys, no inheritable/ambient/seccomp)", () => {
    const json = JSON.parse(JSON.stringify(defaultSpec())) as unknown;
    assert.deepEqual(json, expected);
    const caps = defaultSpec().process?.capabilities ?? {};
    assert.deepEqual(Object.keys(caps).sort(), ["bounding", "effective", "permitted"]);
    assert.equal(defaultSpec().linux?.seccomp, undefined);
  });

  it("returns a fresh object each call, so options can mutate it", () => {
    const a = defaultSpec();
    a.process?.capabilities?.bounding?.push("CAP_SYS_ADMIN");
    a.mounts?.[0]?.options?.push("ro");
    a.linux?.maskedPaths?.pop();
    assert.deepEqual(defaultSpec(), expected);
  });

  it("exports the lists it is built from, frozen", () => {
    assert.deepEqual([...DEFAULT_CAPABILITIES], dockerCaps);
    assert.deepEqual([...DEFAULT_MASKED_PATHS], expected.linux.maskedPaths);
    assert.deepEqual([...DEFAULT_READONLY_PATHS], expected.linux.readonlyPaths);
    assert.ok(Object.isFrozen(DEFAULT_CAPABILITIES));
    assert.throws(() => (DEFAULT_CAPABILITIES as string[]).push("CAP_SYS_ADMIN"), TypeError);
  });
});

describe("isDefaultMount", () => {
  const cases: Array<[string, { destination: string; type?: string; source?: string }, boolean]> = [
    ["default /proc", { destination: "/proc", type: "proc", source: "proc" }, true],
    ["default /dev/shm", { destination: "/dev/shm", type: "tmpfs", source: "shm" }, true],
    ["a user tmpfs at /dev/shm", { destination: "/dev/shm", type: "tmpfs", source: "tmpfs" }, false],
    ["a user bind at /proc", { destination: "/proc", type: "bind", source: "/x" }, false],
    ["an unrelated mount", { destination: "/data", type: "bind", source: "/data" }, false],
  ];
  for (const [name, mount, want] of cases) {
    it(name, () => assert.equal(isDefaultMount(mount), want));
  }
});

describe("RUNC_DEFAULT_DEVICES", () => {
  it("lists the nodes runc 1.1 creates, 0666 root-owned", () => {
    assert.deepEqual(
      RUNC_DEFAULT_DEVICES.map((d) => [d.path, d.type, d.major, d.minor, d.fileMode, d.uid, d.gid]),
      [
        ["/dev/null", "c", 1, 3, 0o666, 0, 0],
        ["/dev/random", "c", 1, 8, 0o666, 0, 0],
        ["/dev/full", "c", 1, 7, 0o666, 0, 0],
        ["/dev/tty", "c", 5, 0, 0o666, 0, 0],
        ["/dev/zero", "c", 1, 5, 0o666, 0, 0],
        ["/dev/urandom", "c", 1, 9, 0o666, 0, 0],
      ],
    );
  });

  it("are all allowed by docker's rules except /dev/full, which runc's own appended rule allows", () => {
    const rules = defaultSpec().linux?.resources?.devices ?? [];
    const allowedByDocker = RUNC_DEFAULT_DEVICES.filter((d) =>
      rules.some((r) => r.allow && r.type === d.type && r.major === d.major && r.minor === d.minor),
    ).map((d) => d.path);
    assert.deepEqual(allowedByDocker, ["/dev/null", "/dev/random", "/dev/tty", "/dev/zero", "/dev/urandom"]);
  });
});
