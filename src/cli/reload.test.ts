import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import pino from "pino";
import { liveSettings } from "./daemon-config.js";
import { reloadConfiguration, type ReloadContext } from "./reload.js";

async function setup(initial: object) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "berth-reload-"));
  const file = path.join(dir, "daemon.json");
  await writeFile(file, JSON.stringify(initial));
  const out = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  out.on("data", (c: Buffer) => lines.push(...c.toString().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)));
  const logger = pino({ level: "info" }, out);
  const current = { "data-root": "/r", ...initial };
  const ctx: ReloadContext = { file, explicit: true, flags: { "data-root": "/r" }, current, live: liveSettings(current), logger };
  return { dir, file, ctx, lines, flush: () => new Promise((r) => setImmediate(r)) };
}

test("SIGHUP's reload applies debug, labels, mirrors, insecure registries and downloads, and logs each change", async () => {
  const s = await setup({ labels: ["a=1"], "max-concurrent-downloads": 3 });
  try {
    await writeFile(s.file, JSON.stringify({ debug: true, labels: ["a=2", "b=3"], "registry-mirrors": ["https://m.example"], "insecure-registries": ["10.0.0.0/8"], "max-concurrent-downloads": 8, bip: "172.50.0.1/16" }));
    assert.equal(await reloadConfiguration(s.ctx), true);
    assert.equal(s.ctx.logger.level, "debug");
    assert.deepEqual(s.ctx.live, { debug: true, labels: ["a=2", "b=3"], registryMirrors: ["https://m.example"], insecureRegistries: ["10.0.0.0/8"], maxConcurrentDownloads: 8, maxConcurrentUploads: 5 });
    await s.flush();
    const done = s.lines.find((l) => String(l.msg).startsWith("configuration reloaded"))!;
    assert.equal(done.msg, "configuration reloaded: debug, labels, registry-mirrors, insecure-registries, max-concurrent-downloads");
    assert.deepEqual((done.changed as Record<string, unknown>).labels, { from: ["a=1"], to: ["a=2", "b=3"] });
    assert.match(String(s.lines.find((l) => l.level === 40)!.msg), /applied only when berthd starts: bip/);

    // debug off again: back to the info level.
    await writeFile(s.file, JSON.stringify({ debug: false }));
    await reloadConfiguration(s.ctx);
    assert.equal(s.ctx.logger.level, "info");
    assert.deepEqual(s.ctx.live.labels, ["a=2", "b=3"], "a key no longer in the file keeps its value, as in dockerd");
  } finally {
    await rm(s.dir, { recursive: true, force: true });
  }
});

test("a broken file, a conflict with a flag, a bad insecure entry: nothing changes, the error is logged", async () => {
  const s = await setup({ labels: ["a=1"] });
  try {
    const before = structuredClone(s.ctx.live);
    for (const [text, why] of [
      ["{ nope", /not valid JSON/],
      [JSON.stringify({ "data-root": "/other", labels: ["z=9"] }), /specified both as a flag and in the configuration file: data-root/],
      [JSON.stringify({ "insecure-registries": ["https://x"] }), /should not contain/],
      [JSON.stringify({ "live-restore": false }), /live-restore/],
    ] as const) {
      await writeFile(s.file, text);
      assert.equal(await reloadConfiguration(s.ctx), false);
      assert.deepEqual(s.ctx.live, before);
      await s.flush();
      assert.match(String(s.lines.at(-1)!.msg), why);
      assert.match(String(s.lines.at(-1)!.msg), /^configuration reload failed, nothing changed/);
    }
  } finally {
    await rm(s.dir, { recursive: true, force: true });
  }
});
