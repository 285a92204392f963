import assert from "node:assert/strict";
import { appendFile, open, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { isBerthError } from "../../base/errors.js";
import { tailStart } from "./file-lines.js";
import { readLogs, type ReadLogsOptions } from "./json-file-reader.js";
import { createJsonFileLogger, type LogWriter } from "./json-file-writer.js";
import type { LogRecord } from "./log-record.js";
import { parseDockerTimestamp } from "./timestamp.js";
import { dockerRecord, eventually, steppingClock, tempDir } from "./testdata/helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
let n = 0;
const logPath = () => join(dir, `r${++n}-json.log`);

before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

/** `…:MM:SS.123Z` for record i of a stepping clock. */
const timeOf = (i: number) =>
  `2026-11-29T05:${String(36 + Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}.123Z`;
const RECORD = dockerRecord("line00", "stdout", timeOf(0)).length;

/** Writes line00… through a writer with a one-second-per-record clock; returns the writer open. */
async function writer(path: string, opts: { maxSize?: number; maxFile?: number } = {}): Promise<LogWriter & { next: (k?: number, stream?: "stdout" | "stderr") => Promise<void> }> {
  const w = await createJsonFileLogger({ path, ...steppingClock(), ...opts });
  let i = 0;
  const next = async (k = 1, stream: "stdout" | "stderr" = "stdout") => {
    for (let j = 0; j < k; j++) await w.write(stream, Buffer.from(`line${String(i++).padStart(2, "0")}\n`));
  };
  return Object.assign(w, { next });
}

async function collect(path: string, opts: ReadLogsOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const r of readLogs(path, opts)) out.push(r.line.toString().trimEnd());
  return out;
}

/** Consumes a reader in the background; `lines` fills up as records arrive. */
function consume(path: string, opts: ReadLogsOptions) {
  const reader = readLogs(path, opts);
  const lines: string[] = [];
  const done = (async () => { for await (const r of reader) lines.push(r.line.toString().trimEnd()); })();
  return { reader, lines, done };
}

const names = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `line${String(from + i).padStart(2, "0")}`);

