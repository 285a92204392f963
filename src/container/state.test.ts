import { test } from "node:test";
import assert from "node:assert/strict";
import { isBerthError } from "./errors.js";
import type { Container as LibContainer, Task as LibTask } from "../libcontainerd/index.js";
import type { ContainerHandle, TaskHandle } from "./handles.js";
import { createState } from "./state.js";
import { reduceState, initialStateData, type StateData } from "./state-reducer.js";
import { fakeClock } from "./testdata/clock.js";

const ID = "a".repeat(64);

// Richer handles than the placeholders, as libcontainerd's will be: State must carry them typed.
interface FakeTask extends TaskHandle {
  readonly killed: string[];
  kill(signal: string): void;
}
interface FakeContainer extends ContainerHandle {
  readonly bundle: string;
}
const fakeTask = (pid: number): FakeTask => {
  const killed: string[] = [];
  return { pid, killed, kill: (s) => void killed.push(s) };
};
const fakeContainer = (): FakeContainer => ({ id: ID, bundle: "/run/bundle" });

function setup() {
  const clock = fakeClock();
  const state = createState<FakeContainer, FakeTask>({ id: ID, now: clock.now });
  return { clock, state };
}

function assertKind(fn: () => unknown, kind: string, message: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isBerthError(e), `expected a BerthError, got ${String(e)}`);
    assert.equal(e.kind, kind);
    assert.match(e.message, message);
    return true;
  });
}

test("State takes libcontainerd's real handle types (checked by tsc)", () => {
  const state = createState<LibContainer, LibTask>({ id: ID, now: fakeClock().now });
  const task: LibTask | undefined = state.phase.kind === "running" ? state.phase.task : undefined;
  assert.equal(task, undefined);
  assert.equal(state.container, undefined);
});

test("a new state is created: stopped, pid 0, exit code 0, no error, no health", () => {
  const { state } = setup();
  assert.equal(state.phase.kind, "stopped");
  assert.equal(state.isRunning, false);
  assert.equal(state.status(), "created");
  assert.equal(state.humanStatus(), "Created");
  assert.equal(state.pid, 0);
  assert.equal(state.exitCode, 0);
  assert.equal(state.error, undefined);
  assert.equal(state.startedAt, undefined);
  assert.equal(state.healthStatus, "none");
  assert.equal(state.container, undefined);
  assertKind(() => state.runningTask(), "conflict", new RegExp(`^container ${ID} is not running$`));
});

test("setRunning(initial) retains both handles, takes the pid from the task and stamps startedAt", () => {
  const { state, clock } = setup();
  const task = fakeTask(4242);
  const ctr = fakeContainer();
  state.setRunning(ctr, task, true);
  assert.equal(state.isRunning, true);
  assert.equal(state.status(), "running");
  assert.equal(state.pid, 4242);
  assert.deepEqual(state.startedAt, clock.now());
  assert.equal(state.container, ctr);
  const got = state.runningTask();
  assert.equal(got, task);
  got.kill("SIGTERM"); // typed as FakeTask, not the placeholder
  assert.deepEqual(task.killed, ["SIGTERM"]);
});

test("setRunning clears error, exit code, OOM flag and pause but keeps finishedAt, dead, removal flag and health", () => {
  const { state, clock } = setup();
  state.setRunning(fakeContainer(), fakeTask(1), true);
  state.initHealth();
  state.setOOMKilled();
  state.setStopped({ exitCode: 137, error: "boom" });
  const finished = state.finishedAt;
  state.setDead();
  state.setRemovalInProgress();
  clock.advance(1000);
  state.setRunning(fakeContainer(), fakeTask(2), true);
  assert.equal(state.error, undefined);
  assert.equal(state.exitCode, 0);
  assert.equal(state.isOOMKilled, false);
  assert.equal(state.isPaused, false);
  assert.deepEqual(state.finishedAt, finished);
  assert.equal(state.isDead, true);
  assert.equal(state.isRemovalInProgress, true);
  assert.equal(state.healthStatus, "starting");
});

