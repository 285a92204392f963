// The rootfs views' sharing and release rules, with the mount calls recorded (the real overlay
// mount is exercised by test/integration/engine-rootfs.test.ts), and the tar of a root.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import tarStream from "tar-stream";
import { mknod, S_IFCHR, S_IFIFO, makedev } from "../base/native-fs.js";
import { overlayMountOptions, RootfsViews, type RootfsSource } from "./rootfs-view.js";
import { exportRootfs } from "./rootfs-export.js";

let tmp: string;
before(async () => { tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-views-")); });
after(async () => { await fs.rm(tmp, { recursive: true, force: true }); });

const overlay: RootfsSource = {
  kind: "snapshot",
  mounts: [{ type: "overlay", source: "overlay", options: ["index=off", "workdir=/s/2/work", "upperdir=/s/2/fs", "lowerdir=/s/1/fs"] }],
};

function recorded(dir: string) {
  const calls: string[] = [];
  const views = new RootfsViews({
    dir,
    mount: async (r) => { calls.push(`mount ${r.options} ${path.relative(dir, r.target)}`); },
    unmount: async (t) => {
      calls.push(`unmount ${path.relative(dir, t)}`);
      // What a real unmount leaves: the empty mount point (mount points made in the "view" go).
      await fs.rm(t, { recursive: true, force: true });
      await fs.mkdir(t);
    },
  });
  return { calls, views };
}

test("concurrent users of one container share one mount; the last one out unmounts", async () => {
  const dir = path.join(tmp, "share");
  const { calls, views } = recorded(dir);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const a = views.use("c1", overlay, async (root) => { await gate; return root; });
  const b = views.use("c1", overlay, async (root) => root);
  assert.equal(await b, path.join(dir, "c1"));
  assert.deepEqual([...views.users], [["c1", 1]]);
  let idle = false;
  const waiting = views.whenIdle("c1").then(() => { idle = true; });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(idle, false, "a view is still open");
  release();
  assert.equal(await a, path.join(dir, "c1"));
  await waiting;
  assert.deepEqual(calls, ["mount index=off,workdir=/s/2/work,upperdir=/s/2/fs,lowerdir=/s/1/fs c1", "unmount c1"]);
  assert.deepEqual([...views.users], []);
});

test("a failing user still unmounts; the next use mounts again", async () => {
  const dir = path.join(tmp, "fail");
  const { calls, views } = recorded(dir);
  await assert.rejects(views.use("c2", overlay, async () => { throw new Error("boom"); }), /boom/);
  await views.use("c2", overlay, async () => {});
  assert.deepEqual(calls.map((c) => c.split(" ")[0]), ["mount", "unmount", "mount", "unmount"]);
  assert.deepEqual(await fs.readdir(dir), [], "mount points removed");
});

test("volumes and binds go over the view, parents first, their mount points made; read-only ones remounted", async () => {
  const dir = path.join(tmp, "binds");
  const { calls, views } = recorded(dir);
  const vol = path.join(tmp, "vol-data");
  const file = path.join(tmp, "bind-file");
  await fs.mkdir(vol, { recursive: true });
  await fs.writeFile(file, "f");
  const source: RootfsSource = { ...overlay, binds: [
    { source: vol, destination: "/data/inner", readonly: false },
    { source: file, destination: "/etc/conf", readonly: true },
    { source: vol, destination: "/data", readonly: false },
  ] } as RootfsSource;
  await views.use("c5", source, async (root) => {
    assert.ok((await fs.stat(path.join(root, "data", "inner"))).isDirectory());
    assert.ok((await fs.stat(path.join(root, "etc", "conf"))).isFile());
  });
  assert.deepEqual(calls.map((c) => c.replace(tmp, "TMP")), [
    "mount index=off,workdir=/s/2/work,upperdir=/s/2/fs,lowerdir=/s/1/fs c5",
    "mount rbind c5/data",
    "mount rbind c5/data/inner",
    "mount rbind c5/etc/conf",
    "mount remount,bind,ro c5/etc/conf",
    "unmount c5",
  ]);
});

test("a directory rootfs or a bind snapshot is used in place; open() releases once", async () => {
  const { calls, views } = recorded(path.join(tmp, "inplace"));
  assert.equal(await views.use("c3", { kind: "path", path: "/some/dir" }, async (r) => r), "/some/dir");
  const bind: RootfsSource = { kind: "snapshot", mounts: [{ type: "bind", source: "/s/9/fs", options: ["rbind", "rw"] }] };
  const v = await views.open("c4", bind);
  assert.equal(v.root, "/s/9/fs");
  await v.release();
  await v.release();
  assert.deepEqual(calls, []);
  assert.deepEqual([...views.users], []);
});

test("long overlay options are made relative to their common directory", () => {
  const lowers = Array.from({ length: 80 }, (_, i) => `/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/${100 + i}/fs`);
  const opts = ["index=off", "workdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/500/work",
    "upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/500/fs", `lowerdir=${lowers.join(":")}`];
  assert.deepEqual(overlayMountOptions(opts.slice(0, 3)), { options: opts.slice(0, 3).join(",") });
  const r = overlayMountOptions(opts);
  assert.equal(r.cwd, "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots");
  assert.ok(r.options.startsWith("index=off,workdir=500/work,upperdir=500/fs,lowerdir=100/fs:101/fs:"), r.options);
  assert.ok(r.options.length <= 4095);
  assert.throws(() => overlayMountOptions(opts, 100), /too many layers/);
});

test("export: Go's walk order, no root entry, directories with '/', hard links, devices, FIFOs", { skip: process.getuid?.() === 0 ? false : "needs root (mknod)" }, async () => {
  const root = path.join(tmp, "export-root");
  await fs.mkdir(path.join(root, "etc"), { recursive: true });
  await fs.writeFile(path.join(root, "etc", "passwd"), "root:x:0:0\n");
  await fs.link(path.join(root, "etc", "passwd"), path.join(root, "etc", "passwd-"));
  await fs.symlink("/etc/passwd", path.join(root, "Link"));
  await fs.mkdir(path.join(root, "dev"));
  mknod(path.join(root, "dev", "null"), S_IFCHR | 0o666, makedev(1, 3));
  mknod(path.join(root, "fifo"), S_IFIFO | 0o644);
  const entries: { name: string; type: string; linkname: string | null; dev?: string; body: string }[] = [];
  const extract = tarStream.extract();
  extract.on("entry", (h, stream, next) => {
    let body = "";
    stream.on("data", (c: unknown) => (body += String(c)));
    stream.on("end", () => {
      entries.push({ name: h.name, type: h.type ?? "", linkname: h.linkname ?? null, body, ...(h.type === "character-device" ? { dev: `${h.devmajor}:${h.devminor}` } : {}) });
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => { extract.on("finish", () => resolve()); extract.on("error", reject); });
  exportRootfs(root).pipe(extract);
  await done;
  assert.deepEqual(entries.map((e) => `${e.type} ${e.name}${e.linkname ? " -> " + e.linkname : ""}${e.dev ? " " + e.dev : ""}`), [
    "symlink Link -> /etc/passwd",
    "directory dev/",
    "character-device dev/null 1:3",
    "directory etc/",
    "file etc/passwd",
    "link etc/passwd- -> etc/passwd",
    "fifo fifo",
  ]);
  assert.equal(entries.find((e) => e.name === "etc/passwd")!.body, "root:x:0:0\n");
});

test("docker cp's stat mode is Go's unsigned FileMode (a directory is not negative)", async () => {
  const { goFileMode } = await import("./archive.js");
  assert.equal(goFileMode({ mode: 0o040755 }), 2 ** 31 + 0o755);
  assert.equal(goFileMode({ mode: 0o100644 }), 0o644);
  assert.equal(goFileMode({ mode: 0o120777 }), 2 ** 27 + 0o777);
});

test("a tar reader that goes away mid-file ends the tar quietly (docker cp, export)", async () => {
  const { archiveOps } = await import("./archive.js");
  const root = path.join(tmp, "big-root");
  await fs.mkdir(root, { recursive: true });
  await fs.writeFile(path.join(root, "big"), Buffer.alloc(8 << 20, 1));
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on("uncaughtException", onUncaught);
  try {
    for (const open of [async () => (await archiveOps(root).get("/big")).tar, async () => exportRootfs(root)]) {
      const tar = await open();
      await new Promise<void>((resolve) => tar.once("data", () => { tar.destroy(); resolve(); }));
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    process.off("uncaughtException", onUncaught);
  }
  assert.deepEqual(uncaught, []);
});
