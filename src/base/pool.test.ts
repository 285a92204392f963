import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runAll } from "./pool.js";

test("runAll: at most N at once, every job runs, the first failure is thrown after all settled", async () => {
  let running = 0;
  let peak = 0;
  const done: number[] = [];
  const jobs = Array.from({ length: 10 }, (_, i) => async () => {
    running++;
    peak = Math.max(peak, running);
    await sleep(i % 3);
    running--;
    done.push(i);
    if (i === 2) throw new Error("two");
    if (i === 7) throw new Error("seven");
  });
  await assert.rejects(runAll(jobs, 3), /two/);
  assert.equal(peak, 3);
  assert.deepEqual(done.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await runAll([], 4);
});
