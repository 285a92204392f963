import assert from "node:assert/strict";
import { test } from "node:test";
import { HEAP_GROWING_PERCENT, heapFlag } from "./heap.js";

test("heapFlag: berthd's growing factor unless node was given one", () => {
  assert.equal(heapFlag([], undefined), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(heapFlag(["--enable-source-maps"], "--max-old-space-size=512"), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(heapFlag(["--heap-growing-percent=50"], undefined), undefined);
  assert.equal(heapFlag([], "--trace-gc --heap_growing_percent=80"), undefined);
  // a different flag that merely starts the same way is not a choice
  assert.equal(heapFlag(["--heap-growing-percentage-x"], undefined), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
});
