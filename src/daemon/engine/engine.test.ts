// The engine's operations against an in-memory libcontainerd (testdata/fake-libcontainerd.ts):
// state transitions, the containerd calls each operation makes, and the refusals that make
// none. The integration tests (test/integration/engine*.test.ts) run the same paths on a real
// containerd.
import { findInitBinary } from "../oci/index.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createDirectoryImageSource } from "../image-source.js";
import { jsonFileLogs } from "../json-file-logs.js";
import { createVolumeStore } from "../../volumes/index.js";
import { BerthError, isBerthError } from "../../base/errors.js";
import type { EngineEvent } from "../types.js";
import { createEngine } from "./index.js";
import { FakeLibcontainerd } from "./testdata/fake-libcontainerd.js";

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-engine-unit-"));
  const rootfs = path.join(dir, "image");
  await fs.mkdir(path.join(rootfs, "etc"), { recursive: true });
  let lcd!: FakeLibcontainerd;
  const root = path.join(dir, "root");
  const engine = await createEngine({
    root,
    // The typed client's few direct calls go to the fake (made below, with the engine's backend).
    containerd: { namespace: "test", get containers() { return lcd.containerd.containers; }, get tasks() { return lcd.containerd.tasks; } } as never,
    images: createDirectoryImageSource({ images: { "img:latest": { dir: rootfs, config: { cmd: ["sleep", "inf"] } } }, workDir: path.join(dir, "rootfs") }),
    logs: jsonFileLogs(),
    volumes: await createVolumeStore({ root }),
    libcontainerd: async (backend) => (lcd = new FakeLibcontainerd(backend)),
  });
  const events: EngineEvent[] = [];
  const ac = new AbortController();
  void (async () => {
    for await (const e of engine.events({ signal: ac.signal })) events.push(e);
  })().catch(() => {});
  t.after(async () => {
    ac.abort();
    await engine.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  // Calls since the previous take: each step's own sequence.
  let seen = 0;
  const take = () => lcd.calls.slice(seen, (seen = lcd.calls.length));
  // The subscription delivers asynchronously: wait for the events a step publishes (each is
  // published after its State change is persisted, so it may trail the call that caused it).
  const actions = async (id: string, count: number) => {
    const of = () => events.filter((e) => e.id === id).map((e) => e.action);
    await until(() => of().length >= count, `${count} events of ${id}`);
    await sleep(20); // and none beyond them
    return of();
  };
  return { engine, lcd: () => lcd, take, actions, containerd: () => lcd.containerd };
}

const conflict = (re: RegExp) => (e: unknown) => isBerthError(e) && e.kind === "conflict" && re.test(e.message);
const invalid = (re: RegExp) => (e: unknown) => isBerthError(e) && e.kind === "invalid-argument" && re.test(e.message);

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test("create, start, exit: one call per step, exit code recorded, events in order", async (t) => {
  const { engine, lcd, take, actions } = await setup(t);
  const { id } = await engine.create({ name: "a1", config: { image: "img" } });
  assert.deepEqual(take(), ["Containers/Create"]);
  assert.equal(engine.inspect("a1").state.status, "created");
  assert.equal(await engine.start("a1"), true);
  assert.deepEqual(take(), ["Tasks/Create", "Tasks/Start"]);
  assert.equal(engine.inspect(id).state.status, "running");
  assert.equal(await engine.start("a1"), false, "a running container's start is the API's 304");
  assert.deepEqual(take(), []);
  await lcd().exit(id, 3);
  const v = engine.inspect(id);
  assert.equal(v.state.status, "exited");
  assert.equal(v.state.exitCode, 3);
  assert.deepEqual(take(), ["Tasks/Delete"], "an exit costs one call: the reap");
  assert.deepEqual(await actions(id, 3), ["create", "start", "die"]);
});

test("an exit whose reap fails is recorded all the same; the task is reaped before the next start", async (t) => {
  const { engine, lcd, take, actions } = await setup(t);
  const { id } = await engine.create({ config: { image: "img" } });
  await engine.start(id);
  take();
  // containerd asked the task's shim, which had just died: "ttrpc: closed", not not-found.
  lcd().failNextDelete = new BerthError("unknown", "failed to delete task: ttrpc: closed");
  await lcd().exit(id, 137);
  assert.equal(engine.inspect(id).state.status, "exited");
  assert.equal(engine.inspect(id).state.exitCode, 137);
  assert.deepEqual(take(), ["Tasks/Delete"]);
  assert.deepEqual(await actions(id, 3), ["create", "start", "die"]);
  assert.equal(await engine.start(id), true);
  assert.deepEqual(take(), ["Tasks/Kill 9", "Tasks/Delete", "Tasks/Create", "Tasks/Start"], "the old task reaped first");
  assert.equal(engine.inspect(id).state.status, "running");
});

test("a failed start records runc's exit code and leaves the container created", async (t) => {
  const { engine, lcd, take } = await setup(t);
  const { id } = await engine.create({ config: { image: "img" } });
  take();
  lcd().failNextStart = "exec: \"nope\": executable file not found in $PATH";
  await assert.rejects(engine.start(id), /executable file not found/);
  assert.deepEqual(take(), ["Tasks/Create"]);
  const v = engine.inspect(id);
  assert.equal(v.state.running, false);
  assert.equal(v.state.exitCode, 127);
  assert.match(v.state.error, /executable file not found/);
});

test("stop: SIGTERM, the exit, then stop; a SIGTERM ignored is followed by SIGKILL after the timeout", async (t) => {
  const { engine, lcd, take, actions } = await setup(t);
  const { id } = await engine.create({ config: { image: "img" } });
  await engine.start(id);
  take();
  assert.equal(await engine.stop(id, { timeout: 5 }), true);
  assert.deepEqual(take(), ["Tasks/Kill 15", "Tasks/Delete"]);
  assert.equal(engine.inspect(id).state.exitCode, 143);
  assert.equal(await engine.stop(id), false, "a stopped container's stop is the API's 304");

  await engine.start(id);
  take();
  lcd().ignoreSigterm = true;
  await engine.stop(id, { timeout: 0 });
  assert.deepEqual(take(), ["Tasks/Kill 15", "Tasks/Kill 9", "Tasks/Delete"]);
  assert.equal(engine.inspect(id).state.exitCode, 137);
  const all = await actions(id, 10);
  const last = all.slice(all.lastIndexOf("start") + 1);
  // Each event is published when its step is done: the second kill's event, the exit's "die"
  // (after the exit is persisted) and stop's (when its waiter wakes) race one another, as they
  // do in dockerd; what is fixed is the set and that the first kill comes first.
  assert.equal(last[0], "kill");
  assert.deepEqual([...last].sort(), ["die", "kill", "kill", "stop"]);
});

test("restart policy: on-failure restarts a failing container up to its count", async (t) => {
  const { engine, lcd, take } = await setup(t);
  const { id } = await engine.create({ config: { image: "img" }, hostConfig: { restartPolicy: { name: "on-failure", maximumRetryCount: 2 } } });
  await engine.start(id);
  take();
  await lcd().exit(id, 1);
  assert.equal(engine.inspect(id).state.restarting, true);
  await until(() => engine.inspect(id).state.status === "running", "the first restart");
  assert.equal(engine.inspect(id).restartCount, 1);
  assert.deepEqual(take(), ["Tasks/Delete", "Tasks/Create", "Tasks/Start"]);
  await lcd().exit(id, 1);
  await until(() => engine.inspect(id).state.status === "running", "the second restart");
  await lcd().exit(id, 1);
  await until(() => engine.inspect(id).state.status !== "running", "the third exit");
  assert.equal(engine.inspect(id).state.status, "exited", "past the maximum retry count it stays down");
  assert.equal(engine.inspect(id).restartCount, 2);

  // A successful exit is not a failure: on-failure leaves it exited.
  await engine.start(id);
  await lcd().exit(id, 0);
  await until(() => engine.inspect(id).state.status !== "running", "the exit");
  assert.equal(engine.inspect(id).state.status, "exited");
});

test("restart policy: always restarts after an exit, but not after a stop or a kill", async (t) => {
  const { engine, lcd } = await setup(t);
  const { id } = await engine.create({ config: { image: "img" }, hostConfig: { restartPolicy: { name: "always", maximumRetryCount: 0 } } });
  await engine.start(id);
  await lcd().exit(id, 0);
  await until(() => engine.inspect(id).state.status === "running", "the restart");
  await engine.kill(id);
  assert.equal(engine.inspect(id).state.status, "exited");
  await sleep(150);
  assert.equal(engine.inspect(id).state.status, "exited", "a kill is a manual stop: no restart");

  // A stop while it waits to restart ends the restarting, without a call.
  await engine.start(id);
  await lcd().exit(id, 0);
  assert.equal(engine.inspect(id).state.restarting, true);
  const calls = lcd().calls.length;
  assert.equal(await engine.stop(id), true);
  assert.equal(engine.inspect(id).state.status, "exited");
  await sleep(300);
  assert.equal(engine.inspect(id).state.status, "exited");
  assert.equal(lcd().calls.length, calls);
});

test("not running: pause, top, resize, stats, exec answer dockerd's 409 without a call", async (t) => {
  const { engine, take } = await setup(t);
  const { id } = await engine.create({ config: { image: "img" } });
  take();
  const notRunning = conflict(new RegExp(`^Container ${id} is not running$`));
  await assert.rejects(engine.pause(id), notRunning);
  await assert.rejects(engine.top(id), notRunning);
  await assert.rejects(engine.resize(id, 80, 24), notRunning);
  await assert.rejects(engine.stats(id), notRunning);
  await assert.rejects(engine.kill(id), notRunning);
  await assert.rejects(engine.execCreate(id, { cmd: ["true"] }), notRunning);
  await assert.rejects(engine.unpause(id), conflict(/is not paused/));
  assert.deepEqual(take(), []);
});

test("paused: exec is refused as dockerd refuses it; unpause resumes", async (t) => {
  const { engine, take } = await setup(t);
  const { id } = await engine.create({ config: { image: "img" } });
  await engine.start(id);
  const execId = await engine.execCreate(id, { cmd: ["true"] });
  await engine.pause(id);
  await assert.rejects(engine.pause(id), conflict(/is already paused/));
  await assert.rejects(engine.execCreate(id, { cmd: ["true"] }), conflict(/is paused, unpause the container before exec/));
  await assert.rejects(engine.execStart(execId, { detach: true }), conflict(/is paused, unpause the container before exec/));
  await engine.unpause(id);
  assert.deepEqual(take().slice(-2), ["Tasks/Pause", "Tasks/Resume"]);
  assert.equal(engine.inspect(id).state.status, "running");
});

test("exec: detached start runs the process; its exit is recorded with its code", async (t) => {
  const { engine, lcd, take } = await setup(t);
  const { id } = await engine.create({ config: { image: "img" } });
  await engine.start(id);
  take();
  const execId = await engine.execCreate(id, { cmd: ["true"] });
  await engine.execStart(execId, { detach: true });
  assert.deepEqual(take(), ["Tasks/Exec", "Tasks/Start"]);
  assert.equal(engine.execInspect(execId).running, true);
  await lcd().deliverExit(id, execId, engine.execInspect(execId).pid, { exitCode: 4, exitedAt: new Date() });
  assert.deepEqual(take(), ["Tasks/DeleteProcess"]);
  const x = engine.execInspect(execId);
  assert.equal(x.running, false);
  assert.equal(x.exitCode, 4);
  await assert.rejects(engine.execStart(execId, { detach: true }), conflict(/has already run/));
});

test("rm: a running container needs force; rm -f kills, reaps, deletes; the name is free again", async (t) => {
  const { engine, take, actions } = await setup(t);
  const { id } = await engine.create({ name: "web", config: { image: "img" } });
  await engine.start(id);
  take();
  await assert.rejects(engine.remove("web"), conflict(/You cannot remove a running container/));
  assert.deepEqual(take(), []);
  await engine.remove("web", { force: true });
  assert.deepEqual(take(), ["Tasks/Kill 9", "Tasks/Delete", "Containers/Delete"]);
  assert.throws(() => engine.inspect(id), (e: unknown) => isBerthError(e) && e.kind === "not-found");
  assert.deepEqual(await actions(id, 5), ["create", "start", "kill", "die", "destroy"]);
  await engine.create({ name: "web", config: { image: "img" } });
});

test("--rm: the container is removed after its exit", async (t) => {
  const { engine, lcd } = await setup(t);
  const { id } = await engine.create({ config: { image: "img" }, hostConfig: { autoRemove: true } });
  await engine.start(id);
  await lcd().exit(id, 0);
  await until(() => engine.list({ all: true }).length === 0, "the removal");
});

test("rename: one name check for create and rename; the same name is refused", async (t) => {
  const { engine, take } = await setup(t);
  await assert.rejects(engine.create({ name: "-bad", config: { image: "img" } }), invalid(/Invalid container name \(-bad\)/));
  const { id } = await engine.create({ name: "one", config: { image: "img" } });
  await assert.rejects(engine.rename(id, "-bad"), invalid(/Invalid container name \(-bad\)/));
  await assert.rejects(engine.rename(id, "one"), invalid(/same name as its current name/));
  await engine.rename(id, "two");
  assert.equal(engine.inspect("two").name, "/two");
  assert.deepEqual(take(), ["Containers/Create"]);
});

test("--init: the spec runs the command under /sbin/docker-init, bound read-only; create's calls unchanged", async (t) => {
  const { engine, take, lcd } = await setup(t);
  const init = findInitBinary();
  if (init === undefined) {
    await assert.rejects(engine.create({ config: { image: "img" }, hostConfig: { init: true } }), invalid(/no init binary/));
    return;
  }
  const { id } = await engine.create({ config: { image: "img" }, hostConfig: { init: true } });
  assert.deepEqual(take(), ["Containers/Create"]);
  const spec = lcd().containers.get(id)!.spec;
  assert.deepEqual(spec.process!.args, ["/sbin/docker-init", "--", "sleep", "inf"]);
  assert.deepEqual(spec.mounts!.find((m) => m.destination === "/sbin/docker-init"), { destination: "/sbin/docker-init", type: "bind", source: init, options: ["bind", "ro"] });
  assert.equal(engine.inspect(id).hostConfig.init, true);
});

test("--pid/--ipc container:X: X's namespaces by its task's PID at start (one Containers/Update), X must run", async (t) => {
  const { engine, take, lcd } = await setup(t);
  const { id: x } = await engine.create({ name: "donor", config: { image: "img" }, hostConfig: { ipcMode: "shareable" } });
  await assert.rejects(engine.create({ config: { image: "img" }, hostConfig: { pidMode: "container:nope" } }), invalid(/^No such container: nope$/));
  const { id: y } = await engine.create({ config: { image: "img" }, hostConfig: { pidMode: "container:donor", ipcMode: "container:donor" } });
  assert.equal(engine.inspect(y).hostConfig.pidMode, `container:${x}`);
  take();
  await assert.rejects(engine.start(y), conflict(new RegExp(`^container ${x} is not running$`)));
  await engine.start(x);
  take();
  await engine.start(y);
  assert.deepEqual(take(), ["Containers/Update", "Tasks/Create", "Tasks/Start"]);
  const pid = lcd().containers.get(x)!.task_!.pid;
  const ns = lcd().containers.get(y)!.updated!.linux!.namespaces!;
  assert.equal(ns.find((n) => n.type === "pid")!.path, `/proc/${pid}/ns/pid`);
  assert.equal(ns.find((n) => n.type === "ipc")!.path, `/proc/${pid}/ns/ipc`);
});

test("stats: a client that leaves stops waiting; the batch's call still answers the others", async (t) => {
  const { engine } = await setup(t);
  const { id } = await engine.create({ config: { image: "img" } });
  await engine.start(id);
  const ac = new AbortController();
  const left = engine.stats(id, { signal: ac.signal });
  const stays = engine.stats(id);
  ac.abort();
  await assert.rejects(left, (e: unknown) => (e as Error).name === "AbortError");
  // The fake's Tasks/Metrics knows no task: the waiter that stayed gets the batch's answer.
  await assert.rejects(stays, conflict(/is not running/));
});
