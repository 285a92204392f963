import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { type ErrorKind, isBerthError } from "../../base/errors.js";
import { createJsonFileLogger } from "./json-file-writer.js";
import { MAX_LINE_PIECE } from "./line-splitter.js";
import { planAppends } from "./rotation.js";
import { parseDockerTimestamp } from "./timestamp.js";
import { dockerRecord, records, steppingClock, tempDir } from "./testdata/helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
let n = 0;
/** A new log path in the test directory. */
const logPath = () => join(dir, `c${++n}-json.log`);

before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

async function rejectsWith(p: Promise<unknown>, kind: ErrorKind, message?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isBerthError(e, kind), `expected ${kind}, got ${String(e)}`);
    if (message !== undefined) assert.equal(e.message, message);
    return true;
  });
}

describe("json-file writer: format", () => {
  it("writes docker's exact bytes", async () => {
    const path = logPath();
    const now = new Date("2026-11-29T05:36:51.123Z");
    const mono = [1_000_000, 1_456_789, 1_456_790];
    const w = await createJsonFileLogger({ path, now: () => now, monotonicNs: () => mono.shift()! });
    await w.write("stdout", Buffer.from('hello "world" <b>&\ttab\r\n'));
    await w.write("stderr", Buffer.from("caf\xc3\xa9 \xff\n", "latin1"));
    await w.write("stdout", Buffer.from("x\\y\u2028\n"));
    await w.close();
    // Built by moby's rules (jsonlogbytes.go, RFC3339Nano), not by this code: the first record of
    // a millisecond has no sub-ms part yet (…51.123Z); trailing zeros are dropped (…51.12345679Z).
    const expected =
      '{"log":"hello \\"world\\" \\u003cb\\u003e\\u0026\\u0009tab\\r\\n","stream":"stdout","time":"2026-11-29T05:36:51.123Z"}\n' +
      '{"log":"café \\ufffd\\n","stream":"stderr","time":"2026-11-29T05:36:51.123456789Z"}\n' +
      '{"log":"x\\\\y\\u2028\\n","stream":"stdout","time":"2026-11-29T05:36:51.12345679Z"}\n';
    assert.equal(await readFile(path, "utf8"), expected);
  });

  it("adds attrs between stream and time, keys sorted", async () => {
    const path = logPath();
    const w = await createJsonFileLogger({ path, ...steppingClock(), extra: { tag: "web", a: "<1>" } });
    await w.write("stdout", Buffer.from("hi\n"));
    await w.close();
    assert.equal(await readFile(path, "utf8"),
      '{"log":"hi\\n","stream":"stdout","attrs":{"a":"\\u003c1\\u003e","tag":"web"},"time":"2026-11-29T05:36:00.123Z"}\n');
  });

  it("creates the file with mode 0640 and appends to an existing one", async () => {
    const path = logPath();
    await writeFile(path, dockerRecord("old", "stdout", "2026-01-01T00:00:00Z"));
    const w = await createJsonFileLogger({ path, ...steppingClock() });
    await w.write("stdout", Buffer.from("new\n"));
    await w.close();
    assert.deepEqual((await records(path)).map((r) => r.log), ["old\n", "new\n"]);
    const fresh = logPath();
    await (await createJsonFileLogger({ path: fresh })).close();
    assert.equal((await stat(fresh)).mode & 0o777, 0o640 & ~process.umask());
  });
});

