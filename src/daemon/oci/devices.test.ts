import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { LinuxDevice } from "../../containerd/oci/spec-types.js";
import { KNOWN_CAPABILITIES } from "./capabilities.js";
import { defaultSpec } from "./default-spec.js";
import { isValidDeviceMode, parseDeviceCgroupRule, withDeviceCgroupRules, withDevices, withPrivileged } from "./devices.js";
import { withCapabilities } from "./capabilities.js";
import { withMaskedPaths } from "./security.js";
import { withUser } from "./user.js";
import { assertInvalid, build, caps, mountAt } from "./testdata/spec-assert.js";

const defaultRules = defaultSpec().linux?.resources?.devices ?? [];
const fuse: LinuxDevice = { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 };
const mynull: LinuxDevice = { path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 };

describe("withDevices", () => {
  it("adds each node and an allow rule for it after the default rules", () => {
    const s = build(withDevices([{ device: mynull, access: "rwm" }, { device: fuse, access: "r" }]));
    assert.deepEqual(s.linux?.devices, [mynull, fuse]);
    assert.deepEqual(s.linux?.resources?.devices, [
      ...defaultRules,
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      { allow: true, type: "c", major: 10, minor: 229, access: "r" },
    ]);
  });

  it("a later node at the same path replaces the earlier one", () => {
    const s = build(withDevices([{ device: mynull, access: "rwm" }, { device: { ...fuse, path: "/dev/mynull" }, access: "rw" }]));
    assert.deepEqual(s.linux?.devices, [{ ...fuse, path: "/dev/mynull" }]);
  });

  it("refuses a bad mode or a relative container path", () => {
    assertInvalid(() => withDevices([{ device: mynull, access: "rwx" }]), "invalid device mode: rwx");
    assertInvalid(() => withDevices([{ device: { ...mynull, path: "dev/x" }, access: "r" }]), "dev/x is not an absolute path");
  });

  it("device modes: r, w, m each at most once", () => {
    for (const ok of ["r", "w", "m", "rw", "mwr", "rwm"]) assert.ok(isValidDeviceMode(ok), ok);
    for (const bad of ["", "rr", "rwmr", "x", "rwx", "R"]) assert.ok(!isValidDeviceMode(bad), bad);
  });
});

describe("withDeviceCgroupRules", () => {
  it("parses moby's rule syntax; * means any", () => {
    assert.deepEqual(parseDeviceCgroupRule("c 1:3 mr"), { allow: true, type: "c", major: 1, minor: 3, access: "mr" });
    assert.deepEqual(parseDeviceCgroupRule("b 7:* rwm"), { allow: true, type: "b", major: 7, access: "rwm" });
    assert.deepEqual(parseDeviceCgroupRule("a *:* r"), { allow: true, type: "a", access: "r" });
  });

  it("appends the rules after the defaults", () => {
    const s = build(withDeviceCgroupRules(["c 10:237 r"]));
    assert.deepEqual(s.linux?.resources?.devices, [...defaultRules, { allow: true, type: "c", major: 10, minor: 237, access: "r" }]);
  });

  for (const bad of ["c 1:3", "x 1:3 r", "c 1-3 r", "c 1:3 rwx", "c  1:3 r", "c a:3 r"]) {
    it(`refuses '${bad}'`, () => assertInvalid(() => withDeviceCgroupRules([bad]), `invalid device cgroup format '${bad}'`));
  }
});

describe("withPrivileged", () => {
  it("every known capability whatever was dropped, the host's devices, any device allowed", () => {
    const s = build(withCapabilities({ drop: ["ALL"] }), withDevices([{ device: mynull, access: "r" }]), withPrivileged([fuse]));
    assert.deepEqual(caps(s), { bounding: [...KNOWN_CAPABILITIES], effective: [...KNOWN_CAPABILITIES], permitted: [...KNOWN_CAPABILITIES] });
    assert.deepEqual(s.linux?.devices, [fuse, mynull]);
    assert.deepEqual(s.linux?.resources?.devices, [{ allow: true, access: "rwm" }]);
  });

  it("only the capabilities the daemon holds, when given", () => {
    const daemon = KNOWN_CAPABILITIES.filter((c) => c !== "CAP_SYS_RESOURCE");
    assert.deepEqual(caps(build(withPrivileged([], daemon)))?.bounding, daemon);
  });

  it("a non-root user gets them in its bounding set only", () => {
    assert.deepEqual(caps(build(withUser({ uid: 1000, gid: 1000 }), withPrivileged([]))), { bounding: [...KNOWN_CAPABILITIES] });
  });

  it("no masked or read-only paths, no seccomp; /sys and the cgroup mount writable", () => {
    const s = build(withMaskedPaths(["/proc/x"]), withPrivileged([]));
    s.linux!.seccomp = { defaultAction: "SCMP_ACT_ERRNO" };
    withPrivileged([])(s);
    assert.equal(s.linux?.maskedPaths, undefined);
    assert.equal(s.linux?.readonlyPaths, undefined);
    assert.equal(s.linux?.seccomp, undefined);
    assert.ok(!mountAt(s, "/sys")?.options?.includes("ro"));
    assert.ok(!mountAt(s, "/sys/fs/cgroup")?.options?.includes("ro"));
    assert.ok(defaultSpec().mounts?.find((m) => m.destination === "/sys")?.options?.includes("ro"), "the default /sys is read-only");
  });

  it("a host node at a container device's path is the host's", () => {
    const s = build(withDevices([{ device: { ...mynull, path: "/dev/fuse" }, access: "r" }]), withPrivileged([fuse]));
    assert.deepEqual(s.linux?.devices, [fuse]);
  });
});
