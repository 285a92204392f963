import { test } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { setImmediate as tick } from "node:timers/promises";
import { createState, type WaitResult } from "./state.js";
import { fakeClock } from "./testdata/clock.js";

const ID = "b".repeat(64);
const task = (pid: number) => ({ pid });

function setup() {
  const clock = fakeClock();
  return createState({ id: ID, now: clock.now });
}

/** Follows a promise so a test can ask whether it has settled yet. */
function track(p: Promise<WaitResult>) {
  const t: { settled: boolean; value: WaitResult | undefined } = { settled: false, value: undefined };
  void p.then((v) => {
    t.settled = true;
    t.value = v;
  });
  return t;
}

test("not-running is met at once for a created container, with exit code 0", async () => {
  const s = setup();
  assert.deepEqual(await s.wait("not-running"), { exitCode: 0 });
  assert.equal(s.pendingWaiters(), 0);
});

test("not-running is met at once for an exited container, with its exit code and error", async () => {
  const s = setup();
  s.setRunning(undefined, task(1), true);
  s.setStopped({ exitCode: 3, error: "oops" });
  assert.deepEqual(await s.wait("not-running"), { exitCode: 3, error: "oops" });
});

test("not-running is not met while running, paused or restarting", async () => {
  const s = setup();
  s.setRunning(undefined, task(1), true);
  const w1 = track(s.wait("not-running"));
  s.setPaused();
  const w2 = track(s.wait("not-running"));
  s.setRestarting({ exitCode: 1 }); // wakes w1 and w2
  const w3 = track(s.wait("not-running"));
  await tick();
  assert.equal(w1.settled, true);
  assert.equal(w2.settled, true);
  assert.equal(w3.settled, false, "restarting counts as running");
  s.setStopped({ exitCode: 9 });
  await tick();
  assert.deepEqual(w3.value, { exitCode: 9 });
});

test("next-exit is never met at once, not even for a stopped container", async () => {
  const s = setup();
  const w = track(s.wait("next-exit"));
  await tick();
  assert.equal(w.settled, false);
  s.setRunning(undefined, task(1), true);
  await tick();
  assert.equal(w.settled, false, "setRunning wakes nobody");
  s.setStopped({ exitCode: 2 });
  await tick();
  assert.deepEqual(w.value, { exitCode: 2 });
});

test("removed is met at once only once removed", async () => {
  const s = setup();
  const before = track(s.wait("removed"));
  await tick();
  assert.equal(before.settled, false);
  s.setRemoved();
  await tick();
  assert.deepEqual(before.value, { exitCode: 0 });
  assert.deepEqual(await s.wait("removed"), { exitCode: 0 });
});

test("setStopped wakes not-running and next-exit waiters but not removed waiters", async () => {
  const s = setup();
  s.setRunning(undefined, task(1), true);
  const nr = track(s.wait("not-running"));
  const ne = track(s.wait("next-exit"));
  const rm = track(s.wait("removed"));
  assert.equal(s.pendingWaiters(), 3);
  s.setStopped({ exitCode: 137 });
  await tick();
  assert.deepEqual(nr.value, { exitCode: 137 });
  assert.deepEqual(ne.value, { exitCode: 137 });
  assert.equal(rm.settled, false);
  assert.equal(s.pendingWaiters(), 1);
});

test("setRestarting wakes not-running and next-exit waiters but not removed waiters", async () => {
  const s = setup();
  s.setRunning(undefined, task(1), true);
  const nr = track(s.wait("not-running"));
  const ne = track(s.wait("next-exit"));
  const rm = track(s.wait("removed"));
  s.setRestarting({ exitCode: 10 });
  await tick();
  assert.deepEqual(nr.value, { exitCode: 10 });
  assert.deepEqual(ne.value, { exitCode: 10 });
  assert.equal(rm.settled, false);
});

test("removal wakes every waiter, with the removal error", async () => {
  const s = setup();
  s.setRunning(undefined, task(1), true);
  const nr = track(s.wait("not-running"));
  const ne = track(s.wait("next-exit"));
  const rm = track(s.wait("removed"));
  s.setRemovalError("unmount failed");
  await tick();
  for (const w of [nr, ne, rm]) assert.deepEqual(w.value, { exitCode: 0, error: "unmount failed" });
  assert.equal(s.pendingWaiters(), 0);
});

test("setRemoved wakes every waiter", async () => {
  const s = setup();
  s.setRunning(undefined, task(1), true);
  s.setStopped({ exitCode: 4 });
  const ne = track(s.wait("next-exit"));
  const rm = track(s.wait("removed"));
  s.setRemoved();
  await tick();
  assert.deepEqual(ne.value, { exitCode: 4 });
  assert.deepEqual(rm.value, { exitCode: 4 });
});

