import assert from "node:assert/strict";
import { test } from "node:test";
import { HEAP_GROWING_PERCENT, heapFlag, startupFlags } from "./heap.js";

test("heapFlag: berthd's growing factor unless node was given one", () => {
  assert.equal(heapFlag([], undefined), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(heapFlag(["--enable-source-maps"], "--max-old-space-size=512"), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(heapFlag(["--heap-growing-percent=50"], undefined), undefined);
  assert.equal(heapFlag([], "--trace-gc --heap_growing_percent=80"), undefined);
  // a different flag that merely starts the same way is not a choice
  assert.equal(heapFlag(["--heap-growing-percentage-x"], undefined), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
});

test("startupFlags: a small young generation and no TurboFan while starting, unless node was told otherwise", () => {
  assert.deepEqual(startupFlags([], undefined), {
    start: [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`, "--semi-space-growth-factor=1", "--no-opt"],
    serving: ["--semi-space-growth-factor=2", "--opt"],
  });
  assert.deepEqual(startupFlags(["--max-semi-space-size=64"], "--no-opt"), {
    start: [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`],
    serving: [],
  });
  assert.deepEqual(startupFlags([], "--turbofan --semi_space_growth_factor=4 --heap-growing-percent=10"), { start: [], serving: [] });
});