test("setRunning(initial=false) keeps the previous startedAt (a start containerd reported)", () => {
  const { state, clock } = setup();
  state.setRunning(undefined, fakeTask(1), true);
  const started = state.startedAt;
  clock.advance(60_000);
  state.setRunning(undefined, fakeTask(2), false);
  assert.deepEqual(state.startedAt, started);
  assert.equal(state.pid, 2);
});

test("setRunning without a task: pid 0, and runningTask is an internal error", () => {
  const { state } = setup();
  state.setRunning(undefined, undefined, true);
  assert.equal(state.isRunning, true);
  assert.equal(state.pid, 0);
  assertKind(() => state.runningTask(), "internal", /is in Running state but has no containerd Task set/);
});

test("setStopped uses exitedAt, zeroes the pid, drops the task and keeps the container handle", () => {
  const { state } = setup();
  const ctr = fakeContainer();
  state.setRunning(ctr, fakeTask(7), true);
  const exitedAt = new Date("2024-03-01T11:59:00Z");
  state.setStopped({ exitCode: 3, exitedAt });
  assert.equal(state.phase.kind, "stopped");
  assert.equal(state.isRunning, false);
  assert.equal(state.status(), "exited");
  assert.equal(state.exitCode, 3);
  assert.equal(state.pid, 0);
  assert.deepEqual(state.finishedAt, exitedAt);
  assert.equal(state.humanStatus(), "Exited (3) About a minute ago");
  assert.equal(state.container, ctr);
  assertKind(() => state.runningTask(), "conflict", /is not running/);
});

test("setStopped without exitedAt stamps now()", () => {
  const { state, clock } = setup();
  state.setRunning(undefined, fakeTask(7), true);
  clock.advance(5000);
  state.setStopped({ exitCode: 0 });
  assert.deepEqual(state.finishedAt, clock.now());
});

test("setStopped sets the error and OOM flag when given and otherwise leaves them as they were", () => {
  const { state } = setup();
  state.setRunning(undefined, fakeTask(7), true);
  state.setOOMKilled(); // the OOM event comes before the exit
  state.setError("first");
  state.setStopped({ exitCode: 137 });
  assert.equal(state.isOOMKilled, true);
  assert.equal(state.error, "first");

  state.setRunning(undefined, fakeTask(8), true);
  state.setStopped({ exitCode: 137, error: "killed", oomKilled: true });
  assert.equal(state.isOOMKilled, true);
  assert.equal(state.error, "killed");

  state.setRunning(undefined, fakeTask(9), true);
  state.setStopped({ exitCode: 1, oomKilled: false });
  assert.equal(state.isOOMKilled, false);
});

test("setRestarting: still running, restarting, pid 0, finishedAt = now even with exitedAt, task dropped", () => {
  const { state, clock } = setup();
  state.setRunning(fakeContainer(), fakeTask(7), true);
  clock.advance(10_000);
  state.setRestarting({ exitCode: 10, exitedAt: new Date(0) });
  assert.equal(state.isRunning, true);
  assert.equal(state.isRestarting, true);
  assert.equal(state.isPaused, false);
  assert.equal(state.status(), "restarting");
  assert.equal(state.pid, 0);
  assert.equal(state.exitCode, 10);
  assert.deepEqual(state.finishedAt, clock.now());
  clock.advance(5000);
  assert.equal(state.humanStatus(), "Restarting (10) 5 seconds ago");
  assertKind(() => state.runningTask(), "conflict", /is restarting, wait until the container is running/);
});

test("setRestarting clears pause", () => {
  const { state } = setup();
  state.setRunning(undefined, fakeTask(1), true);
  state.setPaused();
  state.setRestarting({ exitCode: 1 });
  assert.equal(state.isPaused, false);
  assert.equal(state.snapshot().paused, false);
});

test("setPaused / setUnpaused report whether they changed anything", () => {
  const { state, clock } = setup();
  state.setRunning(undefined, fakeTask(1), true);
  clock.advance(2 * 3600_000);
  assert.equal(state.setPaused(), true);
  assert.equal(state.setPaused(), false);
  assert.equal(state.isPaused, true);
  assert.equal(state.isRunning, true);
  assert.equal(state.status(), "paused");
  assert.equal(state.humanStatus(), "Up 2 hours (Paused)");
  assert.equal(state.setUnpaused(), true);
  assert.equal(state.setUnpaused(), false);
  assert.equal(state.status(), "running");
});

