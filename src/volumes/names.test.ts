import assert from "node:assert/strict";
import { test } from "node:test";

import { isInvalidArgument } from "../base/errors.js";
import { localMountOptions, ramInBytes, redactMountOptions, validateLocalOptions } from "./driver-options.js";
import { generateVolumeName, isValidVolumeName, validateVolumeName } from "./names.js";

test("volume names: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$", () => {
  for (const ok of ["ab", "my-vol", "my_vol.1", "0abc", "A.B-C_d"]) assert.ok(isValidVolumeName(ok), ok);
  for (const bad of ["", "a", ".hidden", "-x", "_x", "a/b", "..", "a b", "ü", "a:b", "/abs"]) assert.ok(!isValidVolumeName(bad), bad);
});

test("volume names: the local driver's messages, prefixed as dockerd's create errors", () => {
  assert.throws(
    () => validateVolumeName("a"),
    (e: unknown) => isInvalidArgument(e) && (e as Error).message === "create a: volume name is too short, names should be at least two alphanumeric characters",
  );
  assert.throws(
    () => validateVolumeName("a/b"),
    (e: unknown) =>
      isInvalidArgument(e) &&
      (e as Error).message ===
        `create a/b: "a/b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
  );
  assert.doesNotThrow(() => validateVolumeName("fine"));
  // One path component: NAME_MAX, checked before the disk sees it.
  assert.doesNotThrow(() => validateVolumeName("v".repeat(255)));
  assert.ok(!isValidVolumeName("v".repeat(256)));
  assert.throws(
    () => validateVolumeName("v".repeat(5000)),
    (e: unknown) => isInvalidArgument(e) && (e as Error).message.endsWith(": volume name is too long (5000 characters), names can be at most 255 characters"),
  );
});

test("anonymous names: 64 hex, never an all-digit short form", () => {
  assert.match(generateVolumeName(), /^[0-9a-f]{64}$/);
  const draws = [Buffer.alloc(32, 0x11), Buffer.alloc(32, 0xab)];
  assert.equal(generateVolumeName(() => draws.shift() as Buffer), "ab".repeat(32));
});

test("local driver options: dockerd's checks and messages", () => {
  const bad = (o: Record<string, string>, message: string) =>
    assert.throws(() => validateLocalOptions(o), (e: unknown) => isInvalidArgument(e) && (e as Error).message === message);
  assert.doesNotThrow(() => validateLocalOptions({}));
  assert.doesNotThrow(() => validateLocalOptions({ type: "tmpfs", device: "tmpfs", o: "size=100m,uid=1000" }));
  assert.doesNotThrow(() => validateLocalOptions({ type: "none", o: "bind", device: "/srv/x" }));
  assert.doesNotThrow(() => validateLocalOptions({ size: "0" }));
  bad({ colour: "red" }, `invalid option: "colour"`);
  bad({ type: "tmpfs" }, `missing required option: "device"`);
  bad({ device: "tmpfs" }, `missing required option: "type"`);
  bad({ o: "size=1m" }, `missing required option: "device"`);
  bad({ size: "10m" }, "quota size requested but no quota support");
  bad({ size: "lots" }, "invalid size: 'lots'");
});

test("local driver options: what gets mounted", () => {
  assert.equal(localMountOptions({}), undefined);
  assert.equal(localMountOptions({ size: "0" }), undefined);
  assert.deepEqual(localMountOptions({ type: "tmpfs", device: "tmpfs", o: "size=100m" }), { type: "tmpfs", device: "tmpfs", options: "size=100m" });
  assert.deepEqual(localMountOptions({ type: "none", device: "/srv" }), { type: "none", device: "/srv", options: "" });
});

test("sizes: go-units RAMInBytes", () => {
  assert.equal(ramInBytes("100m"), 100 * 2 ** 20);
  assert.equal(ramInBytes("1.5g"), 1.5 * 2 ** 30);
  assert.equal(ramInBytes("64KiB"), 64 * 1024);
  assert.equal(ramInBytes("512"), 512);
  assert.equal(ramInBytes("2 MB"), 2 * 2 ** 20);
  assert.throws(() => ramInBytes("1x"), /invalid size: '1x'/);
});

test("mount errors hide a CIFS password", () => {
  assert.equal(redactMountOptions("mount //h/s: data: user=u,password=hunter2: denied", "user=u,password=hunter2"), "mount //h/s: data: user=u,password=********: denied");
  assert.equal(redactMountOptions("x", "size=1m"), "x");
});
