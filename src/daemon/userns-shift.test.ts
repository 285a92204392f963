import assert from "node:assert/strict";
import { test } from "node:test";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { shiftTree } from "./userns-shift.js";

const IS_ROOT = process.getuid?.() === 0;
const maps = { uids: [{ containerID: 0, hostID: 100000, size: 65536 }], gids: [{ containerID: 0, hostID: 200000, size: 65536 }] };

test("every entry moves to the host ids; setuid bits survive; hard links are shifted once; links are not followed", { skip: IS_ROOT ? false : "chown needs root" }, async () => {
  const top = await fs.mkdtemp(path.join(os.tmpdir(), "berth-shift-"));
  const outside = path.join(top, "outside");
  const root = path.join(top, "root");
  try {
    await fs.writeFile(outside, "");
    await fs.mkdir(path.join(root, "etc"), { recursive: true });
    await fs.writeFile(path.join(root, "etc", "passwd"), "x");
    await fs.writeFile(path.join(root, "su"), "x", { mode: 0o755 });
    await fs.chmod(path.join(root, "su"), 0o4755);
    await fs.writeFile(path.join(root, "user-file"), "x");
    await fs.chown(path.join(root, "user-file"), 1000, 50);
    await fs.link(path.join(root, "etc", "passwd"), path.join(root, "hardlink"));
    await fs.symlink(outside, path.join(root, "escape"));
    await fs.writeFile(path.join(root, "beyond"), "x");
    await fs.chown(path.join(root, "beyond"), 70000, 0);

    const changed = await shiftTree(root, maps);
    const ids = async (p: string) => { const s = await fs.lstat(path.join(root, p)); return [s.uid, s.gid]; };
    assert.deepEqual(await ids("."), [100000, 200000]);
    assert.deepEqual(await ids("etc"), [100000, 200000]);
    assert.deepEqual(await ids("etc/passwd"), [100000, 200000]);
    assert.deepEqual(await ids("hardlink"), [100000, 200000]);
    assert.deepEqual(await ids("user-file"), [101000, 200050]);
    assert.deepEqual(await ids("escape"), [100000, 200000]);
    // Outside the mappings: left alone.
    assert.deepEqual(await ids("beyond"), [70000, 0]);
    assert.equal((await fs.stat(path.join(root, "su"))).mode & 0o7777, 0o4755);
    // The symlink's target was not touched.
    assert.equal((await fs.stat(outside)).uid, 0);
    // root, etc, etc/passwd (+ its hard link once), su, user-file, escape.
    assert.equal(changed, 6);
  } finally {
    await fs.rm(top, { recursive: true, force: true });
  }
});
