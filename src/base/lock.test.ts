import { test } from "node:test";
import assert from "node:assert/strict";
import { KeyedLock, Mutex } from "./lock.js";

const tick = () => new Promise((r) => setImmediate(r));

test("Mutex runs holders one at a time, in order, and a failure releases it", async () => {
  const m = new Mutex();
  const log: string[] = [];
  let releaseFirst!: () => void;
  const first = m.run(async () => {
    log.push("a:start");
    await new Promise<void>((r) => (releaseFirst = r));
    log.push("a:end");
  });
  const second = m.run(() => {
    log.push("b");
    throw new Error("b failed");
  });
  const third = m.run(() => log.push("c"));
  await tick();
  assert.equal(m.held, true);
  assert.deepEqual(log, ["a:start"]);
  releaseFirst();
  await first;
  await assert.rejects(second, /b failed/);
  await third;
  assert.deepEqual(log, ["a:start", "a:end", "b", "c"]);
  assert.equal(m.held, false);
});

test("KeyedLock orders jobs per key, runs keys concurrently, and reports depth and idle", async () => {
  const l = new KeyedLock();
  const log: string[] = [];
  let releaseA!: () => void;
  const a1 = l.run("a", async () => {
    await new Promise<void>((r) => (releaseA = r));
    log.push("a1");
    return 1;
  });
  const a2 = l.run("a", () => {
    log.push("a2");
    throw new Error("a2 failed");
  });
  const a3 = l.run("a", () => log.push("a3"));
  const b1 = l.run("b", () => log.push("b1"));
  await b1;
  await tick();
  assert.deepEqual(log, ["b1"]);
  assert.equal(l.depth, 3);
  let idle = false;
  const idled = l.idle().then(() => (idle = true));
  await tick();
  assert.equal(idle, false);
  releaseA();
  assert.equal(await a1, 1);
  await assert.rejects(a2, /a2 failed/);
  await a3;
  await idled;
  assert.deepEqual(log, ["b1", "a1", "a2", "a3"]);
  assert.equal(l.depth, 0);
});
