import assert from "node:assert/strict";
import { test } from "node:test";

import { isBerthError } from "../base/errors.js";
import { blockDeviceNumbers, hostDevices, resolveDeviceMapping, splitDevNumber } from "./host-devices.js";

const invalid = (message: RegExp) => (e: unknown) => isBerthError(e, "invalid-argument") && message.test(e.message);

test("dev_t splits as glibc's major()/minor()", () => {
  assert.deepEqual(splitDevNumber(0x103n), { major: 1, minor: 3 });
  assert.deepEqual(splitDevNumber(0x8800n), { major: 136, minor: 0 });
  // A large minor spills into the upper bits: makedev(259, 0x12345).
  assert.deepEqual(splitDevNumber((0x12300n << 12n) | (259n << 8n) | 0x45n), { major: 259, minor: 0x12345 });
});

test("a --device node resolves to its numbers and mode at the container path", () => {
  const [d, ...rest] = resolveDeviceMapping({ pathOnHost: "/dev/null", pathInContainer: "/dev/mynull", cgroupPermissions: "rw" });
  assert.equal(rest.length, 0);
  assert.deepEqual(d, { device: { path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }, access: "rw" });
  // No container path: the host's.
  assert.equal(resolveDeviceMapping({ pathOnHost: "/dev/zero", pathInContainer: "", cgroupPermissions: "r" })[0]?.device.path, "/dev/zero");
});

test("a missing path or a file that is no device is refused with dockerd's message", () => {
  assert.throws(() => resolveDeviceMapping({ pathOnHost: "/dev/no-such-node", pathInContainer: "", cgroupPermissions: "rwm" }), invalid(/^error gathering device information while adding custom device "\/dev\/no-such-node": no such file or directory$/));
  assert.throws(() => resolveDeviceMapping({ pathOnHost: "/etc/hostname", pathInContainer: "", cgroupPermissions: "rwm" }), invalid(/: not a device node$/));
  assert.throws(() => blockDeviceNumbers("/dev/null"), invalid(/^\/dev\/null is not a block device$/));
});

test("the host's devices: character and block nodes of /dev, not pts, shm or the console", () => {
  const all = hostDevices();
  const byPath = new Map(all.map((d) => [d.path, d]));
  assert.equal(byPath.get("/dev/null")?.major, 1);
  assert.ok(all.every((d) => d.type === "c" || d.type === "b"));
  assert.ok(!all.some((d) => d.path.startsWith("/dev/pts/") || d.path.startsWith("/dev/shm/") || d.path === "/dev/console"));
});
