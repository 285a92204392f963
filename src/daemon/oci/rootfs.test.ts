import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Spec } from "../../containerd/oci/spec-types.js";
import { withCgroupsPath, withReadonlyRootfs, withRootfsPath, withShmSize } from "./rootfs.js";
import { withTmpfs } from "./mounts.js";
import { defaultSpec } from "./default-spec.js";
import { assertInvalid, build, mountAt } from "./testdata/spec-assert.js";

describe("withReadonlyRootfs / withRootfsPath / withCgroupsPath", () => {
  it("read-only rootfs", () => {
    assert.deepEqual(build(withReadonlyRootfs()).root, { path: "rootfs", readonly: true });
    assert.deepEqual(build(withReadonlyRootfs(), withReadonlyRootfs(false)).root, { path: "rootfs" });
  });

  it("does not touch the default mounts (their ro options are dockerd's already)", () => {
    assert.deepEqual(build(withReadonlyRootfs()).mounts, defaultSpec().mounts);
  });

  it("rootfs path keeps readonly", () => {
    assert.deepEqual(build(withReadonlyRootfs(), withRootfsPath("/var/lib/berth/c1/rootfs")).root, {
      path: "/var/lib/berth/c1/rootfs",
      readonly: true,
    });
  });

  it("refuses a relative rootfs path", () => {
    assertInvalid(() => withRootfsPath("rootfs"), 'rootfs path must be absolute, got "rootfs"');
  });

  it("cgroups path", () => {
    assert.equal(build(withCgroupsPath("/berth/abc")).linux?.cgroupsPath, "/berth/abc");
    assertInvalid(() => withCgroupsPath(""), "cgroups path must not be empty");
  });
});

describe("withShmSize", () => {
  const shmOptions = (s: Spec) => mountAt(s, "/dev/shm")?.options;
  it("replaces the size on the default /dev/shm", () => {
    assert.deepEqual(shmOptions(build(withShmSize(128 * 1024 * 1024))), ["nosuid", "noexec", "nodev", "mode=1777", "size=134217728"]);
  });
  it("0 means dockerd's 64MiB", () => {
    assert.deepEqual(shmOptions(build(withShmSize(0))), ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]);
  });
  it("leaves a container's own /dev/shm mount alone", () => {
    const s = build(withTmpfs({ "/dev/shm": "size=1m" }), withShmSize(1 << 30));
    assert.deepEqual(mountAt(s, "/dev/shm"), {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "tmpfs",
      options: ["noexec", "nosuid", "nodev", "rprivate", "size=1m"],
    });
  });
  it("refuses a negative size", () => assertInvalid(() => withShmSize(-1), "SHM size can not be less than 0"));
});