test("setPaused refuses stopped and restarting containers; setUnpaused refuses stopped ones", () => {
  const { state } = setup();
  assertKind(() => state.setPaused(), "conflict", /is not running/);
  assertKind(() => state.setUnpaused(), "conflict", /is not running/);
  state.setRunning(undefined, fakeTask(1), true);
  state.setRestarting({ exitCode: 1 });
  assertKind(() => state.setPaused(), "conflict", /is restarting/);
  assert.equal(state.setUnpaused(), false);
});

test("setError takes an Error, a string, or nothing to clear", () => {
  const { state } = setup();
  state.setError(new Error("exec: \"nope\": executable file not found in $PATH"));
  assert.equal(state.error, 'exec: "nope": executable file not found in $PATH');
  state.setError("");
  assert.equal(state.error, undefined);
  state.setError("x");
  state.setError(undefined);
  assert.equal(state.error, undefined);
});

test("a failed first start: error and exit code set, still reads Created", () => {
  const { state } = setup();
  state.setError("executable file not found");
  state.setExitCode(127);
  assert.equal(state.exitCode, 127);
  assert.equal(state.status(), "created");
  assert.equal(state.humanStatus(), "Created");
});

test("setRemovalInProgress is a test-and-set; resetRemovalInProgress clears it", () => {
  const { state } = setup();
  assert.equal(state.setRemovalInProgress(), false);
  assert.equal(state.isRemovalInProgress, true);
  assert.equal(state.setRemovalInProgress(), true);
  assert.equal(state.status(), "removing");
  assert.equal(state.humanStatus(), "Removal In Progress");
  state.resetRemovalInProgress();
  assert.equal(state.isRemovalInProgress, false);
  assert.equal(state.setRemovalInProgress(), false);
});

test("setDead marks the container dead", () => {
  const { state } = setup();
  state.setRunning(undefined, fakeTask(1), true);
  state.setStopped({ exitCode: 0 });
  state.setDead();
  assert.equal(state.isDead, true);
  assert.equal(state.status(), "dead");
  assert.equal(state.humanStatus(), "Dead");
});

test("setRemoved clears the error; setRemovalError records it; both mark removed", () => {
  const a = setup().state;
  a.setError("old");
  a.setRemoved();
  assert.equal(a.isRemoved, true);
  assert.equal(a.error, undefined);
  const b = setup().state;
  b.setRemovalError(new Error("device busy"));
  assert.equal(b.isRemoved, true);
  assert.equal(b.error, "device busy");
});

test("releaseContainer hands the handle over exactly once", () => {
  const { state } = setup();
  const ctr = fakeContainer();
  state.setRunning(ctr, fakeTask(1), true);
  state.setStopped({ exitCode: 0 });
  assert.equal(state.releaseContainer(), ctr);
  assert.equal(state.releaseContainer(), undefined);
  assert.equal(state.container, undefined);
});

test("initHealth starts a clean streak and keeps the previous log; probes need it first", () => {
  const { state, clock } = setup();
  const probe = (exitCode: number) => ({ start: clock.now(), end: clock.now(), exitCode, output: `rc=${exitCode}` });
  assertKind(() => state.recordProbeResult(probe(0), { retries: 3, startPeriodMs: 0 }), "internal", /initHealth/);
  state.setRunning(undefined, fakeTask(1), true);
  state.initHealth();
  assert.equal(state.healthStatus, "starting");
  clock.advance(5000);
  assert.equal(state.humanStatus(), "Up 5 seconds (health: starting)");
  state.recordProbeResult(probe(1), { retries: 1, startPeriodMs: 0 });
  assert.equal(state.healthStatus, "unhealthy");
  assert.equal(state.health?.failingStreak, 1);
  state.initHealth();
  assert.equal(state.healthStatus, "starting");
  assert.equal(state.health?.failingStreak, 0);
  assert.equal(state.health?.log.length, 1);
});

