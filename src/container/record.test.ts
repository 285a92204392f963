import { test } from "node:test";
import assert from "node:assert/strict";
import {
  containerConfig,
  entrypointAndArgs,
  generateContainerId,
  hostConfig,
  isValidContainerId,
  newContainerRecord,
} from "./record.js";
import { decodeContainerRecord } from "./record-decode.js";
import { createState } from "./state.js";
import { fakeClock } from "./testdata/clock.js";

test("generateContainerId: 64 lowercase hex digits, all different", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const id = generateContainerId();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(isValidContainerId(id), true);
    seen.add(id);
  }
  assert.equal(seen.size, 500);
});

test("generateContainerId draws again when the short ID would be all digits", () => {
  const draws = [Buffer.alloc(32, 0x12), Buffer.alloc(32, 0x1a)];
  let calls = 0;
  const id = generateContainerId((n) => {
    assert.equal(n, 32);
    return draws[calls++]!;
  });
  assert.equal(calls, 2);
  assert.equal(id, "1a".repeat(32));
});

test("isValidContainerId rejects anything but 64 lowercase hex digits", () => {
  for (const bad of ["", "abc", "A".repeat(64), "g".repeat(64), "a".repeat(63), "a".repeat(65), "../" + "a".repeat(61)]) {
    assert.equal(isValidContainerId(bad), false, bad);
  }
});

test("entrypointAndArgs: the entrypoint runs with cmd as arguments, else cmd alone", () => {
  assert.deepEqual(entrypointAndArgs({ entrypoint: ["/init", "-v"], cmd: ["nginx", "-g"] }), {
    path: "/init",
    args: ["-v", "nginx", "-g"],
  });
  assert.deepEqual(entrypointAndArgs({ entrypoint: [], cmd: ["sh", "-c", "true"] }), { path: "sh", args: ["-c", "true"] });
  assert.deepEqual(entrypointAndArgs({ entrypoint: [], cmd: [] }), { path: "", args: [] });
});

test("config factories fill defaults and keep what is given", () => {
  const c = containerConfig({ image: "alpine", cmd: ["sh"], tty: true, labels: { a: "b" } });
  assert.equal(c.image, "alpine");
  assert.deepEqual(c.cmd, ["sh"]);
  assert.equal(c.tty, true);
  assert.equal(c.openStdin, false);
  assert.deepEqual(c.env, []);
  assert.equal(c.healthcheck, undefined);
  const h = hostConfig({ autoRemove: true, resources: { memory: 1 << 20 } });
  assert.equal(h.autoRemove, true);
  assert.equal(h.resources.memory, 1 << 20);
  assert.equal(h.resources.nanoCpus, 0);
  assert.deepEqual(h.restartPolicy, { name: "no", maximumRetryCount: 0 });
  assert.equal(h.networkMode, "default");
});

test("newContainerRecord: fresh state, resolved path/args, created now, snapshot key defaults to the ID", () => {
  const clock = fakeClock();
  const r = newContainerRecord({
    name: "/web",
    config: containerConfig({ image: "nginx", entrypoint: ["/docker-entrypoint.sh"], cmd: ["nginx"] }),
    hostConfig: hostConfig(),
    imageId: "sha256:" + "c".repeat(64),
    driver: "overlayfs",
    now: clock.now,
  });
  assert.equal(isValidContainerId(r.id), true);
  assert.equal(r.rootfsSnapshotKey, r.id);
  assert.equal(r.created, clock.now().toISOString());
  assert.equal(r.path, "/docker-entrypoint.sh");
  assert.deepEqual(r.args, ["nginx"]);
  assert.equal(r.restartCount, 0);
  assert.equal(r.hasBeenStartedBefore, false);
  assert.deepEqual(r.state, createState({ id: r.id, now: clock.now }).snapshot());
  assert.equal(createState({ id: r.id, now: clock.now, snapshot: r.state }).status(), "created");
});

function sampleRecord() {
  const clock = fakeClock();
  const r = newContainerRecord({
    name: "/web",
    config: containerConfig({
      image: "nginx",
      cmd: ["nginx"],
      healthcheck: { test: ["CMD", "true"], interval: 1000, timeout: 500, retries: 2, startPeriod: 0 },
      stopSignal: "SIGQUIT",
      stopTimeout: 5,
    }),
    hostConfig: hostConfig({ restartPolicy: { name: "on-failure", maximumRetryCount: 3 }, init: true }),
    imageId: "sha256:" + "c".repeat(64),
    driver: "overlayfs",
    now: clock.now,
  });
  const s = createState({ id: r.id, now: clock.now });
  s.setRunning(undefined, { pid: 10 }, true);
  s.initHealth();
  s.recordProbeResult({ start: clock.now(), end: clock.now(), exitCode: 0, output: "ok" }, { retries: 2, startPeriodMs: 0 });
  r.state = s.snapshot();
  return r;
}

test("decodeContainerRecord accepts what we write, through JSON", () => {
  const r = sampleRecord();
  assert.deepEqual(decodeContainerRecord(JSON.parse(JSON.stringify(r))), r);
});

