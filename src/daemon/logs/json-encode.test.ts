import assert from "node:assert/strict";
import { describe, it, test } from "node:test";

import { ByteSink, marshalAttrs, utf8SequenceLength, writeJsonBytes } from "./json-encode.js";

/** The JSON string moby's ffjsonWriteJSONBytesAsString writes for these bytes. */
function enc(bytes: Buffer | string, newline = false, goMarshal = false): string {
  const src = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
  const sink = new ByteSink(16);
  writeJsonBytes(sink, src, 0, src.length, newline, goMarshal);
  return sink.take()!.toString("latin1");
}

const hex = (s: string) => Buffer.from(s.replaceAll(" ", ""), "hex");

describe("writeJsonBytes (the log field, as moby's jsonlogbytes.go)", () => {
  it("copies printable ASCII and appends the \\n escape for complete lines", () => {
    assert.equal(enc("hello world"), '"hello world"');
    assert.equal(enc("hello", true), '"hello\\n"');
    assert.equal(enc(""), '""');
  });

  it("escapes quote and backslash, \\n and \\r; HTML characters and other controls as \\u00XX", () => {
    assert.equal(enc('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(enc("x\r\ny"), '"x\\r\\ny"');
    assert.equal(enc("<a&b>"), '"\\u003ca\\u0026b\\u003e"');
    // A tab is \u0009 in the log field: ffjson has no short escape for it.
    assert.equal(enc("\t\b\f\x00\x1f\x7f"), '"\\u0009\\u0008\\u000c\\u0000\\u001f\x7f"');
  });

  it("copies valid UTF-8 and escapes U+2028 / U+2029", () => {
    assert.equal(Buffer.from(enc("é€😀"), "latin1").toString("utf8"), '"é€😀"');
    assert.equal(enc("a\u2028b\u2029c"), '"a\\u2028b\\u2029c"');
    // U+FFFD itself is valid UTF-8 and copied as is.
    assert.equal(Buffer.from(enc("\ufffd"), "latin1").toString("utf8"), '"\ufffd"');
  });

  it("turns each invalid byte into \\ufffd, as Go's utf8.DecodeRune", () => {
    const R = "\\ufffd";
    assert.equal(enc(hex("ff")), `"${R}"`);
    assert.equal(enc(hex("61 80 62")), `"a${R}b"`); // stray continuation byte
    assert.equal(enc(hex("c0 af")), `"${R}${R}"`); // overlong '/'
    assert.equal(enc(hex("c1 bf")), `"${R}${R}"`);
    assert.equal(enc(hex("e0 80 af")), `"${R}${R}${R}"`); // overlong, 3 bytes
    assert.equal(enc(hex("ed a0 80")), `"${R}${R}${R}"`); // surrogate U+D800
    assert.equal(enc(hex("f0 80 80 af")), `"${R}${R}${R}${R}"`); // overlong, 4 bytes
    assert.equal(enc(hex("f4 90 80 80")), `"${R}${R}${R}${R}"`); // above U+10FFFF
    assert.equal(enc(hex("f5 80 80 80")), `"${R}${R}${R}${R}"`);
    // Truncated sequences: one replacement per byte (WHATWG decoders would give one in total).
    assert.equal(enc(hex("e2 82")), `"${R}${R}"`);
    assert.equal(enc(hex("e2 82 41")), `"${R}${R}A"`);
    assert.equal(enc(hex("f0 9f 98")), `"${R}${R}${R}"`);
    // Valid boundaries.
    assert.equal(enc(hex("ed 9f bf")), '"' + hex("ed 9f bf").toString("latin1") + '"'); // U+D7FF
    assert.equal(enc(hex("f4 8f bf bf")), '"' + hex("f4 8f bf bf").toString("latin1") + '"'); // U+10FFFF
  });

  it("agrees with a reference decoder on every 1- and 2-byte input and sampled 3- and 4-byte ones", () => {
    // Reference: a sequence is valid iff TextDecoder(fatal) accepts exactly those bytes.
    const fatal = new TextDecoder("utf-8", { fatal: true });
    const valid = (b: Uint8Array) => { try { fatal.decode(b); return true; } catch { return false; } };
    for (let a = 0x80; a < 0x100; a++) {
      for (let b = 0; b < 0x100; b++) {
        const two = Uint8Array.of(a, b);
        const expected = valid(two) ? 2 : 0;
        assert.equal(utf8SequenceLength(two, 0, 2) === 2 ? 2 : 0, expected, `${a.toString(16)} ${b.toString(16)}`);
      }
    }
    for (const a of [0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4]) {
      for (let b = 0x70; b < 0xd0; b++) {
        const len = a >= 0xf0 ? 4 : 3;
        const seq = Uint8Array.from([a, b, 0x80, 0x80].slice(0, len));
        assert.equal(utf8SequenceLength(seq, 0, len), valid(seq) ? len : 0, `${a.toString(16)} ${b.toString(16)}`);
      }
    }
  });

  it("respects start and end and grows the sink as needed", () => {
    const src = Buffer.from("xx" + "<".repeat(100) + "yy");
    const sink = new ByteSink(8);
    sink.ascii("[");
    writeJsonBytes(sink, src, 2, 102, false);
    sink.ascii("]");
    assert.equal(sink.take()!.toString(), '["' + "\\u003c".repeat(100) + '"]');
    assert.equal(sink.take(), undefined);
  });
});

describe("ByteSink", () => {
  it("hands out views that later writes never overwrite", () => {
    const sink = new ByteSink(8);
    sink.ascii("abc");
    const first = sink.take()!;
    sink.ascii("defghijklmnop");
    sink.bytes(Buffer.from("q"));
    const second = sink.take()!;
    assert.equal(first.toString(), "abc");
    assert.equal(second.toString(), "defghijklmnopq");
    assert.equal(sink.pending, 0);
  });

  it("keeps untaken bytes when it grows", () => {
    const sink = new ByteSink(4);
    sink.ascii("ab");
    sink.ascii("x".repeat(100));
    assert.equal(sink.pending, 102);
    assert.equal(sink.take()!.toString(), "ab" + "x".repeat(100));
  });
});

describe("marshalAttrs (Go json.Marshal of map[string]string)", () => {
  it("sorts keys bytewise and writes no spaces", () => {
    assert.equal(marshalAttrs({ b: "2", a: "1", B: "0" })!.toString(), '{"B":"0","a":"1","b":"2"}');
  });

  it("sorts by UTF-8 bytes, not UTF-16 units", () => {
    // U+FF5E is 0xEF 0xBD 0x9E, U+1F600 is 0xF0 …: bytewise the emoji sorts last; in UTF-16 first.
    assert.equal(marshalAttrs({ "\u{1F600}": "e", "\uFF5E": "f" })!.toString(), '{"\uFF5E":"f","\u{1F600}":"e"}');
  });

  it("uses encoding/json's escapes: \\t, \\b, \\f short; HTML escaped", () => {
    assert.equal(marshalAttrs({ tag: "a\tb\bc\fd<&>\"\\\n" })!.toString(),
      '{"tag":"a\\tb\\bc\\fd\\u003c\\u0026\\u003e\\"\\\\\\n"}');
  });

  it("is undefined for an empty map (attrs omitted)", () => {
    assert.equal(marshalAttrs({}), undefined);
  });
});

test("ByteSink holds no buffer before the first byte and after release() once all was taken", () => {
  const sink = new ByteSink(1024);
  assert.equal(sink.buffer.length, 0);
  sink.ascii("abc");
  assert.equal(sink.buffer.length, 1024);
  sink.release(); // "abc" not taken yet: kept
  assert.equal(sink.pending, 3);
  const view = sink.take()!;
  sink.release();
  assert.equal(sink.buffer.length, 0);
  assert.equal(view.toString(), "abc", "a view taken before release() keeps its bytes");
  sink.ascii("de");
  assert.equal(sink.take()!.toString(), "de");
});