describe("readLogs: history", () => {
  it("reads rotated files oldest first, then the current one", async () => {
    const path = logPath();
    const w = await writer(path, { maxSize: 2 * RECORD, maxFile: 3 });
    await w.next(5);
    await w.close();
    assert.deepEqual(await collect(path, { maxFile: 3 }), names(0, 5));
    // Without maxFile, the rotated files that exist are found.
    assert.deepEqual(await collect(path), names(0, 5));
    // A smaller maxFile reads fewer rotated files, as dockerd's reader does.
    assert.deepEqual(await collect(path, { maxFile: 2 }), names(2, 5));
  });

  it("returns the record's fields", async () => {
    const path = logPath();
    const w = await createJsonFileLogger({ path, ...steppingClock(), extra: { tag: "t" } });
    await w.write("stderr", Buffer.from("caf\xc3\xa9\r\npartial", "latin1"));
    await w.close();
    const recs: LogRecord[] = [];
    for await (const r of readLogs(path)) recs.push(r);
    assert.equal(recs.length, 2);
    assert.deepEqual(recs[0]!.line, Buffer.from("café\r\n"));
    assert.equal(recs[0]!.partial, false);
    assert.equal(recs[0]!.stream, "stderr");
    assert.equal(recs[0]!.timestamp, "2026-11-29T05:36:00.123Z");
    assert.equal(recs[0]!.time.toISOString(), "2026-11-29T05:36:00.123Z");
    assert.equal(recs[0]!.timeNanos, parseDockerTimestamp("2026-11-29T05:36:00.123Z"));
    assert.deepEqual(recs[0]!.attrs, { tag: "t" });
    assert.deepEqual(recs[1]!.line, Buffer.from("partial"));
    assert.equal(recs[1]!.partial, true);
  });

  it("reads a file written by dockerd", async () => {
    const path = logPath();
    await writeFile(path,
      '{"log":"hello \\u003cworld\\u003e\\u0009\\ufffd\\n","stream":"stdout","time":"2024-05-01T10:20:30.123456789Z"}\n' +
      '{"log":"oops","stream":"stderr","time":"2024-05-01T10:20:30.12345679Z"}\n');
    const recs: LogRecord[] = [];
    for await (const r of readLogs(path)) recs.push(r);
    assert.deepEqual(recs.map((r) => [r.stream, r.line.toString(), r.partial]),
      [["stdout", "hello <world>\t\ufffd\n", false], ["stderr", "oops", true]]);
    assert.equal(recs[1]!.timeNanos - recs[0]!.timeNanos, 1n);
  });

  it("tail: the last N records across files", async () => {
    const path = logPath();
    const w = await writer(path, { maxSize: 2 * RECORD, maxFile: 3 });
    await w.next(5); // .2: 0 1 | .1: 2 3 | current: 4
    await w.close();
    assert.deepEqual(await collect(path, { tail: 1 }), ["line04"]);
    assert.deepEqual(await collect(path, { tail: 2 }), ["line03", "line04"]);
    assert.deepEqual(await collect(path, { tail: 4 }), names(1, 5));
    assert.deepEqual(await collect(path, { tail: 100 }), names(0, 5));
    assert.deepEqual(await collect(path, { tail: "all" }), names(0, 5));
    assert.deepEqual(await collect(path, { tail: 0 }), []);
  });

  it("tail: works when the current file is empty (just rotated) or missing", async () => {
    const path = logPath();
    await writeFile(`${path}.1`, dockerRecord("a", "stdout", timeOf(0)) + dockerRecord("b", "stdout", timeOf(1)));
    assert.deepEqual(await collect(path, { tail: 1 }), ["b"]);
    await writeFile(path, "");
    assert.deepEqual(await collect(path, { tail: 1, maxFile: 2 }), ["b"]);
  });

  it("tail reads backwards from the end, not the whole file", async () => {
    const path = logPath();
    const line = dockerRecord("x".repeat(100), "stdout", timeOf(0));
    await writeFile(path, line.repeat(40_000)); // ~5 MB
    const fh = await open(path, "r");
    try {
      let bytesRead = 0;
      const counting = {
        read: async (buf: Buffer, off: number, len: number, pos: number) => {
          const r = await fh.read(buf, off, len, pos);
          bytesRead += r.bytesRead;
          return r;
        },
      } as unknown as Parameters<typeof tailStart>[0];
      const size = line.length * 40_000;
      assert.deepEqual(await tailStart(counting, size, 3), { start: size - 3 * line.length, lines: 3 });
      assert.ok(bytesRead <= 64 * 1024, `read ${bytesRead} bytes`);
      assert.deepEqual(await tailStart(counting, 2 * line.length, 5), { start: 0, lines: 2 });
      // Bytes after the last newline (a record being written) are not a line.
      assert.deepEqual(await tailStart(counting, 2 * line.length + 10, 1), { start: line.length, lines: 1 });
      assert.deepEqual(await tailStart(counting, 2 * line.length + 10, 0), { start: 2 * line.length, lines: 0 });
    } finally {
      await fh.close();
    }
  });

  it("since is inclusive, to the nanosecond; until is inclusive and ends the read", async () => {
    const path = logPath();
    const w = await writer(path, { maxSize: 3 * RECORD, maxFile: 4 });
    await w.next(10);
    await w.close();
    const t = (i: number) => parseDockerTimestamp(timeOf(i));
    assert.deepEqual(await collect(path, { since: t(4) }), names(4, 10));
    assert.deepEqual(await collect(path, { since: t(4) + 1n }), names(5, 10));
    assert.deepEqual(await collect(path, { since: new Date(timeOf(4)) }), names(4, 10));
    assert.deepEqual(await collect(path, { until: t(2) }), names(0, 3));
    assert.deepEqual(await collect(path, { until: t(2) - 1n }), names(0, 2));
    assert.deepEqual(await collect(path, { since: t(3), until: t(6) }), names(3, 7));
    // tail first, then the time filter (dockerd's order).
    assert.deepEqual(await collect(path, { tail: 3, since: t(8) }), names(8, 10));
    assert.deepEqual(await collect(path, { since: t(20) }), []);
  });

  it("follows dockerd's since/until rules when times step back", async () => {
    const path = logPath();
    await writeFile(path, [5, 3, 7, 4, 9, 2, 8].map((s, i) => dockerRecord(`r${i}`, "stdout", `2026-01-01T00:00:0${s}Z`)).join(""));
    const at = (s: number) => new Date(`2026-01-01T00:00:0${s}Z`);
    // since stops applying after the first record that passes it.
    assert.deepEqual(await collect(path, { since: at(6) }), ["r2", "r3", "r4", "r5", "r6"]);
    // until stops at the first record after it, even if later ones are earlier.
    assert.deepEqual(await collect(path, { until: at(8) }), ["r0", "r1", "r2", "r3"]);
  });

  it("filters streams after tail and time: tail counts both streams", async () => {
    const path = logPath();
    const w = await writer(path);
    await w.next(2, "stdout");
    await w.next(2, "stderr");
    await w.next(1, "stdout");
    await w.close();
    assert.deepEqual(await collect(path, { stderr: false }), ["line00", "line01", "line04"]);
    assert.deepEqual(await collect(path, { stdout: false }), ["line02", "line03"]);
    assert.deepEqual(await collect(path, { stdout: false, tail: 2 }), ["line03"]);
    assert.deepEqual(await collect(path, { stdout: false, stderr: false }), []);
  });

  it("skips and counts corrupt lines", async () => {
    const path = logPath();
    await writeFile(`${path}.1`, dockerRecord("a", "stdout", timeOf(0)) + "not json\n" + '{"log":"cut off","str');
    await writeFile(path, [
      dockerRecord("b", "stdout", timeOf(1)),
      "\n",
      "[1,2]\n",
      '{"log":"x\\n","stream":"stdin","time":"2026-01-01T00:00:00Z"}\n',
      '{"log":"x\\n","stream":"stdout","time":"yesterday"}\n',
      '{"log":"x\\n","stream":"stdout"}\n',
      '{"log":42,"stream":"stdout","time":"2026-01-01T00:00:00Z"}\n',
      dockerRecord("c", "stdout", timeOf(2)),
      '{"log":"being writ', // the writer's next record, half written: not yet a line
    ].join(""));
    const reader = readLogs(path);
    const got: string[] = [];
    for await (const r of reader) got.push(r.line.toString().trimEnd());
    assert.deepEqual(got, ["a", "b", "c"]);
    assert.equal(reader.corrupt, 8); // 1 + the cut-off end of the rotated file + 6
  });

  it("validates its options", () => {
    const bad = (o: ReadLogsOptions) => assert.throws(() => readLogs("x", o), (e: unknown) => isBerthError(e, "invalid-argument"));
    bad({ tail: -1 });
    bad({ tail: 1.5 });
    bad({ maxFile: 0 });
    bad({ since: new Date(Number.NaN) });
  });

  it("close() before iterating opens nothing; an aborted signal yields nothing", async () => {
    const path = logPath();
    await writeFile(path, dockerRecord("a", "stdout", timeOf(0)));
    await readLogs(path).close();
    assert.deepEqual(await collect(path, { signal: AbortSignal.abort() }), []);
  });
});