test("decodeContainerRecord keeps the spec options (devices, ulimits, namespaces, tuning)", () => {
  const r = sampleRecord();
  Object.assign(r.hostConfig, {
    privileged: true,
    devices: [{ pathOnHost: "/dev/null", pathInContainer: "/dev/mynull", cgroupPermissions: "rw" }],
    deviceCgroupRules: ["c 1:3 r"],
    ulimits: [{ name: "nofile", soft: 1024, hard: 2048 }],
    shmSize: 1 << 27,
    sysctls: { "kernel.shmmax": "1" },
    pidMode: "host", ipcMode: "none", utsMode: "host",
    groupAdd: ["audio"], oomScoreAdj: -5, cgroupParent: "/p", maskedPaths: [], readonlyPaths: ["/proc/sys"], isolation: "default",
  });
  Object.assign(r.hostConfig.resources, {
    memoryReservation: 1 << 25, memorySwappiness: 0, oomKillDisable: true, blkioWeight: 10,
    blkioWeightDevice: [{ path: "/dev/sda", weight: 20 }], cpuRealtimePeriod: 1000, cpuRealtimeRuntime: 500,
  });
  assert.deepEqual(decodeContainerRecord(JSON.parse(JSON.stringify(r))), r);
  const bad = JSON.parse(JSON.stringify(r));
  bad.hostConfig.ulimits[0].soft = "1";
  assert.throws(() => decodeContainerRecord(bad), /record\.hostConfig\.ulimits\[0\]\.soft: expected a number/);
});

test("decodeContainerRecord keeps the endpoint settings of each network", () => {
  const r = sampleRecord();
  r.networks = {
    app: { aliases: ["web"], ipv4Address: "10.1.0.9", links: ["db:database"], driverOpts: { "com.example": "on" }, linkLocalIPs: ["169.254.8.8"] },
    bridge: { aliases: [] },
  };
  assert.deepEqual(decodeContainerRecord(JSON.parse(JSON.stringify(r))).networks, r.networks);
  assert.throws(() => decodeContainerRecord({ ...JSON.parse(JSON.stringify(r)), networks: { app: { aliases: [], links: "db" } } }), /links/);
});

test("decodeContainerRecord keeps the shim group (absent: a shim of its own)", () => {
  const r = sampleRecord();
  assert.equal(decodeContainerRecord(JSON.parse(JSON.stringify(r))).shimGroup, undefined);
  r.shimGroup = "berth-0123456789abcdef";
  assert.equal(decodeContainerRecord(JSON.parse(JSON.stringify(r))).shimGroup, "berth-0123456789abcdef");
  assert.throws(() => decodeContainerRecord({ ...JSON.parse(JSON.stringify(r)), shimGroup: 3 }), /shimGroup: expected a string/);
});

test("decodeContainerRecord fills defaults for fields an older writer did not have", () => {
  const r = JSON.parse(JSON.stringify(sampleRecord()));
  delete r.config.volumes;
  delete r.config.labels;
  delete r.hostConfig.resources.pidsLimit;
  delete r.hostConfig.securityOpt;
  delete r.restartCount;
  delete r.state.health;
  const d = decodeContainerRecord(r);
  assert.deepEqual(d.config.volumes, []);
  assert.deepEqual(d.config.labels, {});
  assert.deepEqual(d.hostConfig.securityOpt, []);
  assert.equal(d.restartCount, 0);
  assert.equal(d.state.health, null);
});

test("decodeContainerRecord names the first bad field", () => {
  const cases: [string, (r: any) => void, RegExp][] = [
    ["not an object", () => {}, /record: expected an object/],
    ["bad id", (r) => (r.id = "xyz"), /record\.id: expected 64 lowercase hex digits/],
    ["name without slash", (r) => (r.name = "web"), /record\.name/],
    ["missing config", (r) => delete r.config, /record\.config: expected a value/],
    ["image of wrong type", (r) => (r.config.image = 3), /record\.config\.image: expected a string/],
    ["cmd not strings", (r) => (r.config.cmd = ["a", 1]), /record\.config\.cmd\[1\]: expected a string/],
    ["label value not a string", (r) => (r.config.labels = { a: 1 }), /record\.config\.labels\.a/],
    ["unknown restart policy", (r) => (r.hostConfig.restartPolicy.name = "sometimes"), /restartPolicy\.name/],
    ["state flag missing", (r) => delete r.state.running, /record\.state\.running: expected a value/],
    ["bad time", (r) => (r.state.startedAt = "yesterday"), /record\.state\.startedAt: expected an ISO-8601 time/],
    ["bad health status", (r) => (r.state.health.status = "none"), /record\.state\.health\.status/],
    ["bad probe", (r) => (r.state.health.log[0].exitCode = 1.5), /record\.state\.health\.log\[0\]\.exitCode: expected an integer$/],
  ];
  for (const [name, mutate, message] of cases) {
    const r = name === "not an object" ? [] : JSON.parse(JSON.stringify(sampleRecord()));
    mutate(r);
    assert.throws(() => decodeContainerRecord(r), message, name);
  }
});
