import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { isBerthError } from "../base/errors.js";
import { tarLayer } from "./busybox-image.js";
import { checkLayer, LayerChecker, unsafeEntryReason } from "./layer-check.js";

test("which entries escape the root", () => {
  assert.equal(unsafeEntryReason({ name: "a/b" }), undefined);
  assert.equal(unsafeEntryReason({ name: "./a/b" }), undefined);
  assert.equal(unsafeEntryReason({ name: "a/..b" }), undefined);
  assert.equal(unsafeEntryReason({ name: "l", type: "symlink", linkname: "/etc/passwd" }), undefined, "symlinks are stored as they are");
  assert.equal(unsafeEntryReason({ name: "l", type: "symlink", linkname: "../../x" }), undefined);
  assert.equal(unsafeEntryReason({ name: "h", type: "link", linkname: "bin/busybox" }), undefined);
  assert.match(unsafeEntryReason({ name: "../x" })!, /escapes the root/);
  assert.match(unsafeEntryReason({ name: "a/../../x" })!, /escapes the root/);
  assert.match(unsafeEntryReason({ name: "/etc/x" })!, /absolute path/);
  assert.match(unsafeEntryReason({ name: "h", type: "link", linkname: "../etc/shadow" })!, /hard link .* escapes/);
  assert.match(unsafeEntryReason({ name: "h", type: "link", linkname: "/etc/shadow" })!, /hard link .* absolute/);
  assert.equal(unsafeEntryReason({ name: "a/.wh.b" }), undefined);
  assert.equal(unsafeEntryReason({ name: ".wh..wh..opq" }), undefined, "an opaque root is a valid whiteout");
  assert.equal(unsafeEntryReason({ name: "a/.wh...x" }), undefined, "hides \"..x\", an ordinary name");
  // ".wh." + "" / "." / "..": the directory itself or its parent.
  for (const w of [".wh.", ".wh..", ".wh...", "a/.wh..", "a/.wh...", "a/.wh./"]) assert.match(unsafeEntryReason({ name: w })!, /whiteout .* names no entry/, w);
});

const sha = (b: Buffer) => "sha256:" + createHash("sha256").update(b).digest("hex");

test("diffID and compression of plain and gzipped layers, fed in small chunks", async () => {
  const layer = await tarLayer([{ name: "d/", type: "directory" }, { name: "d/f", data: "x".repeat(100_000) }]);
  const chunks = (b: Buffer) => Array.from({ length: Math.ceil(b.length / 1000) }, (_, i) => b.subarray(i * 1000, i * 1000 + 1000));
  const plain = await checkLayer(chunks(layer));
  assert.deepEqual(plain, { diffId: sha(layer), compression: "none", uncompressedSize: layer.length, entries: 2 });
  const gz = await checkLayer(chunks(gzipSync(layer)));
  assert.equal(gz.diffId, sha(layer));
  assert.equal(gz.compression, "gzip");
  assert.equal((await checkLayer([])).entries, 0, "an empty layer is a valid (empty) tar");
});

test("bad layers are invalid-argument errors", async () => {
  const layer = await tarLayer([{ name: "f", data: "x".repeat(5000) }]);
  const cases: [Buffer, RegExp, boolean][] = [
    [await tarLayer([{ name: "../evil", data: "x" }]), /escapes the root/, true],
    [Buffer.from("definitely not a tar archive ".repeat(40)), /not a valid tar/, false],
    [layer.subarray(0, 1500), /not a valid tar/, false],
    [gzipSync(layer).subarray(0, 60), /gzip|not a valid tar/, false],
  ];
  for (const [data, re, unsafe] of cases) {
    const c = new LayerChecker("layer L");
    await assert.rejects(async () => { await c.write(data); await c.end(); }, (e) => isBerthError(e, "invalid-argument") && re.test(e.message) && e.message.startsWith("layer L"));
    assert.equal(c.unsafe, unsafe);
  }
});
