import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createFileCache } from "./cache.js";

test("the file cache persists entries and --from checksums; clear empties both and names the images", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cache-"));
  try {
    const now = () => new Date("2026-01-02T03:04:05Z");
    const a = createFileCache(dir, now);
    assert.equal(await a.get("k1"), undefined);
    await a.put("k1", "sha256:aa");
    await a.put("k2", "sha256:bb");
    await a.putSum("s1", "file:123");
    const b = createFileCache(dir, now);
    assert.equal(await b.get("k1"), "sha256:aa");
    assert.equal(await b.getSum("s1"), "file:123");
    assert.deepEqual((await b.entries()).k2, { image: "sha256:bb", created: "2026-01-02T03:04:05.000Z" });
    await b.drop("k2");
    assert.deepEqual((await b.clear()).sort(), ["sha256:aa"]);
    const c = createFileCache(dir, now);
    assert.deepEqual(await c.entries(), {});
    assert.equal(await c.getSum("s1"), undefined);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
