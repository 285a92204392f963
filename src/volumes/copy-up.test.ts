// Copy-up from a directory rootfs and from a real overlay layout with whiteouts and an opaque
// directory (the overlay part needs root: it mounts).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, chown, link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { isInvalidArgument } from "../base/errors.js";
import { copyImageContent, openRootfsView, resolveInRoot, type RootfsSource } from "./copy-up.js";
import { mountsAtOrUnder, readMountInfo, unmountFilesystem } from "./host-mount.js";

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : "needs root (chown, mknod, mount)";
let base: string;
let n = 0;

before(async () => {
  base = await mkdtemp(join(tmpdir(), "berth-copyup-"));
});
after(async () => {
  for (const m of mountsAtOrUnder(await readMountInfo(), base)) await unmountFilesystem(m).catch(() => {});
  await rm(base, { recursive: true, force: true });
});

async function fresh(name: string): Promise<string> {
  const d = join(base, `${name}-${++n}`);
  await mkdir(d, { recursive: true });
  return d;
}

/** Lists a tree as "path type mode uid:gid [content|target]" lines, for comparisons. */
async function tree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    const st = await lstat(p);
    const rel = prefix + name;
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) {
      out.push(`${rel}/ ${mode} ${st.uid}:${st.gid}`, ...(await tree(p, rel + "/")));
    } else if (st.isSymbolicLink()) {
      out.push(`${rel} -> ${await readlink(p)}`);
    } else if (st.isFile()) {
      out.push(`${rel} ${mode} ${st.uid}:${st.gid} ${await readFile(p, "utf8")}`);
    } else {
      out.push(`${rel} special ${mode}`);
    }
  }
  return out;
}

test("resolveInRoot: symlinks followed inside the root, never out of it", async () => {
  const root = await fresh("root");
  await mkdir(join(root, "run/app"), { recursive: true });
  await mkdir(join(root, "var"));
  await symlink("/run", join(root, "var/run"));
  await symlink("../../..", join(root, "run/app/up"));
  await symlink("/etc/passwd-of-host", join(root, "escape"));
  await symlink("loop2", join(root, "loop1"));
  await symlink("loop1", join(root, "loop2"));
  assert.equal(await resolveInRoot(root, "/var/run/app"), join(root, "run/app"));
  assert.equal(await resolveInRoot(root, "/run/app/up/x"), join(root, "x"));
  assert.equal(await resolveInRoot(root, "/run/app/up/run/app/up/var/run"), join(root, "run"));
  assert.equal(await resolveInRoot(root, "/../../etc"), join(root, "etc"));
  assert.equal(await resolveInRoot(root, "/escape"), join(root, "etc/passwd-of-host"));
  assert.equal(await resolveInRoot(root, "/missing/a/../b"), join(root, "missing/b"));
  await assert.rejects(resolveInRoot(root, "/loop1"), /too many levels of symbolic links/);
});

test("directory rootfs: content copied with owners, modes, times, links; the volume root takes the image dir's owner and mode", { skip }, async () => {
  const rootfs = await fresh("rootfs");
  const img = join(rootfs, "var/lib/app");
  await mkdir(join(img, "sub"), { recursive: true });
  await writeFile(join(img, "conf"), "setting=1");
  await chmod(join(img, "conf"), 0o4750);
  await chown(join(img, "conf"), 1234, 5678);
  await link(join(img, "conf"), join(img, "conf.hard"));
  await symlink("conf", join(img, "conf.link"));
  await writeFile(join(img, "sub/data"), "d");
  execFileSync("mkfifo", [join(img, "sub/fifo")]);
  await chown(img, 999, 998);
  await chmod(img, 0o700);
  await utimes(join(img, "sub/data"), new Date("2001-02-03T04:05:06Z"), new Date("2001-02-03T04:05:06Z"));

  const volume = await fresh("vol");
  assert.equal(await copyImageContent(rootfs, "/var/lib/app", volume), true);
  assert.deepEqual(await tree(volume), await tree(img));
  const vst = await stat(volume);
  assert.deepEqual([vst.uid, vst.gid, vst.mode & 0o7777], [999, 998, 0o700]);
  assert.equal((await stat(join(volume, "conf"))).ino, (await stat(join(volume, "conf.hard"))).ino, "hard link kept");
  assert.equal((await stat(join(volume, "sub/data"))).mtime.toISOString(), "2001-02-03T04:05:06.000Z");

  // Not empty any more: a second copy (next start, another container) leaves it alone.
  await writeFile(join(img, "new"), "later");
  assert.equal(await copyImageContent(rootfs, "/var/lib/app", volume), false);
  assert.equal((await readdir(volume)).includes("new"), false);
});

test("directory rootfs: nothing at the path copies nothing; a file there is dockerd's error; symlinked paths resolve", async () => {
  const rootfs = await fresh("rootfs");
  await mkdir(join(rootfs, "run/app"), { recursive: true });
  await writeFile(join(rootfs, "run/app/pid"), "1");
  await mkdir(join(rootfs, "var"));
  await symlink("/run", join(rootfs, "var/run"));
  await writeFile(join(rootfs, "file"), "x");
  const volume = await fresh("vol");
  assert.equal(await copyImageContent(rootfs, "/not/there", volume), false);
  await assert.rejects(
    copyImageContent(rootfs, "/file", volume),
    (e: unknown) => isInvalidArgument(e) && (e as Error).message === "cannot mount volume over existing file, file exists /file",
  );
  assert.equal(await copyImageContent(rootfs, "/var/run/app", volume), true);
  assert.deepEqual(await readdir(volume), ["pid"]);

  const view = await openRootfsView({ kind: "path", path: rootfs }, { tempDir: () => assert.fail("no mount for a path rootfs") });
  assert.equal(view.root, rootfs);
  await view.close();
});

