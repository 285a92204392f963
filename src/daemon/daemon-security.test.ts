import assert from "node:assert/strict";
import { test } from "node:test";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { isBerthError } from "../base/errors.js";
import { mergeUlimits, parseUlimitFlag, remappedStateRoot, securityOptions } from "./daemon-security.js";

test("--default-ulimit name=soft[:hard], as go-units parses it", () => {
  assert.deepEqual(parseUlimitFlag("nofile=1024:2048"), { name: "nofile", soft: 1024, hard: 2048 });
  assert.deepEqual(parseUlimitFlag("nproc=100"), { name: "nproc", soft: 100, hard: 100 });
  const bad: [string, RegExp][] = [
    ["nofile", /invalid ulimit argument: nofile/],
    ["files=1", /invalid ulimit type: files/],
    ["nofile=1:2:3", /too many limit value arguments/],
    ["nofile=x", /invalid ulimit value for nofile: x/],
    ["nofile=20:10", /soft limit must be less than or equal to hard limit: 20 > 10/],
  ];
  for (const [v, re] of bad) assert.throws(() => parseUlimitFlag(v), (e: unknown) => isBerthError(e, "invalid-argument") && re.test((e as Error).message), v);
});

test("the container's ulimits win by name; the other defaults are added", () => {
  const defaults = [{ name: "nofile", soft: 1, hard: 2 }, { name: "nproc", soft: 3, hard: 4 }];
  assert.deepEqual(mergeUlimits([{ name: "nofile", soft: 10, hard: 20 }], defaults), [{ name: "nofile", soft: 10, hard: 20 }, { name: "nproc", soft: 3, hard: 4 }]);
  assert.deepEqual(mergeUlimits([], []), []);
});

test("docker info SecurityOptions: apparmor only where enabled, userns only when remapping, in dockerd's order", () => {
  const remap = { uids: [{ containerID: 0, hostID: 100000, size: 65536 }], gids: [{ containerID: 0, hostID: 100000, size: 65536 }] };
  assert.deepEqual(securityOptions({ kind: "builtin" }, { apparmor: { enabled: false } }), ["name=seccomp,profile=default"]);
  assert.deepEqual(securityOptions({ kind: "unconfined" }, { apparmor: { enabled: true }, remap }), ["name=apparmor", "name=seccomp,profile=unconfined", "name=userns"]);
});

test("the remapped state root is <root>/<uid>.<gid>, 0710 with the remapped gid; a parent others cannot search is refused", async () => {
  const top = await fs.mkdtemp(path.join(os.tmpdir(), "berth-remaproot-"));
  try {
    const root = path.join(top, "root");
    await fs.mkdir(root, { mode: 0o700 });
    const remap = { uids: [{ containerID: 0, hostID: 123000, size: 10 }], gids: [{ containerID: 0, hostID: 456000, size: 10 }] };
    await assert.rejects(remappedStateRoot(root, remap), /restricts access to the remapped root/);
    await fs.chmod(top, 0o711);
    const dir = await remappedStateRoot(root, remap);
    assert.equal(dir, path.join(root, "123000.456000"));
    const st = await fs.stat(dir);
    assert.equal(st.mode & 0o777, 0o710);
    assert.equal(st.gid, 456000);
    assert.equal((await fs.stat(root)).mode & 0o777, 0o711);
  } finally {
    await fs.rm(top, { recursive: true, force: true });
  }
});
