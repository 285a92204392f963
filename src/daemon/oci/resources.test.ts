import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { type SpecOpt } from "./spec-opt.js";
import { withBlkio, withCpu, withCpuRealtime, withMemoryLimit, withMemoryTuning, withPidsLimit } from "./resources.js";
import { assertInvalid, build } from "./testdata/spec-assert.js";

describe("withMemoryLimit", () => {
  const MiB = 1024 * 1024;
  const cases: Array<[string, SpecOpt, object]> = [
    ["limit only: swap defaults to twice the limit", withMemoryLimit(512 * MiB), { limit: 512 * MiB, swap: 1024 * MiB }],
    ["explicit swap", withMemoryLimit(512 * MiB, 768 * MiB), { limit: 512 * MiB, swap: 768 * MiB }],
    ["swap equal to limit (no swap)", withMemoryLimit(512 * MiB, 512 * MiB), { limit: 512 * MiB, swap: 512 * MiB }],
    ["swap -1: unlimited, not written", withMemoryLimit(512 * MiB, -1), { limit: 512 * MiB }],
    ["exactly 6MB", withMemoryLimit(6 * MiB), { limit: 6 * MiB, swap: 12 * MiB }],
    ["no limit", withMemoryLimit(0), {}],
    ["no swap accounting: limit only", withMemoryLimit(512 * MiB, 0, { swapLimit: false }), { limit: 512 * MiB }],
  ];
  for (const [name, opt, want] of cases) {
    it(name, () => assert.deepEqual(build(opt).linux?.resources?.memory, want));
  }

  it("a later call replaces an earlier one", () => {
    assert.deepEqual(build(withMemoryLimit(512 * MiB), withMemoryLimit(0)).linux?.resources?.memory, {});
  });

  const errors: Array<[string, () => unknown, string]> = [
    ["below 6MB", () => withMemoryLimit(6 * MiB - 1), "Minimum memory limit allowed is 6MB"],
    ["negative", () => withMemoryLimit(-1), "Minimum memory limit allowed is 6MB"],
    ["swap below limit", () => withMemoryLimit(512 * MiB, 256 * MiB), "Minimum memoryswap limit should be larger than memory limit, see usage"],
    ["swap without limit", () => withMemoryLimit(0, 256 * MiB), "You should always set the Memory limit when using Memoryswap limit, see usage"],
    ["fractional bytes", () => withMemoryLimit(7e6 + 0.5), "memory limit must be an integer, got 7000000.5"],
  ];
  for (const [name, fn, message] of errors) {
    it(`refuses ${name}`, () => assertInvalid(fn, message));
  }
});

describe("withCpu", () => {
  const cases: Array<[string, SpecOpt, object]> = [
    ["--cpus 1.5", withCpu({ nanoCpus: 1_500_000_000 }), { period: 100000, quota: 150000 }],
    ["--cpus 0.01", withCpu({ nanoCpus: 10_000_000 }), { period: 100000, quota: 1000 }],
    ["--cpus truncates like int64 division", withCpu({ nanoCpus: 1_234_567_891 }), { period: 100000, quota: 123456 }],
    ["huge nanoCpus stays exact", withCpu({ nanoCpus: 128_000_000_000 }), { period: 100000, quota: 12_800_000 }],
    ["shares", withCpu({ shares: 512 }), { shares: 512 }],
    ["quota and period", withCpu({ quota: 50000, period: 200000 }), { quota: 50000, period: 200000 }],
    ["quota -1 (unlimited)", withCpu({ quota: -1 }), { quota: -1 }],
    ["cpusets", withCpu({ cpusetCpus: "0-2,4", cpusetMems: "0" }), { cpus: "0-2,4", mems: "0" }],
    ["nanoCpus within numCpus", withCpu({ nanoCpus: 2e9 }, { numCpus: 2 }), { period: 100000, quota: 200000 }],
  ];
  for (const [name, opt, want] of cases) {
    it(name, () => assert.deepEqual(build(opt).linux?.resources?.cpu, want));
  }

  const errors: Array<[string, () => unknown, string]> = [
    ["negative shares", () => withCpu({ shares: -1 }), "shares: invalid argument"],
    ["nanoCpus with period", () => withCpu({ nanoCpus: 1e9, period: 100000 }), "Conflicting options: Nano CPUs and CPU Period cannot both be set"],
    ["nanoCpus with quota", () => withCpu({ nanoCpus: 1e9, quota: 50000 }), "Conflicting options: Nano CPUs and CPU Quota cannot both be set"],
    ["more CPUs than the host has", () => withCpu({ nanoCpus: 3e9 }, { numCpus: 2 }), "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"],
    ["negative nanoCpus with numCpus", () => withCpu({ nanoCpus: -1 }, { numCpus: 4 }), "Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"],
    ["negative nanoCpus", () => withCpu({ nanoCpus: -1 }), "Range of CPUs is from 0.01 upwards; NanoCPUs can not be negative"],
    ["period below 1ms", () => withCpu({ period: 999 }), "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"],
    ["period above 1s", () => withCpu({ period: 1_000_001 }), "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"],
    ["quota below 1ms", () => withCpu({ quota: 999 }), "CPU cfs quota can not be less than 1ms (i.e. 1000)"],
    ["bad cpuset cpus", () => withCpu({ cpusetCpus: "0-" }), "Invalid value 0- for cpuset cpus: invalid format: 0-"],
    ["reversed cpuset range", () => withCpu({ cpusetCpus: "3-1" }), "Invalid value 3-1 for cpuset cpus: invalid format: 3-1"],
    ["bad cpuset mems", () => withCpu({ cpusetMems: "a" }), "Invalid value a for cpuset mems: invalid format: a"],
    ["fractional quota", () => withCpu({ quota: 1000.5 }), "CPU quota must be an integer, got 1000.5"],
  ];
  for (const [name, fn, message] of errors) {
    it(`refuses ${name}`, () => assertInvalid(fn, message));
  }
});