/** Sets an xattr; Node has no API for it, python3 does. undefined when python3 is missing. */
function setXattr(path: string, name: string, value: string): boolean {
  try {
    execFileSync("python3", ["-c", "import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())", path, name, value]);
    return true;
  } catch {
    return false;
  }
}

/**
 * An image as containerd's overlay snapshotter lays out a container's snapshot: two layers and
 * the container's upper dir. The upper dir deletes a file and a directory (whiteouts: 0:0
 * character devices), makes /data/cache opaque (its lower content hidden), and adds a file.
 */
async function overlayImage(): Promise<{ rootfs: RootfsSource; opaque: boolean; dir: string }> {
  const dir = await fresh("snapshots");
  const l1 = join(dir, "1/fs");
  const l2 = join(dir, "2/fs");
  const up = join(dir, "3/fs");
  const work = join(dir, "3/work");
  for (const d of [l1, l2, up, work]) await mkdir(d, { recursive: true });
  await mkdir(join(l1, "data/cache/old"), { recursive: true });
  await mkdir(join(l1, "data/gone-dir"), { recursive: true });
  await writeFile(join(l1, "data/base"), "from layer 1");
  await writeFile(join(l1, "data/deleted"), "deleted in upper");
  await writeFile(join(l1, "data/gone-dir/f"), "x");
  await writeFile(join(l1, "data/cache/old/stale"), "hidden by opaque dir");
  await chown(join(l1, "data"), 70, 70);
  await mkdir(join(l2, "data"), { recursive: true });
  await chown(join(l2, "data"), 70, 70);
  await writeFile(join(l2, "data/base"), "from layer 2");
  await writeFile(join(l2, "data/added"), "layer 2 adds");
  await mkdir(join(up, "data/cache"), { recursive: true });
  await chown(join(up, "data"), 70, 70);
  execFileSync("mknod", [join(up, "data/deleted"), "c", "0", "0"]);
  execFileSync("mknod", [join(up, "data/gone-dir"), "c", "0", "0"]);
  const opaque = setXattr(join(up, "data/cache"), "trusted.overlay.opaque", "y");
  await writeFile(join(up, "data/cache/fresh"), "upper");
  return {
    dir,
    opaque,
    rootfs: {
      kind: "snapshot",
      mounts: [{ type: "overlay", source: "overlay", options: ["index=off", `workdir=${work}`, `upperdir=${up}`, `lowerdir=${l2}:${l1}`] }],
    },
  };
}

test("overlay rootfs: mounted read-only for the copy, whiteouts and opaque dirs respected, unmounted after", { skip }, async () => {
  const { rootfs, opaque } = await overlayImage();
  const temp = await fresh("tmp");
  const view = await openRootfsView(rootfs, { tempDir: (s) => join(temp, `.copyup-${s}`) });
  assert.equal(mountsAtOrUnder(await readMountInfo(), temp).length, 1);
  const volume = await fresh("vol");
  assert.equal(await copyImageContent(view.root, "/data", volume), true);
  await view.close();
  await view.close(); // idempotent
  assert.deepEqual(mountsAtOrUnder(await readMountInfo(), temp), []);
  assert.deepEqual(await readdir(temp), []);

  assert.deepEqual(await tree(volume), [
    "added 644 0:0 layer 2 adds",
    "base 644 0:0 from layer 2",
    "cache/ 755 0:0",
    ...(opaque ? [] : ["cache/old/ 755 0:0", "cache/old/stale 644 0:0 hidden by opaque dir"]),
    "cache/fresh 644 0:0 upper",
  ].sort());
  const vst = await stat(volume);
  assert.deepEqual([vst.uid, vst.gid], [70, 70]);
});

test("overlay rootfs: a long layer list is mounted with paths relative to the common directory", { skip }, async () => {
  const { rootfs } = await overlayImage();
  const temp = await fresh("tmp");
  const view = await openRootfsView(rootfs, { tempDir: (s) => join(temp, `.copyup-${s}`), maxMountData: 60 });
  try {
    assert.equal(await readFile(join(view.root, "data/base"), "utf8"), "from layer 2");
    await assert.rejects(readFile(join(view.root, "data/deleted")), /ENOENT/);
  } finally {
    await view.close();
  }
});

test("bind and single-layer snapshots are read in place", async () => {
  const dir = await fresh("single");
  const bind = await openRootfsView({ kind: "snapshot", mounts: [{ type: "bind", source: dir, options: ["rbind", "ro"] }] }, { tempDir: () => assert.fail("no mount") });
  assert.equal(bind.root, dir);
  const single = await openRootfsView({ kind: "snapshot", mounts: [{ type: "overlay", source: "overlay", options: [`lowerdir=${dir}`] }] }, { tempDir: () => assert.fail("no mount") });
  assert.equal(single.root, dir);
  await assert.rejects(openRootfsView({ kind: "snapshot", mounts: [] }, { tempDir: () => "" }), isInvalidArgument);
  await assert.rejects(openRootfsView({ kind: "snapshot", mounts: [{ type: "zfs", source: "p/x", options: [] }] }, { tempDir: () => "" }), isInvalidArgument);
});
