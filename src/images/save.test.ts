import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { ContainerdClient } from "../containerd/index.js";
import type { ResolvedImage } from "./image-store.js";
import { saveArchive } from "./save.js";

test("a reader that goes away mid-save does not leave an unhandled stream error", async () => {
  const digest = "sha256:" + "a".repeat(64);
  const big = { mediaType: "application/vnd.docker.image.rootfs.diff.tar", digest, size: 64 << 20 };
  const client = {
    content: {
      async *read() {
        for (let i = 0; i < 1024; i++) { yield Buffer.alloc(64 << 10); await sleep(1); }
      },
    },
  } as unknown as ContainerdClient;
  const image = {
    manifest: { layers: [big] }, configDesc: { ...big, digest: "sha256:" + "b".repeat(64), size: 2 },
    manifestDesc: { ...big, digest: "sha256:" + "c".repeat(64), size: 2 }, target: { ...big, digest: "sha256:" + "c".repeat(64), size: 2 },
  } as unknown as ResolvedImage;
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on("uncaughtException", onUncaught);
  try {
    const out = saveArchive(client, [{ image, names: [] }]);
    await new Promise<void>((resolve) => out.once("data", () => resolve()));
    out.destroy();
    await sleep(100);
    assert.deepEqual(uncaught, []);
  } finally {
    process.off("uncaughtException", onUncaught);
  }
});
