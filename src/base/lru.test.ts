import assert from "node:assert/strict";
import { test } from "node:test";
import { LruMap } from "./lru.js";

test("LruMap keeps the most recently used entries up to its capacity", () => {
  const m = new LruMap<string, number>(3);
  m.set("a", 1).set("b", 2).set("c", 3);
  assert.equal(m.get("a"), 1); // a is now the most recent: b is the oldest
  m.set("d", 4);
  assert.equal(m.size, 3);
  assert.equal(m.get("b"), undefined);
  assert.deepEqual([m.get("a"), m.get("c"), m.get("d")], [1, 3, 4]);
  // order of use now: a, c, d; a set refreshes too: a, d, c; e then drops a
  m.set("c", 30);
  m.set("e", 5);
  assert.equal(m.size, 3);
  assert.equal(m.get("a"), undefined);
  assert.equal(m.get("c"), 30);
  assert.equal(m.get("e"), 5);
  assert.equal(m.delete("e"), true);
  assert.equal(m.size, 2);
  assert.throws(() => new LruMap(0), RangeError);
});
