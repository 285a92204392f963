import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { planAppends, rotatedPaths, rotationSteps, shouldRotate } from "./rotation.js";

describe("shouldRotate (checked before each record, as dockerd's WriteLogEntry)", () => {
  it("rotates exactly when the file already holds max-size bytes or more", () => {
    for (const maxSize of [1, 2, 10, 1000, 10_000_000]) {
      for (const maxFile of [1, 2, 3]) {
        for (let size = Math.max(0, maxSize - 3); size <= maxSize + 3; size++) {
          assert.equal(shouldRotate(size, { maxSize, maxFile }), size >= maxSize, `size ${size} max ${maxSize}`);
        }
      }
    }
  });

  it("never rotates without max-size, whatever max-file says (dockerd accepts the pair)", () => {
    for (const maxFile of [1, 2, 5]) {
      for (const size of [0, 1, 1e6, Number.MAX_SAFE_INTEGER]) {
        assert.equal(shouldRotate(size, { maxFile }), false);
        assert.equal(shouldRotate(size, { maxSize: undefined, maxFile }), false);
      }
    }
  });

  it("never rotates an empty file", () => {
    assert.equal(shouldRotate(0, { maxSize: 1, maxFile: 2 }), false);
  });
});

describe("rotationSteps (dockerd's rotate)", () => {
  it("max-file 1: remove the file; a fresh one is opened", () => {
    assert.deepEqual(rotationSteps("/c/x.log", 1), [{ op: "unlink", path: "/c/x.log" }]);
  });

  it("max-file 2: drop x.log.1, x.log → x.log.1", () => {
    assert.deepEqual(rotationSteps("/c/x.log", 2), [
      { op: "unlink", path: "/c/x.log.1" },
      { op: "rename", from: "/c/x.log", to: "/c/x.log.1" },
    ]);
  });

  it("max-file 3: drop x.log.2, shift x.log.1 → x.log.2, x.log → x.log.1", () => {
    assert.deepEqual(rotationSteps("/c/x.log", 3), [
      { op: "unlink", path: "/c/x.log.2" },
      { op: "rename", from: "/c/x.log.1", to: "/c/x.log.2" },
      { op: "rename", from: "/c/x.log", to: "/c/x.log.1" },
    ]);
  });

  it("max-file N: shifts from the oldest down, never overwriting a file not yet moved", () => {
    for (let n = 2; n <= 8; n++) {
      const steps = rotationSteps("x", n);
      assert.equal(steps.length, n);
      assert.deepEqual(steps[0], { op: "unlink", path: `x.${n - 1}` });
      // Simulate on a map of name → generation and check every file moved up by one.
      const files = new Map<string, number>([["x", 0]]);
      for (let i = 1; i < n; i++) files.set(`x.${i}`, i);
      for (const s of steps) {
        if (s.op === "unlink") { files.delete(s.path); continue; }
        assert.equal(files.has(s.to), false, `${s.from} → ${s.to} would overwrite`);
        files.set(s.to, files.get(s.from)!);
        files.delete(s.from);
      }
      assert.deepEqual([...files].sort(), Array.from({ length: n - 1 }, (_, i) => [`x.${i + 1}`, i] as const).sort());
    }
  });
});

describe("rotatedPaths", () => {
  it("lists the rotated files oldest first", () => {
    assert.deepEqual(rotatedPaths("x.log", 1), []);
    assert.deepEqual(rotatedPaths("x.log", 2), ["x.log.1"]);
    assert.deepEqual(rotatedPaths("x.log", 4), ["x.log.3", "x.log.2", "x.log.1"]);
  });
});

describe("planAppends", () => {
  it("rotates before the record that follows a file reaching max-size", () => {
    // 10-byte records, max-size 30: files of 30 bytes (3 records each).
    const { rotateBefore, size } = planAppends(0, [10, 10, 10, 10, 10, 10, 10], { maxSize: 30, maxFile: 2 });
    assert.deepEqual(rotateBefore, [false, false, false, true, false, false, true]);
    assert.equal(size, 10);
  });

  it("a file may end above max-size by less than one record", () => {
    const { rotateBefore } = planAppends(0, [25, 25, 25], { maxSize: 30, maxFile: 2 });
    assert.deepEqual(rotateBefore, [false, false, true]);
  });

  it("a record larger than max-size fills a file on its own", () => {
    const { rotateBefore, size } = planAppends(0, [100, 1, 100], { maxSize: 30, maxFile: 3 });
    assert.deepEqual(rotateBefore, [false, true, false]);
    assert.equal(size, 101);
  });

  it("starts from the size of an existing file", () => {
    assert.deepEqual(planAppends(29, [1, 1], { maxSize: 30, maxFile: 1 }).rotateBefore, [false, true]);
    assert.deepEqual(planAppends(30, [1], { maxSize: 30, maxFile: 1 }).rotateBefore, [true]);
    assert.deepEqual(planAppends(500, [1], { maxSize: 30, maxFile: 1 }).rotateBefore, [true]);
  });

  it("never rotates without max-size", () => {
    assert.deepEqual(planAppends(0, [1e9, 1e9], { maxFile: 5 }), { rotateBefore: [false, false], size: 2e9 });
  });
});
