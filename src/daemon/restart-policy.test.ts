import { test } from "node:test";
import assert from "node:assert/strict";
import { RestartManager, startsWithDaemon, RESTART_BACKOFF_MAX_MS } from "./restart-policy.js";

const exit = (exitCode: number, runDurationMs = 100, manuallyStopped = false) => ({ exitCode, runDurationMs, manuallyStopped });

test("no: never restarts", () => {
  const m = new RestartManager({ name: "no", maximumRetryCount: 0 });
  assert.deepEqual(m.decide(exit(1)), { restart: false });
  assert.deepEqual(m.decide(exit(0)), { restart: false });
  assert.equal(m.restartCount, 0);
});

test("always: restarts on any exit with 100 ms doubling to a minute, counting", () => {
  const m = new RestartManager({ name: "always", maximumRetryCount: 0 });
  const delays: number[] = [];
  for (let i = 0; i < 12; i++) {
    const d = m.decide(exit(i % 2));
    assert.equal(d.restart, true);
    if (d.restart) { delays.push(d.delayMs); assert.equal(d.restartCount, i + 1); }
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
  assert.equal(delays.every((d) => d <= RESTART_BACKOFF_MAX_MS), true);
});

test("the backoff resets after 10 s of running, not before", () => {
  const m = new RestartManager({ name: "always", maximumRetryCount: 0 });
  m.decide(exit(1));
  m.decide(exit(1));
  const third = m.decide(exit(1, 9_999));
  assert.equal(third.restart && third.delayMs, 400);
  const reset = m.decide(exit(1, 10_000));
  assert.equal(reset.restart && reset.delayMs, 100);
});

test("a manual stop or cancel prevents any restart, even with always", () => {
  const m = new RestartManager({ name: "always", maximumRetryCount: 0 });
  assert.deepEqual(m.decide(exit(137, 100, true)), { restart: false });
  m.cancel();
  assert.deepEqual(m.decide(exit(1)), { restart: false });
  m.reset();
  assert.equal(m.decide(exit(1)).restart, true);
});

test("unless-stopped: like always unless stopped by hand", () => {
  const m = new RestartManager({ name: "unless-stopped", maximumRetryCount: 0 });
  assert.equal(m.decide(exit(0)).restart, true);
  assert.equal(m.decide(exit(0, 100, true)).restart, false);
});

test("on-failure[:N]: only non-zero exits, at most N restarts (0 = unlimited)", () => {
  const m = new RestartManager({ name: "on-failure", maximumRetryCount: 2 });
  assert.equal(m.decide(exit(0)).restart, false);
  assert.equal(m.decide(exit(1)).restart, true);
  assert.equal(m.decide(exit(2)).restart, true);
  assert.equal(m.decide(exit(3)).restart, false, "third failure: limit reached");
  assert.equal(m.restartCount, 2);
  const unlimited = new RestartManager({ name: "on-failure", maximumRetryCount: 0 }, 50);
  assert.equal(unlimited.decide(exit(1)).restart, true);
  assert.equal(unlimited.restartCount, 51);
});

test("which containers start with the daemon", () => {
  const p = (name: "no" | "always" | "unless-stopped" | "on-failure") => ({ name, maximumRetryCount: 0 });
  assert.equal(startsWithDaemon(p("always"), { manuallyStopped: true, exitCode: 0 }), true);
  assert.equal(startsWithDaemon(p("unless-stopped"), { manuallyStopped: true, exitCode: 0 }), false);
  assert.equal(startsWithDaemon(p("unless-stopped"), { manuallyStopped: false, exitCode: 0 }), true);
  assert.equal(startsWithDaemon(p("on-failure"), { manuallyStopped: false, exitCode: 0 }), false);
  assert.equal(startsWithDaemon(p("on-failure"), { manuallyStopped: false, exitCode: 2 }), true);
  assert.equal(startsWithDaemon(p("no"), { manuallyStopped: false, exitCode: 2 }), false);
});