describe("readLogs: follow", () => {
  it("yields what is written after it started, then ends when the writer closes", async () => {
    const path = logPath();
    const w = await writer(path);
    await w.next(2);
    const c = consume(path, { follow: true, done: w.closed });
    await eventually("history", () => c.lines.length === 2);
    await w.next(2);
    await eventually("new lines", () => c.lines.length === 4);
    await w.write("stdout", Buffer.from("unfinished"));
    await w.close(); // writes the partial line, then ends the follower
    await c.done;
    assert.deepEqual(c.lines, [...names(0, 4), "unfinished"]);
  });

  it("with tail 0 yields only new records", async () => {
    const path = logPath();
    const w = await writer(path);
    await w.next(3);
    const c = consume(path, { follow: true, tail: 0, done: w.closed });
    await c.reader.ready;
    await w.next(1);
    await eventually("new line", () => c.lines.length === 1);
    await w.close();
    await c.done;
    assert.deepEqual(c.lines, ["line03"]);
  });

  it("follows across rotations (max-file 2)", async () => {
    const path = logPath();
    const w = await writer(path, { maxSize: 2 * RECORD, maxFile: 2 });
    await w.next(1);
    const c = consume(path, { follow: true, done: w.closed, maxFile: 2 });
    await eventually("first", () => c.lines.length === 1);
    for (let i = 1; i < 9; i++) {
      await w.next(1);
      await eventually(`line ${i}`, () => c.lines.length === i + 1);
    }
    await w.close();
    await c.done;
    assert.deepEqual(c.lines, names(0, 9));
  });

  it("follows across rotations that remove the file (max-file 1)", async () => {
    const path = logPath();
    const w = await writer(path, { maxSize: 2 * RECORD, maxFile: 1 });
    const c = consume(path, { follow: true, done: w.closed, maxFile: 1 });
    for (let i = 0; i < 6; i++) {
      await w.next(1);
      await eventually(`line ${i}`, () => c.lines.length === i + 1);
    }
    await w.close();
    await c.done;
    assert.deepEqual(c.lines, names(0, 6));
  });

  it("catches up on files rotated while it was not reading", async () => {
    const path = logPath();
    const w = await writer(path, { maxSize: 2 * RECORD, maxFile: 4 });
    await w.next(1);
    const reader = readLogs(path, { follow: true, done: w.closed, maxFile: 4 });
    const it = reader[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value?.line.toString(), "line00\n");
    // The consumer is slow: three rotations happen before it asks for more.
    await w.next(6); // current(0 1) → .1, (2 3) → .1 (0 1 → .2), (4 5) → .1 …, current: 6
    await w.close();
    const rest: string[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.line.toString().trimEnd());
    assert.deepEqual(rest, names(1, 7));
  });

  it("catches up even when the file it was reading has been dropped by rotation", async () => {
    const path = logPath();
    const w = await writer(path, { maxSize: 2 * RECORD, maxFile: 3 });
    await w.next(1);
    const reader = readLogs(path, { follow: true, done: w.closed, maxFile: 3 });
    const it = reader[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.line.toString(), "line00\n");
    // (0 1) → .1 → .2 → dropped; then .2: (4 5), .1: (6 7), current: 8. 2 and 3 are lost.
    await w.next(8);
    await w.close();
    const rest: string[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.line.toString().trimEnd());
    assert.deepEqual(rest, ["line01", ...names(4, 9)]);
  });

  it("waits for a log file that does not exist yet", async () => {
    const path = logPath();
    const ac = new AbortController();
    const c = consume(path, { follow: true, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 50));
    const w = await writer(path);
    await w.next(2);
    await eventually("lines in the new file", () => c.lines.length === 2);
    ac.abort();
    await c.done;
    await w.close();
    assert.deepEqual(c.lines, names(0, 2));
  });

  it("an abort ends it, quietly", async () => {
    const path = logPath();
    const w = await writer(path);
    await w.next(1);
    const ac = new AbortController();
    const c = consume(path, { follow: true, signal: ac.signal });
    await eventually("history", () => c.lines.length === 1);
    ac.abort();
    await c.done;
    await w.close();
    assert.deepEqual(c.lines, ["line00"]);
  });

  it("close() ends it and can be awaited with `await using`", async () => {
    const path = logPath();
    const w = await writer(path);
    await w.next(1);
    let done: Promise<void>;
    let lines: string[];
    {
      await using reader = readLogs(path, { follow: true });
      lines = [];
      done = (async () => { for await (const r of reader) lines.push(r.line.toString().trimEnd()); })();
      await eventually("history", () => lines.length === 1);
    }
    await done;
    await w.close();
    assert.deepEqual(lines, ["line00"]);
  });

  it("until ends it when the time has passed, even with nothing more written", async () => {
    const path = logPath();
    await writeFile(path, dockerRecord("old", "stdout", "2026-01-01T00:00:00Z"));
    const c = consume(path, { follow: true, until: new Date(Date.now() + 200) });
    await c.done;
    assert.deepEqual(c.lines, ["old"]);
  });

  it("picks up a record appended in two writes only once complete", async () => {
    const path = logPath();
    await writeFile(path, "");
    const ac = new AbortController();
    const c = consume(path, { follow: true, signal: ac.signal, pollInterval: 20 });
    const rec = dockerRecord("split", "stdout", timeOf(0));
    await appendFile(path, rec.slice(0, 10));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(c.lines, []);
    await appendFile(path, rec.slice(10));
    await eventually("completed record", () => c.lines.length === 1);
    ac.abort();
    await c.done;
    assert.deepEqual(c.lines, ["split"]);
    assert.equal(c.reader.corrupt, 0);
  });

  it("notices a rotation done by another writer (rename + new file)", async () => {
    const path = logPath();
    await writeFile(path, dockerRecord("a", "stdout", timeOf(0)));
    const ac = new AbortController();
    const c = consume(path, { follow: true, signal: ac.signal, maxFile: 2 });
    await eventually("a", () => c.lines.length === 1);
    await appendFile(path, dockerRecord("b", "stdout", timeOf(1)));
    await rename(path, `${path}.1`);
    await writeFile(path, dockerRecord("c", "stdout", timeOf(2)));
    await eventually("b and c", () => c.lines.length === 3);
    ac.abort();
    await c.done;
    assert.deepEqual(c.lines, ["a", "b", "c"]);
  });
});
