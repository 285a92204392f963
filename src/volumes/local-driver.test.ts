// Volumes with local-driver mount options, mounted for real (needs root): tmpfs and bind-style.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { isConflict } from "../base/errors.js";
import { mountFilesystem, mountsAtOrUnder, readMountInfo, unmountFilesystem } from "./host-mount.js";
import { createVolumeStore } from "./store.js";

const skip = process.getuid?.() !== 0 ? "needs root (mount)" : false;
const C1 = "1".repeat(64);
const C2 = "2".repeat(64);
let base: string;
let n = 0;

before(async () => {
  base = await mkdtemp(join(tmpdir(), "berth-localvol-"));
});
after(async () => {
  // Whatever a failed test left mounted comes off before the tree goes.
  for (const m of mountsAtOrUnder(await readMountInfo(), base)) await unmountFilesystem(m).catch(() => {});
  await rm(base, { recursive: true, force: true });
});

async function freshRoot(): Promise<string> {
  const root = join(base, `root-${++n}`);
  await mkdir(root);
  return root;
}

async function mountsAt(path: string) {
  return (await readMountInfo()).filter((m) => m.mountPoint === path);
}

test("tmpfs volume: mounted by the first user, once, unmounted after the last", { skip }, async () => {
  const store = await createVolumeStore({ root: await freshRoot() });
  const v = await store.create({ name: "scratch", driverOptions: { type: "tmpfs", device: "tmpfs", o: "size=1m,mode=0770" } });
  assert.deepEqual(await mountsAt(v.mountpoint), []);

  assert.equal(await store.mount("scratch", C1), v.mountpoint);
  const mounted = await mountsAt(v.mountpoint);
  assert.equal(mounted.length, 1);
  assert.equal(mounted[0]?.fsType, "tmpfs");
  await writeFile(join(v.mountpoint, "f"), "in tmpfs");

  await store.mount("scratch", C2);
  await store.mount("scratch", C2); // the same container twice counts once
  assert.equal((await mountsAt(v.mountpoint)).length, 1, "not stacked");

  await store.unmount("scratch", C1);
  assert.equal((await mountsAt(v.mountpoint)).length, 1, "C2 still has it");
  await assert.rejects(store.remove("scratch"), (e: unknown) => isConflict(e) && /volume has active mounts/.test((e as Error).message));

  await store.unmount("scratch", C2);
  assert.deepEqual(await mountsAt(v.mountpoint), []);
  // As with dockerd: a tmpfs volume's content lives as long as its mount.
  assert.deepEqual(await readdir(v.mountpoint), []);
  await store.remove("scratch");
  assert.equal(store.has("scratch"), false);
});

test("tmpfs volume: a mount that outlives berthd is known after reopening, reused, and cleared by unmountIdle", { skip }, async () => {
  const root = await freshRoot();
  const a = await createVolumeStore({ root });
  const v = await a.create({ name: "lasting", driverOptions: { type: "tmpfs", device: "tmpfs" } });
  await a.mount("lasting", C1);
  await writeFile(join(v.mountpoint, "f"), "still here");

  // berthd restarts while the container keeps running.
  const b = await createVolumeStore({ root });
  await b.mount("lasting", C1);
  assert.equal((await mountsAt(v.mountpoint)).length, 1);
  assert.equal(await readFile(join(v.mountpoint, "f"), "utf8"), "still here");
  await b.unmount("lasting", C1);
  assert.deepEqual(await mountsAt(v.mountpoint), []);

  // Restarted again, with the container gone meanwhile: nobody re-mounts it, unmountIdle clears it.
  await b.mount("lasting", C1);
  const c = await createVolumeStore({ root });
  await c.unmountIdle();
  assert.deepEqual(await mountsAt(v.mountpoint), []);
});

test("bind-style volume (type=none,o=bind): the host directory is used, and never deleted with the volume", { skip }, async () => {
  const root = await freshRoot();
  const host = join(root, "host-dir");
  await mkdir(host);
  await writeFile(join(host, "precious"), "keep me");
  const store = await createVolumeStore({ root });
  const v = await store.create({ name: "hostvol", driverOptions: { type: "none", o: "bind", device: host } });
  assert.deepEqual(v.options, { type: "none", o: "bind", device: host });

  await store.mount("hostvol", C1);
  assert.equal(await readFile(join(v.mountpoint, "precious"), "utf8"), "keep me");
  await writeFile(join(v.mountpoint, "written"), "through the volume");
  assert.equal(await readFile(join(host, "written"), "utf8"), "through the volume");
  await store.unmount("hostvol", C1);
  assert.deepEqual(await readdir(v.mountpoint), []);

  // Still mounted when another berthd opens the store (e.g. after a crash): remove unmounts first.
  await store.mount("hostvol", C1);
  const reopened = await createVolumeStore({ root });
  await reopened.remove("hostvol");
  assert.deepEqual((await readdir(host)).sort(), ["precious", "written"]);
  assert.deepEqual(mountsAtOrUnder(await readMountInfo(), join(root, "volumes")), []);
});

test("a failed device mount: dockerd's message, nothing recorded as mounted", { skip }, async () => {
  const store = await createVolumeStore({ root: await freshRoot() });
  await store.create({ name: "broken", driverOptions: { type: "none", o: "bind", device: "/nonexistent/berth" } });
  await assert.rejects(store.mount("broken", C1), (e: unknown) => {
    assert.match((e as Error).message, /^error while mounting volume '.*\/broken\/_data': failed to mount local volume: mount \/nonexistent\/berth:.*, data: bind: \S/);
    assert.doesNotMatch((e as Error).message, /\n/);
    return true;
  });
  await store.remove("broken");
});

test("open: a crashed removal with a mount still under it is unmounted before it is deleted", { skip }, async () => {
  const root = await freshRoot();
  const host = join(root, "host-dir");
  await mkdir(host);
  await writeFile(join(host, "precious"), "keep me");
  const store = await createVolumeStore({ root });
  const leftover = join(store.dir, ".removing-feed", "_data");
  await mkdir(leftover, { recursive: true });
  await mountFilesystem({ type: "none", device: host, target: leftover, options: "bind" });
  const copyup = join(store.dir, ".copyup-beef");
  await mkdir(copyup);
  await mountFilesystem({ type: "tmpfs", device: "tmpfs", target: copyup, options: "size=1m" });

  const reopened = await createVolumeStore({ root });
  assert.deepEqual(reopened.loadProblems, []);
  assert.deepEqual(await readdir(store.dir), []);
  assert.equal(await readFile(join(host, "precious"), "utf8"), "keep me");
});
