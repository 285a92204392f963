import assert from "node:assert/strict";
import { test } from "node:test";
import { HEAP_GROWING_PERCENT, heapFlag, shouldCollect, startupFlags } from "./heap.js";

test("heapFlag: berthd's growing factor unless node was given one", () => {
  assert.equal(heapFlag([], undefined), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(heapFlag(["--enable-source-maps"], "--max-old-space-size=512"), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(heapFlag(["--heap-growing-percent=50"], undefined), undefined);
  assert.equal(heapFlag([], "--trace-gc --heap_growing_percent=80"), undefined);
  // a different flag that merely starts the same way is not a choice
  assert.equal(heapFlag(["--heap-growing-percentage-x"], undefined), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
});

test("startupFlags: a young generation that never grows, and no TurboFan while starting, unless node was told otherwise", () => {
  assert.deepEqual(startupFlags([], undefined), {
    start: [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`, "--semi-space-growth-factor=1", "--no-opt"],
    serving: ["--opt"],
  });
  assert.deepEqual(startupFlags(["--max-semi-space-size=64"], "--no-opt"), {
    start: [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`],
    serving: [],
  });
  assert.deepEqual(startupFlags([], "--turbofan --semi_space_growth_factor=4 --heap-growing-percent=10"), { start: [], serving: [] });
});

test("shouldCollect: only a quiet event loop with a heap grown by more than 8 MiB since the last collection", () => {
  const MiB = 1 << 20;
  assert.equal(shouldCollect(0.001, 60 * MiB, 20 * MiB), true);
  assert.equal(shouldCollect(0.5, 60 * MiB, 20 * MiB), false, "busy: V8 collects on its own");
  assert.equal(shouldCollect(0.001, 25 * MiB, 20 * MiB), false, "little growth: nothing to gain");
});
