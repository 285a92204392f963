import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { copyInto, parseChown, resolveSources, scopedPath, sourcesChecksum } from "./copy.js";

async function withDirs(fn: (ctx: string, rootfs: string) => Promise<void>) {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), "berth-copy-"));
  const ctx = path.join(d, "ctx");
  const rootfs = path.join(d, "rootfs");
  await fs.mkdir(ctx);
  await fs.mkdir(rootfs);
  try { await fn(ctx, rootfs); } finally { await fs.rm(d, { recursive: true, force: true }); }
}

test("scopedPath follows symlinks but never out of the root", () => withDirs(async (_ctx, root) => {
  await fs.mkdir(path.join(root, "run"));
  await fs.mkdir(path.join(root, "var"));
  await fs.symlink("../run", path.join(root, "var/run"));
  await fs.symlink("/etc", path.join(root, "abs"));
  await fs.symlink("../../../../..", path.join(root, "up"));
  assert.equal(await scopedPath(root, "/var/run/x"), path.join(root, "run/x"));
  assert.equal(await scopedPath(root, "/abs/passwd"), path.join(root, "etc/passwd"));
  assert.equal(await scopedPath(root, "/up/etc"), path.join(root, "etc"));
  assert.equal(await scopedPath(root, "/var/run", true), path.join(root, "var/run"));
}));

test("sources: wildcards within a segment, directories, missing files in dockerd's words", () => withDirs(async (ctx) => {
  await fs.mkdir(path.join(ctx, "d/sub"), { recursive: true });
  for (const f of ["a.txt", "b.txt", "c.md", "d/x.txt", "d/sub/y"]) await fs.writeFile(path.join(ctx, f), f);
  assert.deepEqual((await resolveSources(ctx, ["*.txt"], "COPY")).map((s) => s.rel), ["a.txt", "b.txt"]);
  assert.deepEqual((await resolveSources(ctx, ["d/*.txt", "./c.md"], "COPY")).map((s) => s.rel), ["d/x.txt", "c.md"]);
  assert.equal((await resolveSources(ctx, ["d/"], "COPY"))[0]!.isDir, true);
  await assert.rejects(resolveSources(ctx, ["nope"], "COPY"), /COPY failed: file not found in build context or excluded by \.dockerignore: stat nope: file does not exist/);
  await assert.rejects(resolveSources(ctx, ["*.none"], "COPY"), /no source files were specified/);
}));

test("checksums change with content and mode, not with mtime", () => withDirs(async (ctx) => {
  const f = path.join(ctx, "f");
  await fs.writeFile(f, "one");
  const sum = async () => sourcesChecksum(await resolveSources(ctx, ["f"], "COPY"));
  const a = await sum();
  assert.match(a, /^file:[0-9a-f]{64}$/);
  await fs.utimes(f, new Date(1000), new Date(1000));
  assert.equal(await sum(), a);
  await fs.writeFile(f, "two");
  const b = await sum();
  assert.notEqual(b, a);
  await fs.chmod(f, 0o755);
  assert.notEqual(await sum(), b);
  await fs.mkdir(path.join(ctx, "dir"));
  assert.match(await sourcesChecksum(await resolveSources(ctx, ["dir"], "COPY")), /^dir:/);
  assert.match(await sourcesChecksum(await resolveSources(ctx, ["f", "dir"], "COPY")), /^multi:/);
}));

test("copy semantics: file to dir/, file to a new name, directory contents, modes kept, owner set", () => withDirs(async (ctx, root) => {
  await fs.mkdir(path.join(ctx, "tree/inner"), { recursive: true });
  await fs.writeFile(path.join(ctx, "tree/inner/t"), "t");
  await fs.writeFile(path.join(ctx, "run.sh"), "#!/bin/sh", { mode: 0o750 });
  const owner = { uid: 123, gid: 456 };
  const src = async (...s: string[]) => resolveSources(ctx, s, "COPY");
  await copyInto({ rootfs: root, sources: await src("run.sh"), dest: "/app/", owner, cmd: "COPY", extractArchives: false });
  await copyInto({ rootfs: root, sources: await src("run.sh"), dest: "/bin/renamed", owner, cmd: "COPY", extractArchives: false });
  await copyInto({ rootfs: root, sources: await src("tree"), dest: "/opt", owner, cmd: "COPY", extractArchives: false });
  const st = await fs.stat(path.join(root, "app/run.sh"));
  assert.equal(st.mode & 0o777, 0o750);
  assert.deepEqual([st.uid, st.gid], [123, 456]);
  assert.equal((await fs.stat(path.join(root, "app"))).uid, 123, "a created destination directory gets the owner");
  assert.equal(await fs.readFile(path.join(root, "bin/renamed"), "utf8"), "#!/bin/sh");
  assert.equal(await fs.readFile(path.join(root, "opt/inner/t"), "utf8"), "t");
  await assert.rejects(copyInto({ rootfs: root, sources: await src("run.sh", "tree"), dest: "/x", owner, cmd: "COPY", extractArchives: false }), /must be a directory and end with a \//);
}));

test("--chown names from the image's passwd and group files; the user spec is the group without one", () => withDirs(async (_ctx, root) => {
  await fs.mkdir(path.join(root, "etc"));
  await fs.writeFile(path.join(root, "etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
  await fs.writeFile(path.join(root, "etc/group"), "root:x:0:\napp:x:1001:\nstaff:x:50:\n");
  assert.deepEqual(await parseChown("app", root), { uid: 1000, gid: 1001 });
  assert.deepEqual(await parseChown("app:staff", root), { uid: 1000, gid: 50 });
  assert.deepEqual(await parseChown("7:8", root), { uid: 7, gid: 8 });
  await assert.rejects(parseChown("ghost", root), /can't find uid for user ghost/);
}));

test("ADD extracts a local tar (plain or gzip) into the destination; COPY copies it as a file", () => withDirs(async (ctx, root) => {
  const { execFileSync } = await import("node:child_process");
  await fs.mkdir(path.join(ctx, "pkg/bin"), { recursive: true });
  await fs.writeFile(path.join(ctx, "pkg/bin/tool"), "tool", { mode: 0o755 });
  execFileSync("tar", ["czf", path.join(ctx, "pkg.tgz"), "-C", ctx, "pkg"]);
  execFileSync("tar", ["cf", path.join(ctx, "pkg.tar"), "-C", ctx, "pkg"]);
  const owner = { uid: 0, gid: 0 };
  await copyInto({ rootfs: root, sources: await resolveSources(ctx, ["pkg.tgz"], "ADD"), dest: "/opt/", owner, cmd: "ADD", extractArchives: true });
  await copyInto({ rootfs: root, sources: await resolveSources(ctx, ["pkg.tar"], "ADD"), dest: "/srv", owner, cmd: "ADD", extractArchives: true });
  await copyInto({ rootfs: root, sources: await resolveSources(ctx, ["pkg.tgz"], "COPY"), dest: "/copied/", owner, cmd: "COPY", extractArchives: false });
  assert.equal(await fs.readFile(path.join(root, "opt/pkg/bin/tool"), "utf8"), "tool");
  assert.equal((await fs.stat(path.join(root, "opt/pkg/bin/tool"))).mode & 0o777, 0o755);
  assert.equal(await fs.readFile(path.join(root, "srv/pkg/bin/tool"), "utf8"), "tool");
  assert.ok((await fs.stat(path.join(root, "copied/pkg.tgz"))).isFile());
}));
