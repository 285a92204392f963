import { test } from "node:test";
import assert from "node:assert/strict";
import { durationString, goQuote, goQuoteList, goQuoteRune, parseDurationNs } from "./go-format.js";

test("durations parse and print as Go's", () => {
  assert.equal(parseDurationNs("5s"), 5e9);
  assert.equal(parseDurationNs("1m30s"), 90e9);
  assert.equal(parseDurationNs("1.5h"), 5400e9);
  assert.equal(parseDurationNs("100ms"), 1e8);
  assert.equal(parseDurationNs("0"), 0);
  assert.throws(() => parseDurationNs("5"), /invalid duration/);
  assert.throws(() => parseDurationNs("5x"), /invalid duration/);
  for (const [ns, s] of [[0, "0s"], [5e9, "5s"], [90e9, "1m30s"], [3600e9, "1h0m0s"], [1e8, "100ms"], [1.5e9, "1.5s"], [1500, "1.5µs"], [7, "7ns"]] as const) {
    assert.equal(durationString(ns), s);
  }
});

test("%q of strings, lists and ints", () => {
  assert.equal(goQuote('a "b" \\ \n é'), '"a \\"b\\" \\\\ \\n é"');
  assert.equal(goQuote("\x01"), '"\\x01"');
  assert.equal(goQuoteList(["cat", "/app/out.txt"]), '["cat" "/app/out.txt"]');
  assert.equal(goQuoteRune(0), "'\\x00'");
  assert.equal(goQuoteRune(3), "'\\x03'");
  assert.equal(goQuoteRune(65), "'A'");
  assert.equal(goQuoteRune(10), "'\\n'");
});
