import { test } from "node:test";
import assert from "node:assert/strict";
import { ShimGroups, shimGroupsFor } from "./shim-groups.js";

const ids = () => {
  let n = 0;
  return () => `g${++n}`;
};

test("groups fill up to the size before the next one opens", () => {
  const g = new ShimGroups(3, ids());
  assert.deepEqual(["a", "b", "c", "d", "e", "f", "h"].map((c) => g.assign(c)), ["g1", "g1", "g1", "g2", "g2", "g2", "g3"]);
  assert.deepEqual([...g.counts()], [["g1", 3], ["g2", 3], ["g3", 1]]);
  assert.equal(g.assign("a"), "g1", "assigning a member again changes nothing");
});

test("a removed container frees its slot; the fullest group with room is filled first", () => {
  const g = new ShimGroups(3, ids());
  for (const c of ["a", "b", "c", "d", "e"]) g.assign(c); // g1: a b c, g2: d e
  g.release("a"); // g1: b c (2), g2: d e (2): the first seen wins the tie
  assert.equal(g.assign("x"), "g1");
  g.release("d");
  g.release("e"); // g2 is gone with its last member
  assert.deepEqual([...g.counts()], [["g1", 3]]);
  assert.equal(g.assign("y"), "g3");
  g.release("nobody");
  assert.equal(g.groupOf("d"), undefined);
  assert.equal(g.groupOf("y"), "g3");
});

test("restore: adopted members count, so counting goes on where it was", () => {
  const g = new ShimGroups(2, ids());
  g.adopt("a", "berth-old");
  assert.equal(g.assign("b"), "berth-old");
  assert.equal(g.assign("c"), "g1");
  g.adopt("c", "berth-other"); // moved: its old slot is free again
  assert.deepEqual([...g.counts()], [["berth-old", 2], ["berth-other", 1]]);
});

test("size 1 (the default) means no groups at all", () => {
  assert.equal(shimGroupsFor(undefined), undefined);
  assert.equal(shimGroupsFor(1), undefined);
  assert.equal(shimGroupsFor(4)?.size, 4);
  assert.throws(() => new ShimGroups(1));
  assert.match(new ShimGroups(2).assign("a"), /^berth-[0-9a-f]{16}$/);
});