describe("json-file writer: lines", () => {
  it("splits chunks into lines: several per chunk, one across chunks", async () => {
    const path = logPath();
    const w = await createJsonFileLogger({ path, ...steppingClock() });
    await w.write("stdout", Buffer.from("one\ntwo\nthr"));
    await w.write("stdout", Buffer.from("ee\n"));
    await w.write("stdout", Buffer.from("\n"));
    await w.close();
    assert.deepEqual((await records(path)).map((r) => r.log), ["one\n", "two\n", "three\n", "\n"]);
  });

  it("keeps stdout and stderr apart, each with its own unfinished line, in write order", async () => {
    const path = logPath();
    const w = await createJsonFileLogger({ path, ...steppingClock() });
    // No awaits: the order of write() calls is the order in the file.
    void w.write("stdout", Buffer.from("out-a\nout-b is "));
    void w.write("stderr", Buffer.from("err-a\nerr-b is "));
    void w.write("stdout", Buffer.from("done\n"));
    void w.write("stderr", Buffer.from("done too\n"));
    void w.write("stdout", Buffer.from("out-c\n"));
    await w.close();
    assert.deepEqual((await records(path)).map((r) => [r.stream, r.log]), [
      ["stdout", "out-a\n"], ["stderr", "err-a\n"], ["stdout", "out-b is done\n"], ["stderr", "err-b is done too\n"],
      ["stdout", "out-c\n"],
    ]);
  });

  it("keeps CRLF as is", async () => {
    const path = logPath();
    const w = await createJsonFileLogger({ path });
    await w.write("stdout", Buffer.from("dos\r\n"));
    await w.close();
    assert.match(await readFile(path, "utf8"), /^\{"log":"dos\\r\\n",/);
  });

  it("writes 16 KiB without newline as a partial record; the rest of the line keeps its time", async () => {
    const path = logPath();
    const w = await createJsonFileLogger({ path, ...steppingClock() });
    const big = "x".repeat(MAX_LINE_PIECE);
    await w.write("stdout", Buffer.from(big + "y"));
    assert.deepEqual((await records(path)).map((r) => r.log), [big]); // flushed before any newline
    await w.write("stdout", Buffer.from("z\nnext\n"));
    await w.close();
    const recs = await records(path);
    assert.deepEqual(recs.map((r) => r.log), [big, "yz\n", "next\n"]);
    assert.equal(recs[0]!.time, recs[1]!.time, "pieces of one line share the first piece's time");
    assert.notEqual(recs[1]!.time, recs[2]!.time);
  });

  it("close() writes unfinished lines as partial records (no \\n)", async () => {
    const path = logPath();
    const w = await createJsonFileLogger({ path, ...steppingClock() });
    await w.write("stdout", Buffer.from("done\nno newline"));
    await w.write("stderr", Buffer.from("err no newline"));
    assert.deepEqual((await records(path)).map((r) => r.log), ["done\n"]);
    await w.close();
    assert.deepEqual((await records(path)).map((r) => [r.stream, r.log]),
      [["stdout", "done\n"], ["stdout", "no newline"], ["stderr", "err no newline"]]);
  });

  it("flush() ends the current lines; what follows starts new ones", async () => {
    const path = logPath();
    const w = await createJsonFileLogger({ path, ...steppingClock() });
    await w.write("stdout", Buffer.from("prompt> "));
    await w.flush();
    assert.deepEqual((await records(path)).map((r) => r.log), ["prompt> "]);
    await w.write("stdout", Buffer.from("answer\n"));
    await w.close();
    const recs = await records(path);
    assert.deepEqual(recs.map((r) => r.log), ["prompt> ", "answer\n"]);
    assert.notEqual(recs[0]!.time, recs[1]!.time);
  });

  it("writes a large burst in order, with strictly increasing times", async () => {
    const path = logPath();
    const w = await createJsonFileLogger({ path });
    const lines = Array.from({ length: 20000 }, (_, i) => `line ${i}\n`);
    const text = Buffer.from(lines.join(""));
    const pending: Promise<void>[] = [];
    for (let o = 0; o < text.length; o += 1000) pending.push(w.write("stdout", text.subarray(o, o + 1000)));
    await Promise.all(pending);
    await w.close();
    const recs = await records(path);
    assert.deepEqual(recs.map((r) => r.log), lines);
    const times = recs.map((r) => parseDockerTimestamp(r.time));
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, `${recs[i - 1]!.time} then ${recs[i]!.time}`);
  });
});