test("transitions that are not exits or removal wake nobody", async () => {
  const s = setup();
  s.setRunning(undefined, task(1), true);
  const w = track(s.wait("next-exit"));
  s.setPaused();
  s.setUnpaused();
  s.setOOMKilled();
  s.setError("x");
  s.setExitCode(5);
  s.setRemovalInProgress();
  s.resetRemovalInProgress();
  s.initHealth();
  s.setRunning(undefined, task(2), false);
  await tick();
  assert.equal(w.settled, false);
  assert.equal(s.pendingWaiters(), 1);
});

test("a waiter gets the result of the transition that woke it, not a later one (moby #39352)", async () => {
  const s = setup();
  s.setRunning(undefined, task(1), true);
  const w = s.wait("not-running");
  s.setRestarting({ exitCode: 10 });
  s.setRunning(undefined, task(2), false); // before the waiter's continuation runs
  assert.deepEqual(await w, { exitCode: 10 });
});

test("an abort resolves with exit code -1 and the reason, and leaves no waiter behind", async () => {
  const s = setup();
  s.setRunning(undefined, task(1), true);
  const ac = new AbortController();
  const p = s.wait("not-running", { signal: ac.signal });
  const others = [s.wait("next-exit", { signal: ac.signal }), s.wait("removed", { signal: ac.signal })];
  assert.equal(s.pendingWaiters(), 3);
  ac.abort(new Error("client went away"));
  assert.deepEqual(await p, { exitCode: -1, error: "client went away" });
  for (const o of others) assert.deepEqual(await o, { exitCode: -1, error: "client went away" });
  assert.equal(s.pendingWaiters(), 0);
  assert.equal(getEventListeners(ac.signal, "abort").length, 0);
  s.setStopped({ exitCode: 1 }); // nothing left to wake, nothing to throw
  assert.equal(s.pendingWaiters(), 0);
});

test("an abort with the default reason reports it", async () => {
  const s = setup();
  s.setRunning(undefined, task(1), true);
  const ac = new AbortController();
  const p = s.wait("not-running", { signal: ac.signal });
  ac.abort();
  const r = await p;
  assert.equal(r.exitCode, -1);
  assert.equal(r.error, "This operation was aborted");
  assert.equal(s.pendingWaiters(), 0);
});

test("a timeout signal fires the wait well before anything else happens (moby TestStateTimeoutWait)", async () => {
  const s = setup();
  s.setRunning(undefined, undefined, true);
  const t0 = performance.now();
  // AbortSignal.timeout's timer does not keep the event loop alive (a daemon's server does).
  const keepAlive = setTimeout(() => {}, 5000);
  const r = await s.wait("not-running", { signal: AbortSignal.timeout(30) });
  clearTimeout(keepAlive);
  const elapsed = performance.now() - t0;
  assert.equal(r.exitCode, -1);
  assert.match(r.error ?? "", /timeout/i);
  assert.ok(elapsed >= 25 && elapsed < 1000, `elapsed ${elapsed} ms`);
  assert.equal(s.pendingWaiters(), 0);
  s.setStopped({ exitCode: 0 });
  assert.deepEqual(await s.wait("not-running"), { exitCode: 0 });
});

test("an already-aborted signal: a met condition still wins, otherwise -1 without registering", async () => {
  const s = setup();
  const ac = new AbortController();
  ac.abort("gone");
  assert.deepEqual(await s.wait("not-running", { signal: ac.signal }), { exitCode: 0 });
  const r = await s.wait("next-exit", { signal: ac.signal });
  assert.deepEqual(r, { exitCode: -1, error: "gone" });
  assert.equal(s.pendingWaiters(), 0);
});

test("a woken waiter drops its abort listener, so a later abort changes nothing", async () => {
  const s = setup();
  s.setRunning(undefined, task(1), true);
  const ac = new AbortController();
  const p = s.wait("next-exit", { signal: ac.signal });
  assert.equal(getEventListeners(ac.signal, "abort").length, 1);
  s.setStopped({ exitCode: 6 });
  assert.equal(getEventListeners(ac.signal, "abort").length, 0);
  ac.abort();
  assert.deepEqual(await p, { exitCode: 6 });
});

test("moby TestStateRunStop, ported", async () => {
  const s = setup();
  const removed = s.wait("removed", { signal: AbortSignal.timeout(2000) });
  assert.equal(s.pendingWaiters(), 1);
  for (let i = 1; i <= 2; i++) {
    // Stopped (or created): not-running is met at once with the previous exit code.
    assert.deepEqual(await s.wait("not-running"), { exitCode: i - 1 });
    const nextExit = s.wait("next-exit");
    s.setRunning(undefined, task(i), false);
    assert.equal(s.isRunning, true);
    assert.equal(s.pid, i);
    assert.equal(s.exitCode, 0);
    const stopped = s.wait("not-running");
    s.setStopped({ exitCode: i });
    assert.equal(s.isRunning, false);
    assert.equal(s.exitCode, i);
    assert.equal(s.pid, 0);
    assert.deepEqual(await stopped, { exitCode: i });
    assert.deepEqual(await nextExit, { exitCode: i });
  }
  s.setDead();
  s.setRemoved();
  assert.deepEqual(await removed, { exitCode: 2 });
  assert.equal(s.pendingWaiters(), 0);
});