test("recordProbeResult measures the start period from startedAt", () => {
  const { state, clock } = setup();
  state.setRunning(undefined, fakeTask(1), true);
  state.initHealth();
  const failAt = (offsetMs: number) => {
    const start = new Date(state.startedAt!.getTime() + offsetMs);
    return state.recordProbeResult({ start, end: start, exitCode: 1, output: "" }, { retries: 1, startPeriodMs: 10_000 });
  };
  assert.equal(failAt(9_999).status, "starting");
  assert.equal(state.health?.failingStreak, 0);
  assert.equal(failAt(10_000).status, "unhealthy");
  clock.advance(1000);
  assert.equal(state.humanStatus(), "Up 1 second (unhealthy)");
});

test("snapshot round-trips a paused running container without its handles", () => {
  const { state, clock } = setup();
  state.setRunning(fakeContainer(), fakeTask(99), true);
  state.initHealth();
  state.setPaused();
  state.setOOMKilled();
  const snap = state.snapshot();
  assert.deepEqual(JSON.parse(JSON.stringify(snap)), snap, "JSON-safe");
  assert.equal(snap.running, true);
  assert.equal(snap.paused, true);
  assert.equal(snap.pid, 99);
  assert.equal(snap.startedAt, clock.now().toISOString());

  const restored = createState<FakeContainer, FakeTask>({ id: ID, now: clock.now, snapshot: snap });
  assert.deepEqual(restored.snapshot(), snap);
  assert.equal(restored.status(), "paused");
  assert.equal(restored.pid, 99);
  assert.equal(restored.container, undefined);
  assertKind(() => restored.runningTask(), "internal", /no containerd Task/);
});

test("snapshot restores restarting and exited containers; never 'removed'", () => {
  const { state, clock } = setup();
  state.setRunning(undefined, fakeTask(1), true);
  state.setRestarting({ exitCode: 4 });
  const r = createState({ id: ID, now: clock.now, snapshot: state.snapshot() });
  assert.equal(r.status(), "restarting");
  assert.equal(r.exitCode, 4);

  state.setStopped({ exitCode: 5, error: "bad" });
  state.setRemoved();
  const e = createState({ id: ID, now: clock.now, snapshot: state.snapshot() });
  assert.equal(e.status(), "exited");
  assert.equal(e.isRemoved, false);
  assert.deepEqual(e.finishedAt, state.finishedAt);
});

test("a record claiming running + paused + restarting restores as paused (moby's precedence)", () => {
  const { state, clock } = setup();
  const snap = { ...state.snapshot(), running: true, paused: true, restarting: true, startedAt: clock.now().toISOString() };
  const r = createState({ id: ID, now: clock.now, snapshot: snap });
  assert.equal(r.status(), "paused");
  assert.equal(r.humanStatus(), "Up Less than a second (Paused)");
});

test("reduceState is pure: it never modifies the data it is given", () => {
  const clock = fakeClock();
  const deepFreeze = <T>(o: T): T => {
    if (typeof o === "object" && o !== null && !(o instanceof Date)) {
      for (const v of Object.values(o)) deepFreeze(v);
      Object.freeze(o);
    }
    return o;
  };
  let d: StateData = deepFreeze(initialStateData());
  const events = [
    { type: "running", container: { id: ID }, task: { pid: 3 }, initial: true },
    { type: "paused", paused: true },
    { type: "oom-killed" },
    { type: "restarting", exit: { exitCode: 1 } },
    { type: "running", container: undefined, task: { pid: 4 }, initial: false },
    { type: "stopped", exit: { exitCode: 2, error: "e" } },
    { type: "removal-in-progress", value: true },
    { type: "dead" },
    { type: "removed", error: undefined },
    { type: "release-container" },
  ] as const;
  for (const e of events) {
    const next = reduceState(d, e, clock.now());
    assert.notEqual(next, d);
    d = deepFreeze(next);
  }
  assert.equal(d.exitCode, 2);
  assert.equal(d.removed, true);
});
