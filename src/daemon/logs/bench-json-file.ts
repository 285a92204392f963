/**
 * Throughput of the json-file writer and reader. Prints numbers, asserts nothing.
 *   node --import tsx src/daemon/logs/bench-json-file.ts [MB]
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { createJsonFileLogger } from "./json-file-writer.js";
import { readLogs } from "./json-file-reader.js";

const totalMB = Number(process.argv[2] ?? 10);
const TOTAL = totalMB * 1e6;

/** Lines of 20–180 printable bytes, a few with characters that need escaping, in 64 KiB chunks. */
function makeChunks(total: number, chunkSize: number): Buffer[] {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < total; i++) {
    const len = 20 + ((i * 7919) % 160);
    let s = `${i} `.padEnd(len, "abcdefghijklmnopqrstuvwxyz0123456789 ");
    if (i % 10 === 0) s += ' "quoted" <tag> \ttab é';
    s += "\n";
    lines.push(s);
    size += Buffer.byteLength(s);
  }
  const all = Buffer.from(lines.join(""));
  const chunks: Buffer[] = [];
  for (let o = 0; o < all.length; o += chunkSize) chunks.push(all.subarray(o, o + chunkSize));
  return chunks;
}

async function dirSize(dir: string, names: string[]): Promise<number> {
  let n = 0;
  for (const name of names) n += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size;
  return n;
}

/** One run: seconds from the first write to `close()` resolving, and the bytes of the files left. */
async function writeOnce(chunks: Buffer[], opts: { maxSize?: number; maxFile?: number }): Promise<{ sec: number; disk: number }> {
  const dir = await mkdtemp(join(tmpdir(), "berth-logs-bench-"));
  try {
    const path = join(dir, "c-json.log");
    const w = await createJsonFileLogger({ path, ...opts });
    const t0 = process.hrtime.bigint();
    let pending: Promise<void>[] = [];
    for (let i = 0; i < chunks.length; i++) {
      // Alternate streams the way a chatty container would; await in batches for backpressure.
      pending.push(w.write(i % 4 === 3 ? "stderr" : "stdout", chunks[i]!));
      if (pending.length >= 64) { await Promise.all(pending); pending = []; }
    }
    await Promise.all(pending);
    await w.close();
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    const names = ["c-json.log", ...Array.from({ length: (opts.maxFile ?? 1) - 1 }, (_, i) => `c-json.log.${i + 1}`)];
    return { sec, disk: await dirSize(dir, names) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Median of three runs, in MB/s of container output (the input) and of JSON written. */
async function benchWrite(label: string, chunkSize: number, opts: { maxSize?: number; maxFile?: number }): Promise<void> {
  const chunks = makeChunks(TOTAL, chunkSize);
  const input = chunks.reduce((n, c) => n + c.length, 0);
  const runs: { sec: number; disk: number }[] = [];
  for (let i = 0; i < 3; i++) runs.push(await writeOnce(chunks, opts));
  runs.sort((a, b) => a.sec - b.sec);
  const { sec, disk } = runs[1]!;
  const rotating = opts.maxSize !== undefined;
  console.log(
    `write ${label.padEnd(34)} ${(input / 1e6).toFixed(1)} MB of output in ${(sec * 1000).toFixed(0).padStart(4)} ms: ` +
    `${(input / 1e6 / sec).toFixed(0).padStart(4)} MB/s in` +
    (rotating
      ? ` (rotating; ${(disk / 1e6).toFixed(1)} MB kept)`
      : `, ${(disk / 1e6 / sec).toFixed(0).padStart(4)} MB/s of JSON out (${(disk / 1e6).toFixed(1)} MB)`),
  );
}

async function benchRead(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "berth-logs-bench-"));
  try {
    const path = join(dir, "c-json.log");
    const w = await createJsonFileLogger({ path, maxSize: 2_000_000, maxFile: 5 });
    for (const c of makeChunks(TOTAL, 64 * 1024)) await w.write("stdout", c);
    await w.close();
    for (const tail of ["all", 100] as const) {
      const t0 = process.hrtime.bigint();
      let n = 0;
      let bytes = 0;
      for await (const r of readLogs(path, { maxFile: 5, tail })) { n++; bytes += r.line.length; }
      const sec = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(
        `read  tail=${String(tail).padEnd(29)} ${n} records (${(bytes / 1e6).toFixed(1)} MB of lines) in ` +
        `${(sec * 1000).toFixed(1)} ms` + (tail === "all" ? `: ${(bytes / 1e6 / sec).toFixed(0)} MB/s` : ""),
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await benchWrite("64 KiB chunks", 64 * 1024, {});
await benchWrite("64 KiB chunks, max-size 1m x3", 64 * 1024, { maxSize: 1_000_000, maxFile: 3 });
await benchWrite("4 KiB chunks (pipe-sized)", 4096, {});
await benchWrite("200 B chunks (about a line each)", 200, {});
await benchRead();
