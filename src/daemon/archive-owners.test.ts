// docker cp under --userns-remap: the archive speaks the container's ids, the disk the host's.
import assert from "node:assert/strict";
import { test } from "node:test";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import tarStream from "tar-stream";
import { archiveOps } from "./archive.js";
import { putArchive } from "./archive-put.js";
import { exportRootfs } from "./rootfs-export.js";

const IS_ROOT = process.getuid?.() === 0;
const maps = { uids: [{ containerID: 0, hostID: 100000, size: 65536 }], gids: [{ containerID: 0, hostID: 200000, size: 65536 }] };

function tarOf(entries: { name: string; uid: number; gid: number; body?: string; type?: "file" | "directory" }[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of entries) pack.entry({ name: e.name, uid: e.uid, gid: e.gid, mode: 0o644, type: e.type ?? "file" }, e.body ?? "");
  pack.finalize();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    pack.on("data", (c: unknown) => chunks.push(c as Buffer)).on("end", () => resolve(Buffer.concat(chunks))).on("error", reject);
  });
}

async function headersOf(tar: Readable): Promise<Record<string, [number, number]>> {
  const out: Record<string, [number, number]> = {};
  const ex = tarStream.extract();
  ex.on("entry", (h, s, next) => { out[h.name] = [h.uid ?? -1, h.gid ?? -1]; s.resume(); s.on("end", next); });
  await new Promise<void>((resolve, reject) => { ex.on("finish", resolve).on("error", reject); tar.pipe(ex); });
  return out;
}

test("put shifts owners onto the disk (implied parents are the container root's); get shifts them back", { skip: IS_ROOT ? false : "chown needs root" }, async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cp-owners-"));
  try {
    await fs.mkdir(path.join(root, "dst"));
    const ops = archiveOps(root, maps);
    await putArchive(root, "/dst", Readable.from(await tarOf([{ name: "a/b/f", uid: 0, gid: 0, body: "x" }, { name: "g", uid: 7, gid: 8, body: "y" }])), { maps });
    const ids = async (p: string) => { const s = await fs.lstat(path.join(root, "dst", p)); return [s.uid, s.gid]; };
    assert.deepEqual(await ids("a/b/f"), [100000, 200000]);
    assert.deepEqual(await ids("a"), [100000, 200000]);
    assert.deepEqual(await ids("a/b"), [100000, 200000]);
    assert.deepEqual(await ids("g"), [100007, 200008]);
    // A host id outside the mappings shows as the overflow id, as the kernel shows it inside.
    await fs.writeFile(path.join(root, "dst", "h"), "z");
    await fs.chown(path.join(root, "dst", "h"), 5, 5);
    const got = await headersOf((await ops.get("/dst")).tar);
    assert.deepEqual(got["dst/g"], [7, 8]);
    assert.deepEqual(got["dst/a/b/f"], [0, 0]);
    assert.deepEqual(got["dst/h"], [65534, 65534]);
    // Without mappings the ids pass through.
    assert.deepEqual((await headersOf((await archiveOps(root).get("/dst/g")).tar))["g"], [100007, 200008]);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

test("docker export under --userns-remap: owners are the container's ids", { skip: IS_ROOT ? false : "chown needs root" }, async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-export-owners-"));
  try {
    await fs.writeFile(path.join(root, "f"), "x");
    await fs.chown(path.join(root, "f"), 100007, 200008);
    await fs.writeFile(path.join(root, "h"), "y");
    await fs.chown(path.join(root, "h"), 5, 5);
    const got = await headersOf(exportRootfs(root, { maps }));
    assert.deepEqual(got["f"], [7, 8]);
    assert.deepEqual(got["h"], [65534, 65534]);
    assert.deepEqual((await headersOf(exportRootfs(root)))["f"], [100007, 200008]);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});