describe("json-file writer: rotation", () => {
  // Every record is `{"log":"lineNN\n","stream":"stdout","time":"2026-11-29T05:36:SS.123Z"}\n`.
  const RECORD = dockerRecord("line00", "stdout", "2026-11-29T05:36:00.123Z").length;

  async function writeLines(path: string, count: number, opts: { maxSize?: number; maxFile?: number }): Promise<void> {
    const w = await createJsonFileLogger({ path, ...steppingClock(), ...opts });
    for (let i = 0; i < count; i++) await w.write("stdout", Buffer.from(`line${String(i).padStart(2, "0")}\n`));
    await w.close();
  }
  const logs = async (p: string) => (await records(p)).map((r) => r.log.trim());

  it("rotates before the record that follows a file of exactly max-size bytes", async () => {
    const path = logPath();
    await writeLines(path, 3, { maxSize: 2 * RECORD, maxFile: 2 });
    assert.deepEqual(await logs(`${path}.1`), ["line00", "line01"]);
    assert.deepEqual(await logs(path), ["line02"]);
    assert.equal((await stat(`${path}.1`)).size, 2 * RECORD);
  });

  it("does not rotate a file one byte short of max-size: it ends above by less than a record", async () => {
    const path = logPath();
    await writeLines(path, 4, { maxSize: 2 * RECORD + 1, maxFile: 2 });
    assert.deepEqual(await logs(`${path}.1`), ["line00", "line01", "line02"]);
    assert.deepEqual(await logs(path), ["line03"]);
  });

  it("max-file 1: the file starts over, nothing else is kept", async () => {
    const path = logPath();
    await writeLines(path, 7, { maxSize: 2 * RECORD, maxFile: 1 });
    assert.deepEqual(await logs(path), ["line06"]);
    assert.equal(existsSync(`${path}.1`), false);
  });

  it("max-file 2: x.log.1 holds the previous file", async () => {
    const path = logPath();
    await writeLines(path, 7, { maxSize: 2 * RECORD, maxFile: 2 });
    assert.deepEqual(await logs(`${path}.1`), ["line04", "line05"]);
    assert.deepEqual(await logs(path), ["line06"]);
    assert.equal(existsSync(`${path}.2`), false);
  });

  it("max-file 3: files shift to .1 and .2, the oldest is dropped", async () => {
    const path = logPath();
    await writeLines(path, 9, { maxSize: 2 * RECORD, maxFile: 3 });
    assert.deepEqual(await logs(`${path}.2`), ["line04", "line05"]);
    assert.deepEqual(await logs(`${path}.1`), ["line06", "line07"]);
    assert.deepEqual(await logs(path), ["line08"]);
    assert.equal(existsSync(`${path}.3`), false);
  });

  it("counts an existing file's size", async () => {
    const path = logPath();
    await writeFile(path, "x".repeat(2 * RECORD - 1) + "\n");
    await writeLines(path, 2, { maxSize: 2 * RECORD, maxFile: 2 });
    assert.equal((await readFile(`${path}.1`, "utf8")).startsWith("xxx"), true);
    assert.deepEqual(await logs(path), ["line00", "line01"]);
  });

  it("matches the pure policy for records of varied sizes written without awaiting", async () => {
    const path = logPath();
    const w = await createJsonFileLogger({ path, ...steppingClock(), maxSize: 300, maxFile: 4 });
    const lines = Array.from({ length: 40 }, (_, i) => "y".repeat((i * 37) % 90) + String(i));
    for (const l of lines) void w.write("stdout", Buffer.from(l + "\n"));
    await w.close();
    const sizes = lines.map((l, i) =>
      dockerRecord(l, "stdout", `2026-11-29T05:${String(36 + Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}.123Z`).length);
    const { rotateBefore } = planAppends(0, sizes, { maxSize: 300, maxFile: 4 });
    const files: string[][] = [[]];
    lines.forEach((l, i) => { if (rotateBefore[i]) files.push([]); files[files.length - 1]!.push(l); });
    const kept = files.slice(-4);
    const onDisk = [await logs(`${path}.3`), await logs(`${path}.2`), await logs(`${path}.1`), await logs(path)];
    assert.deepEqual(onDisk.slice(4 - kept.length), kept);
  });
});

describe("json-file writer: lifecycle and errors", () => {
  it("rejects writes after close; close is idempotent; closed resolves", async () => {
    const w = await createJsonFileLogger({ path: logPath() });
    const c1 = w.close();
    const c2 = w.close();
    assert.equal(c1, c2);
    await c1;
    await w.closed;
    await rejectsWith(w.write("stdout", Buffer.from("late\n")), "failed-precondition",
      "cannot write because the output file was closed");
  });

  it("supports await using", async () => {
    const path = logPath();
    let closed: Promise<void>;
    {
      await using w = await createJsonFileLogger({ path });
      closed = w.closed;
      await w.write("stdout", Buffer.from("tail"));
    }
    await closed;
    assert.deepEqual((await records(path)).map((r) => r.log), ["tail"]);
  });

  it("validates options", async () => {
    await rejectsWith(createJsonFileLogger({ path: logPath(), maxFile: 0 }), "invalid-argument", "max-file cannot be less than 1");
    await rejectsWith(createJsonFileLogger({ path: logPath(), maxSize: 0 }), "invalid-argument", "max-size must be a positive number");
    await rejectsWith(createJsonFileLogger({ path: logPath(), maxSize: 1.5 }), "invalid-argument");
    await rejectsWith(createJsonFileLogger({ path: "" }), "invalid-argument");
    await rejectsWith(createJsonFileLogger({ path: logPath(), compress: true as unknown as false }), "not-implemented");
    await assert.rejects(createJsonFileLogger({ path: join(dir, "missing", "x.log") }), { code: "ENOENT" });
  });

  it("reports a write error to the write, to later calls and to close; closed still resolves", { skip: !existsSync("/dev/full") }, async () => {
    const w = await createJsonFileLogger({ path: "/dev/full" });
    await assert.rejects(w.write("stdout", Buffer.from("no space\n")), { code: "ENOSPC" });
    await assert.rejects(w.write("stdout", Buffer.from("again\n")), { code: "ENOSPC" });
    void w.write("stdout", Buffer.from("ignored promise\n")); // must not be an unhandled rejection
    await assert.rejects(w.close(), { code: "ENOSPC" });
    await w.closed;
  });
});
