import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MAX_LINE_PIECE, flushLines, newLineSplitter, splitLines } from "./line-splitter.js";

interface Piece {
  text: string;
  newline: boolean;
  continuation: boolean;
}

/** Feeds the chunks, then ends the stream when `end`; returns the records. */
function split(chunks: (string | Buffer)[], end = false): Piece[] {
  const out: Piece[] = [];
  const state = newLineSplitter();
  const emit = (buf: Buffer, start: number, stop: number, newline: boolean, continuation: boolean) => {
    out.push({ text: buf.toString("latin1", start, stop), newline, continuation });
  };
  for (const c of chunks) splitLines(state, typeof c === "string" ? Buffer.from(c, "latin1") : c, emit);
  if (end) flushLines(state, emit);
  return out;
}

const line = (text: string, continuation = false): Piece => ({ text, newline: true, continuation });
const part = (text: string, continuation = false): Piece => ({ text, newline: false, continuation });

describe("splitLines (dockerd's copier)", () => {
  it("makes one record per line, several per chunk, without the \\n", () => {
    assert.deepEqual(split(["a\nbb\n\nccc\n"]), [line("a"), line("bb"), line(""), line("ccc")]);
  });

  it("joins a line split across chunks", () => {
    assert.deepEqual(split(["he", "ll", "o\nwor", "ld\n"]), [line("hello"), line("world")]);
  });

  it("keeps \\r: CRLF stays CR + the newline", () => {
    assert.deepEqual(split(["a\r\nb\r", "\n\r"], true), [line("a\r"), line("b\r"), part("\r")]);
  });

  it("holds an unfinished line until its newline or the end of the stream", () => {
    assert.deepEqual(split(["abc"]), []);
    assert.deepEqual(split(["abc"], true), [part("abc")]);
    assert.deepEqual(split(["x\nabc"], true), [line("x"), part("abc")]);
    assert.deepEqual(split([], true), []);
  });

  it("cuts a 16 KiB line without newline into a partial record", () => {
    const a = "a".repeat(MAX_LINE_PIECE);
    assert.deepEqual(split([a]), [part(a)]);
    assert.deepEqual(split([a.slice(0, 100), a.slice(100)]), [part(a)]);
    // One byte short: still waiting.
    assert.deepEqual(split([a.slice(1)]), []);
  });

  it("a line of exactly 16 KiB is a partial piece and an empty last piece", () => {
    const a = "a".repeat(MAX_LINE_PIECE);
    assert.deepEqual(split([a + "\n"]), [part(a), line("", true)]);
  });

  it("cuts long lines into 16 KiB pieces; the rest ends the line and continues its time", () => {
    const a = "a".repeat(MAX_LINE_PIECE);
    const b = "b".repeat(MAX_LINE_PIECE);
    assert.deepEqual(split([a + b + "tail\nnext\n"]), [part(a), part(b, true), line("tail", true), line("next")]);
    assert.deepEqual(split([a, b, "tail\n"]), [part(a), part(b, true), line("tail", true)]);
    assert.deepEqual(split([a + "x", "y\n"]), [part(a), line("xy", true)]);
  });

  it("the end of the stream ends a long line as a partial continuation, and resets", () => {
    const a = "a".repeat(MAX_LINE_PIECE);
    const state = newLineSplitter();
    const out: Piece[] = [];
    const emit = (buf: Buffer, s: number, e: number, newline: boolean, continuation: boolean) =>
      out.push({ text: buf.toString("latin1", s, e), newline, continuation });
    splitLines(state, Buffer.from(a + "xyz"), emit);
    flushLines(state, emit);
    splitLines(state, Buffer.from("new\n"), emit);
    assert.deepEqual(out, [part(a), part("xyz", true), line("new")]);
  });

  it("gives the same records however the stream is chunked", () => {
    const text = Buffer.from(
      "short\n" + "x".repeat(MAX_LINE_PIECE * 2 + 5) + "\n" + "y".repeat(MAX_LINE_PIECE) + "\n\n" +
      "z".repeat(MAX_LINE_PIECE - 1) + "\nend",
    );
    const whole = split([text], true);
    let seed = 7;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    for (let trial = 0; trial < 30; trial++) {
      const chunks: Buffer[] = [];
      for (let o = 0; o < text.length;) {
        const n = 1 + rand(trial % 3 === 0 ? 5 : 9000);
        chunks.push(text.subarray(o, o + n));
        o += n;
      }
      assert.deepEqual(split(chunks, true), whole, `trial ${trial}`);
    }
  });

  it("copies what it buffers: the caller may reuse its chunk", () => {
    const state = newLineSplitter();
    const out: string[] = [];
    const chunk = Buffer.from("abc");
    splitLines(state, chunk, (b, s, e) => out.push(b.toString("latin1", s, e)));
    chunk.fill(0x7a);
    splitLines(state, Buffer.from("\n"), (b, s, e) => out.push(b.toString("latin1", s, e)));
    assert.deepEqual(out, ["abc"]);
  });

  it("accepts a plain Uint8Array view", () => {
    const backing = new Uint8Array([0x2d, 0x61, 0x0a, 0x2d]);
    const out: string[] = [];
    splitLines(newLineSplitter(), backing.subarray(1, 3), (b, s, e) => out.push(b.toString("latin1", s, e)));
    assert.deepEqual(out, ["a"]);
  });
});