describe("withPidsLimit", () => {
  const cases: Array<[number, number]> = [
    [100, 100],
    [0, -1],
    [-5, -1],
  ];
  for (const [input, want] of cases) {
    it(`${input} → ${want}`, () => assert.deepEqual(build(withPidsLimit(input)).linux?.resources?.pids, { limit: want }));
  }
  it("refuses a fraction", () => assertInvalid(() => withPidsLimit(1.5), "pids limit must be an integer, got 1.5"));
});

describe("withMemoryTuning", () => {
  it("reservation, swappiness and the OOM killer switch", () => {
    const s = build(withMemoryLimit(64 << 20), withMemoryTuning({ reservation: 32 << 20, swappiness: 0, oomKillDisable: true }, 64 << 20));
    assert.deepEqual(s.linux?.resources?.memory, { limit: 64 << 20, swap: 128 << 20, reservation: 32 << 20, swappiness: 0, disableOOMKiller: true });
  });

  it("-1 swappiness and zeros leave the kernel's values", () => {
    assert.deepEqual(build(withMemoryTuning({ swappiness: -1, reservation: 0 })).linux?.resources?.memory, {});
  });

  it("refuses what dockerd refuses", () => {
    assertInvalid(() => withMemoryTuning({ reservation: 1 << 20 }), "Minimum memory reservation allowed is 6MB");
    assertInvalid(() => withMemoryTuning({ reservation: 64 << 20 }, 32 << 20), "Minimum memory limit can not be less than memory reservation limit, see usage");
    assertInvalid(() => withMemoryTuning({ swappiness: 101 }), "Invalid value: 101, valid memory swappiness range is 0-100");
  });
});

describe("withBlkio", () => {
  const host = { weight: true, weightDevice: true };
  it("weight and per-device weights", () => {
    const s = build(withBlkio({ weight: 300, weightDevices: [{ major: 8, minor: 0, weight: 200 }] }, host));
    assert.deepEqual(s.linux?.resources?.blockIO, { weight: 300, weightDevice: [{ major: 8, minor: 0, weight: 200 }] });
    assert.equal(build(withBlkio({}, host)).linux?.resources?.blockIO, undefined);
  });

  it("refuses a weight out of range", () => {
    assertInvalid(() => withBlkio({ weight: 5 }, host), "Range of blkio weight is from 10 to 1000");
    assertInvalid(() => withBlkio({ weightDevices: [{ major: 8, minor: 0, weight: 1001 }] }, host), "invalid weight for device: 1001");
  });

  it("refuses, rather than discards as dockerd does, a weight the host's cgroup cannot take", () => {
    assertInvalid(() => withBlkio({ weight: 300 }, { weight: false }), /^Your kernel does not support Block I\/O weight/);
    assertInvalid(() => withBlkio({ weightDevices: [{ major: 8, minor: 0, weight: 200 }] }, { weightDevice: false }), /^Your kernel does not support Block I\/O weight_device/);
    assert.doesNotThrow(() => withBlkio({ weight: 0 }, { weight: false }));
  });
});

describe("withCpuRealtime", () => {
  it("sets the period and runtime", () => {
    assert.deepEqual(build(withCpuRealtime({ period: 1_000_000, runtime: 950_000 }, { realtime: true })).linux?.resources?.cpu, { realtimePeriod: 1_000_000, realtimeRuntime: 950_000 });
    assert.equal(build(withCpuRealtime({})).linux?.resources?.cpu, undefined);
  });

  it("refuses what dockerd refuses", () => {
    assertInvalid(() => withCpuRealtime({ period: 1000 }, { realtime: false }), "Your kernel does not support CPU real-time scheduler");
    assertInvalid(() => withCpuRealtime({ period: 1000, runtime: 2000 }), "cpu real-time runtime cannot be higher than cpu real-time period");
  });
});
