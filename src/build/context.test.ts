import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { contextPath, openBuildContext } from "./context.js";

type Entry = { name: string; type?: "file" | "directory" | "symlink" | "link"; body?: string; linkname?: string; mode?: number };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => { chunks.push(c as Buffer); });
  const ended = new Promise<void>((r) => { pack.on("end", () => r()); });
  for (const e of entries) {
    const { body, ...header } = e;
    await new Promise<void>((res, rej) => pack.entry({ type: "file", mode: 0o644, ...header }, body ?? "", (err) => (err ? rej(err) : res())));
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

async function* once(b: Buffer) { yield b; }

async function withRoot(fn: (root: string) => Promise<void>) {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-ctx-"));
  try { await fn(root); } finally { await fs.rm(root, { recursive: true, force: true }); }
}

test("contextPath cleans and refuses escapes", () => {
  assert.equal(contextPath("./a/../b/"), "b");
  assert.equal(contextPath("/abs/x"), "abs/x");
  assert.equal(contextPath("."), "");
  assert.throws(() => contextPath("../x"), /outside of the build context/);
  assert.throws(() => contextPath("a/../../x"), /outside of the build context/);
});

test("extracts plain and gzipped tars with modes; finds the Dockerfile (lowercase fallback)", () => withRoot(async (root) => {
  const t = await tarOf([
    { name: "dockerfile", body: "FROM scratch\n" },
    { name: "dir/", type: "directory", mode: 0o750 },
    { name: "dir/run.sh", body: "#!/bin/sh\n", mode: 0o755 },
    { name: "link", type: "symlink", linkname: "dir/run.sh" },
    { name: "hard", type: "link", linkname: "dir/run.sh" },
  ]);
  for (const body of [t, gzipSync(t)]) {
    const ctx = await openBuildContext(once(body), { tmpRoot: root });
    assert.equal(ctx.dockerfilePath, "dockerfile");
    assert.equal(ctx.dockerfile, "FROM scratch\n");
    assert.equal((await fs.stat(path.join(ctx.dir, "dir/run.sh"))).mode & 0o777, 0o755);
    assert.equal((await fs.stat(path.join(ctx.dir, "dir"))).mode & 0o777, 0o750);
    assert.equal(await fs.readlink(path.join(ctx.dir, "link")), "dir/run.sh");
    assert.equal((await fs.stat(path.join(ctx.dir, "hard"))).nlink, 2);
    await ctx.close();
    await assert.rejects(fs.stat(ctx.dir));
  }
}));

test("hostile entries fail the build and leave nothing behind", () => withRoot(async (root) => {
  const cases: [Entry[], RegExp][] = [
    [[{ name: "../evil", body: "x" }], /outside of the build context/],
    [[{ name: "out", type: "symlink", linkname: "/etc" }, { name: "out/passwd", body: "x" }], /through the symlink "out"/],
    [[{ name: "h", type: "link", linkname: "../../etc/passwd" }], /outside of the build context/],
  ];
  for (const [entries, re] of cases) {
    await assert.rejects(openBuildContext(once(await tarOf([{ name: "Dockerfile", body: "FROM x" }, ...entries])), { tmpRoot: root }), re);
  }
  assert.deepEqual(await fs.readdir(root), []);
}));

test("a file replacing a symlink does not write through it", () => withRoot(async (root) => {
  const victim = path.join(root, "victim");
  await fs.writeFile(victim, "safe");
  const ctx = await openBuildContext(once(await tarOf([
    { name: "Dockerfile", body: "FROM x" }, { name: "f", type: "symlink", linkname: victim }, { name: "f", body: "pwned" },
  ])), { tmpRoot: path.join(root, "tmp") });
  assert.equal(await fs.readFile(victim, "utf8"), "safe");
  assert.equal(await fs.readFile(path.join(ctx.dir, "f"), "utf8"), "pwned");
  await ctx.close();
}));

test("a missing Dockerfile is dockerd's message; .dockerignore removes itself and the Dockerfile", () => withRoot(async (root) => {
  await assert.rejects(openBuildContext(once(await tarOf([{ name: "a", body: "" }])), { tmpRoot: root, dockerfile: "sub/Dockerfile" }), /Cannot locate specified Dockerfile: sub\/Dockerfile/);
  const ctx = await openBuildContext(once(await tarOf([
    { name: "Dockerfile", body: "FROM x" }, { name: ".dockerignore", body: "Dockerfile\n.dockerignore\n*.md" }, { name: "a.md", body: "" },
  ])), { tmpRoot: root });
  assert.deepEqual((await fs.readdir(ctx.dir)).sort(), ["a.md"]);
  await ctx.close();
}));

test("overlay options longer than a page are made relative to the layers' common directory", async () => {
  const { fitOptions } = await import("./snapshot-fs.js");
  assert.deepEqual(fitOptions(["ro", "lowerdir=/a/1/fs:/a/2/fs"]), { options: "ro,lowerdir=/a/1/fs:/a/2/fs" });
  const lowers = Array.from({ length: 200 }, (_, i) => `/var/lib/containerd/snapshots/${i}/fs`).join(":");
  const r = fitOptions([`lowerdir=${lowers}`, "upperdir=/var/lib/containerd/snapshots/999/fs", "workdir=/var/lib/containerd/snapshots/999/work"]);
  assert.equal(r.cwd, "/var/lib/containerd/snapshots");
  assert.ok(r.options.length <= 4095);
  assert.match(r.options, /^lowerdir=0\/fs:1\/fs:.*,upperdir=999\/fs,workdir=999\/work$/);
});
