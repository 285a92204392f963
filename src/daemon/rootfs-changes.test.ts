// The changes walker on directories shaped like an overlay snapshot: image layers (lowerdirs)
// and a container layer (upperdir) with whiteouts (0:0 character devices, made with mknod as
// root) and opaque directories (trusted.overlay.opaque=y), as the kernel leaves them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { lsetxattr, mknod, S_IFCHR } from "../base/native-fs.js";
import { ChangeKind, overlayChanges, type FilesystemChange } from "./rootfs-changes.js";

const ROOT = process.getuid?.() === 0;
let tmp: string;
const OLD = new Date("2024-01-01T00:00:00Z");

before(async () => { tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-changes-")); });
after(async () => { await fs.rm(tmp, { recursive: true, force: true }); });

/** Writes files (content string), directories (trailing "/") with an old mtime. */
async function layer(name: string, entries: Record<string, string>): Promise<string> {
  const dir = path.join(tmp, name);
  await fs.mkdir(dir, { recursive: true });
  for (const [p, content] of Object.entries(entries)) {
    const abs = path.join(dir, p);
    if (p.endsWith("/")) await fs.mkdir(abs, { recursive: true });
    else {
      await fs.mkdir(path.dirname(abs), { recursive: true });
      await fs.writeFile(abs, content);
    }
  }
  return dir;
}

/** Sets every mtime under `dir` to OLD, deepest first (so directories keep it too). */
async function age(dir: string): Promise<void> {
  for (const e of (await fs.readdir(dir, { recursive: true })).sort().reverse()) await fs.utimes(path.join(dir, e), OLD, OLD);
}

const whiteout = (p: string) => mknod(p, S_IFCHR | 0o600, 0n);
const show = (cs: FilesystemChange[]) => cs.map((c) => `${"CAD"[c.kind]} ${c.path}`);

test("touch, rm, mkdir, modify /etc/passwd, opaque directory: dockerd's list and order", { skip: ROOT ? false : "needs root (mknod, trusted xattrs)" }, async () => {
  const lower = await layer("l1", {
    "bin/ls": "ls", "bin/sh": "sh", "etc/passwd": "root:x:0:0", "etc/group": "root:x:0:", "home/user/x": "x", "tmp/": "",
  });
  await age(lower);
  const upper = await layer("u1", { "etc/passwd": "root:x:0:0\nx", "newdir/sub/": "", "newfile": "", "tmp/a/b": "", "home/y": "y" });
  // A file copied up but not changed (same size, mode, mtime) is no change.
  await fs.copyFile(path.join(lower, "etc/group"), path.join(upper, "etc/group"));
  await fs.utimes(path.join(upper, "etc/group"), OLD, OLD);
  await fs.mkdir(path.join(upper, "bin"));
  await fs.utimes(path.join(upper, "bin"), OLD, OLD);
  whiteout(path.join(upper, "bin/ls"));
  lsetxattr(path.join(upper, "home"), "trusted.overlay.opaque", "y");
  // Runtime mount points the image lacks are dockerd's init layer, never listed.
  await fs.writeFile(path.join(upper, "etc/hostname"), "");

  const got = await overlayChanges({ upper, lowers: [lower] }, { runtimeMountPoints: new Set(["/etc/hostname"]) });
  assert.deepEqual(show(got), [
    "C /bin", "D /bin/ls",
    "C /etc", "C /etc/passwd",
    "C /home", "A /home/y", "D /home/user",
    "A /newdir", "A /newdir/sub",
    "A /newfile",
    "C /tmp", "A /tmp/a", "A /tmp/a/b",
  ]);
  assert.equal(got[0]!.kind, ChangeKind.modified);
  assert.equal(got[1]!.kind, ChangeKind.deleted);
  assert.equal(got[7]!.kind, ChangeKind.added);
});

test("lower layers' own whiteouts and opaque directories decide Added vs Modified", { skip: ROOT ? false : "needs root" }, async () => {
  const base = await layer("l2-base", { "opt/gone": "g", "opt/kept": "k", "srv/old/f": "f", "var/x": "x" });
  const top = await layer("l2-top", { "opt/": "", "srv/old/": "" });
  whiteout(path.join(top, "opt/gone"));
  lsetxattr(path.join(top, "srv/old"), "trusted.overlay.opaque", "y");
  await age(base);
  await age(top);
  const upper = await layer("u2", { "opt/gone": "again", "opt/kept": "k2", "srv/old/f": "new" });
  await fs.mkdir(path.join(upper, "var"), { recursive: true });
  await fs.chmod(path.join(upper, "var"), 0o700);

  const got = show(await overlayChanges({ upper, lowers: [top, base] }));
  assert.deepEqual(got, [
    "C /opt", "A /opt/gone", "C /opt/kept",
    "C /srv", "C /srv/old", "A /srv/old/f",
    // A directory whose mode changed is modified by itself.
    "C /var",
  ]);
});

test("a file replaced by a directory: modified, its contents added; a whiteout over nothing is no change", { skip: ROOT ? false : "needs root" }, async () => {
  const lower = await layer("l3", { "data": "file" });
  await age(lower);
  const upper = await layer("u3", { "data/inner": "i" });
  whiteout(path.join(upper, "never-existed"));
  assert.deepEqual(show(await overlayChanges({ upper, lowers: [lower] })), ["C /data", "A /data/inner"]);
});

test("no image layers: everything is added", async () => {
  const upper = await layer("u4", { "a/b": "", "c": "" });
  assert.deepEqual(show(await overlayChanges({ upper, lowers: [] })), ["A /a", "A /a/b", "A /c"]);
});
