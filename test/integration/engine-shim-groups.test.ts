// Shared shims (--shim-group-size 3) against a real containerd 1.6 runc v2 shim: containers fill
// groups of three, each group is ONE containerd-shim-runc-v2 process (the parent of its
// containers' init processes), everything a container does works inside a shared shim, the RPCs
// per operation are those of a shim per container, a group's shim ends with its last task, and
// a shim that dies gives each of its containers one exit.
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { logsOf, startTestEngine, type TestEngine } from "../helpers/engine.js";
import { isAlive, ppidOf, shimsOf } from "../helpers/shims.js";
import { containerSpec } from "../../src/containerd/index.js";
import type { CreateOptions } from "../../src/daemon/types.js";

const SIZE = 3;
let ctd: TestContainerd;
let engine: TestEngine;
let root: string;

before(async () => {
  ctd = await startTestContainerd("shg");
  root = path.join(ctd.dir, "berth");
  engine = await startTestEngine(ctd, { root, shimGroupSize: SIZE });
});
// Each test leaves no container: a group left half full would change where the next test's go.
afterEach(async () => {
  for (const c of engine.list({ all: true })) await engine.remove(c.id, { force: true }).catch(() => {});
  await engine.libcontainerd.idle();
});
after(async () => {
  for (const c of engine.list({ all: true })) await engine.remove(c.id, { force: true }).catch(() => {});
  await engine.close();
  const left = await ctd.leftovers();
  await ctd.stop();
  assert.deepEqual({ ...left, snapshots: left.snapshots.filter((s) => !s.startsWith("sha256:")) }, { containers: [], tasks: [], snapshots: [], leases: [] });
});

async function calls<T>(fn: () => Promise<T>): Promise<[T, Record<string, number>]> {
  const { result, calls } = await ctd.client.counter.measure(fn);
  return [result, calls];
}
const shims = () => shimsOf(ctd.address, ctd.namespace);
/** The shim serving a running container: the parent of its init process. */
const shimOf = (id: string) => ppidOf(engine.inspect(id).state.pid);
async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
async function runOne(cmd: string[], o: { config?: Partial<CreateOptions["config"]>; hostConfig?: CreateOptions["hostConfig"] } = {}): Promise<string> {
  const { id } = await engine.create({ ...o, config: { image: "busybox", cmd, ...o.config } });
  await engine.start(id);
  return id;
}
const sleeper = () => runOne(["sleep", "1000"]);
async function removeAll(): Promise<void> {
  for (const c of engine.list({ all: true })) await engine.remove(c.id, { force: true });
  await engine.libcontainerd.idle();
}
/** `die` events of a container from `since` until now. */
async function dies(id: string, since: bigint): Promise<string[]> {
  const codes: string[] = [];
  for await (const ev of engine.events({ since, until: BigInt(Date.now()) * 1_000_000n, filter: (e) => e.id === id && e.action === "die" })) codes.push(ev.attributes.exitCode ?? "");
  return codes;
}

describe("groups", () => {
  test("containers fill groups of 3, one shim each; create/start/exit cost what they cost without groups", async () => {
    const [{ id: a }, createCalls] = await calls(() => engine.create({ config: { image: "busybox", cmd: ["sleep", "1000"] } }));
    assert.deepEqual(createCalls, { "Containers/Create": 1, "Snapshots/Prepare": 1 });
    const [, startCalls] = await calls(() => engine.start(a));
    assert.deepEqual(startCalls, { "Tasks/Create": 1, "Tasks/Start": 1 });
    const b = await sleeper();
    const c = await sleeper();
    const d = await sleeper();
    // The group is on the containerd container twice: the spec annotation the shim reads, the label.
    const rec = await ctd.client.containers.get(a);
    const group = rec.labels["io.containerd.runc.v2.group"];
    assert.match(group ?? "", /^berth-[0-9a-f]{16}$/);
    assert.equal(containerSpec(rec).annotations?.["io.containerd.runc.v2.group"], group);
    assert.equal((await ctd.client.containers.get(c)).labels["io.containerd.runc.v2.group"], group);
    assert.notEqual((await ctd.client.containers.get(d)).labels["io.containerd.runc.v2.group"], group);

    const s = shims();
    assert.equal(s.length, 2, `two shims for four containers: ${JSON.stringify(s)}`);
    assert.equal(shimOf(a), shimOf(b));
    assert.equal(shimOf(a), shimOf(c));
    assert.notEqual(shimOf(a), shimOf(d));
    assert.deepEqual(new Set(s.map((x) => x.pid)), new Set([shimOf(a), shimOf(d)]));
    const g1 = shimOf(a);
    const g2 = shimOf(d);

    // rm frees a slot: the next container joins the first group again.
    await engine.remove(b, { force: true });
    const e = await sleeper();
    assert.equal(shimOf(e), g1);
    assert.equal(shims().length, 2);

    // An exit still costs one Tasks/Delete; the group's shim stays while it has tasks...
    const [, stopCalls] = await calls(async () => {
      await engine.kill(a, "KILL");
      await engine.libcontainerd.idle();
    });
    assert.deepEqual(stopCalls, { "Tasks/Delete": 1, "Tasks/Kill": 1 });
    await engine.kill(c, "KILL");
    assert.ok(isAlive(g1), "the shim serves e still");
    assert.equal(engine.inspect(e).state.running, true);
    // ...and ends with its last task's delete.
    await engine.kill(e, "KILL");
    await engine.libcontainerd.idle();
    await until(() => !isAlive(g1), "the first group's shim to exit");
    assert.ok(isAlive(g2));
    await engine.stop(d, { timeout: 0 });
    await until(() => !isAlive(g2), "the second group's shim to exit");
    assert.deepEqual(shims(), []);
    // A stopped member keeps its group: started again, it gets a (new) shim of that group.
    await engine.start(a);
    await engine.start(c);
    assert.equal(shimOf(a), shimOf(c));
    assert.equal(shims().length, 1);
    await removeAll();
    assert.deepEqual(shims(), []);
  });
});

describe("a shared shim serves everything a container does", () => {
  test("stdin, stdout/stderr, TTY, exec, pause/unpause, stats, kill", async () => {
    // stdin through a shared shim (docker run -i).
    const { id: cat } = await engine.create({ config: { image: "busybox", cmd: ["cat"], openStdin: true, stdinOnce: true, attachStdin: true } });
    const tty = await runOne(["sh", "-c", "tty; echo err >&2; sleep 1000"], { config: { tty: true } });
    const plain = await runOne(["sh", "-c", "echo out; echo err >&2; sleep 1000"]);
    const stdin = new PassThrough();
    let out = "";
    const attached = engine.attach(cat, { stdin, stdout: (b) => (out += b.toString()), stderr: () => {}, stream: true });
    await engine.start(cat);
    assert.equal(shimOf(cat), shimOf(tty));
    assert.equal(shimOf(cat), shimOf(plain));
    assert.equal(shims().length, 1);
    stdin.end("through a shared shim\n");
    await attached;
    assert.equal(out, "through a shared shim\n");
    assert.equal((await engine.wait(cat, "not-running")).exitCode, 0);

    await until(() => engine.inspect(plain).state.running, "plain running");
    const waitLog = async (id: string, re: RegExp) => {
      const end = Date.now() + 10_000;
      for (;;) {
        const l = await logsOf(engine, id);
        if (re.test(l.stdout + l.stderr)) return l;
        if (Date.now() > end) throw new Error(`log of ${id}: ${JSON.stringify(l)}`);
        await sleep(50);
      }
    };
    assert.deepEqual(await waitLog(plain, /err/), { stdout: "out\n", stderr: "err\n" });
    // With a TTY, stderr comes through the terminal too.
    const t = await waitLog(tty, /err/);
    assert.match(t.stdout, /^\/dev\/pts\/0\r\nerr\r\n$/);

    // exec: output and exit code, in the container whose shim serves two others.
    const execId = await engine.execCreate(plain, { cmd: ["sh", "-c", "echo in-exec; exit 4"], attachStdout: true, attachStderr: true });
    let execOut = "";
    const [, execCalls] = await calls(async () => {
      await engine.execStart(execId, { stdout: (b) => (execOut += b.toString()) });
      await engine.libcontainerd.idle();
    });
    assert.equal(execOut, "in-exec\n");
    assert.equal(engine.execInspect(execId).exitCode, 4);
    assert.deepEqual(execCalls, { "Tasks/DeleteProcess": 1, "Tasks/Exec": 1, "Tasks/Start": 1 });

    // pause one: the other container of the shim goes on (exec works there).
    const [, pauseCalls] = await calls(() => engine.pause(plain));
    assert.deepEqual(pauseCalls, { "Tasks/Pause": 1 });
    assert.equal(engine.inspect(plain).state.status, "paused");
    const x2 = await engine.execCreate(tty, { cmd: ["true"] });
    await engine.execStart(x2, {});
    await until(() => engine.execInspect(x2).exitCode === 0, "exec in the unpaused neighbour");
    await engine.unpause(plain);
    assert.equal(engine.inspect(plain).state.status, "running");

    // stats: per container, one Tasks/Metrics for a batch.
    const [st, statsCalls] = await calls(() => Promise.all([plain, tty].map((id) => engine.stats(id))));
    assert.deepEqual(statsCalls, { "Tasks/Metrics": 1 });
    assert.equal(st[0]!.stats.pids.current, 1, "sh execs its last command");
    assert.ok(st.every((s) => s.stats.memory.usage > 0));

    // kill one: its neighbour and the shim stay.
    const shim = shimOf(plain);
    await engine.kill(tty, "KILL");
    assert.equal(engine.inspect(tty).state.exitCode, 137);
    assert.equal(engine.inspect(plain).state.running, true);
    assert.equal(shimOf(plain), shim);
    assert.equal(await engine.stop(plain, { timeout: 1 }), true);
    assert.equal(engine.inspect(plain).state.exitCode, 137, "sh as PID 1 ignores SIGTERM: SIGKILL after the timeout");
    await removeAll();
  });

  test("OOM: the container over its memory limit is OOMKilled, its group's shim and neighbours live on", async () => {
    const neighbour = await sleeper();
    const shim = shimOf(neighbour);
    const mib = 1024 * 1024;
    const hog = await runOne(["sh", "-c", "x=aaaaaaaa; while true; do x=$x$x; done"], { hostConfig: { resources: { memory: 32 * mib, memorySwap: 32 * mib } } });
    const exit = await engine.wait(hog, "not-running");
    await engine.libcontainerd.idle();
    assert.equal(exit.exitCode, 137);
    assert.equal(engine.inspect(hog).state.oomKilled, true);
    assert.ok(isAlive(shim));
    assert.equal(engine.inspect(neighbour).state.running, true);
    assert.equal(shimOf(neighbour), shim);
    await removeAll();
  });

  test("restart policy: on-failure restarts the container in its group's shim", async () => {
    const neighbour = await sleeper();
    const r = await runOne(["sh", "-c", "[ -f /once ] || { touch /once; exit 1; }; exec sleep 1000"], { hostConfig: { restartPolicy: { name: "on-failure", maximumRetryCount: 3 } } });
    await until(() => engine.inspect(r).restartCount === 1 && engine.inspect(r).state.status === "running", "the restart");
    assert.equal(shimOf(r), shimOf(neighbour));
    assert.equal(shims().length, 1);
    await removeAll();
  });

  test("health check: probes are execs in the shared shim", async () => {
    const neighbour = await sleeper();
    const h = await runOne(["sleep", "1000"], { config: { healthcheck: { test: ["CMD-SHELL", "echo fine"], interval: 100, timeout: 1000, retries: 1, startPeriod: 0 } } });
    await until(() => engine.inspect(h).state.health?.status === "healthy", "healthy");
    assert.equal(engine.inspect(h).state.health!.log.at(-1)!.output, "fine\n");
    assert.equal(shimOf(h), shimOf(neighbour));
    await removeAll();
  });
});

describe("failures", () => {
  test("a shared shim that dies: each container of its group gets one exit, the other group nothing", async () => {
    const group = [await sleeper(), await sleeper(), await sleeper()];
    const other = await sleeper();
    const shim = shimOf(group[0]!);
    assert.ok(group.every((id) => shimOf(id) === shim));
    const inits = group.map((id) => engine.inspect(id).state.pid);
    const since = BigInt(Date.now()) * 1_000_000n;
    process.kill(shim, "SIGKILL");
    for (const id of group) await engine.wait(id, "not-running");
    await engine.libcontainerd.idle();
    // containerd publishes the exits of a dead shim's tasks (cleanupAfterDeadShim): once each.
    await sleep(1000);
    for (const id of group) {
      assert.deepEqual(await dies(id, since), ["137"], `one die for ${id.slice(0, 12)}`);
      assert.equal(engine.inspect(id).state.exitCode, 137);
    }
    assert.ok(inits.every((pid) => !isAlive(pid)), "containerd's clean-up killed the containers");
    assert.deepEqual(await dies(other, since), []);
    assert.equal(engine.inspect(other).state.running, true);
    assert.deepEqual(shims().map((s) => s.pid), [shimOf(other)]);
    // The group goes on: its containers start again, in a new shim of their own group.
    await engine.start(group[0]!);
    await engine.start(group[1]!);
    assert.equal(shimOf(group[0]!), shimOf(group[1]!));
    assert.notEqual(shimOf(group[0]!), shim);
    assert.equal(shims().length, 2);
    await removeAll();
    assert.deepEqual(shims(), []);
  });

  test("containerd restarts: the shared shim and its containers go on and stay manageable", async () => {
    const a = await sleeper();
    const b = await sleeper();
    const shim = shimOf(a);
    const start = await ctd.stopContainerd();
    await start();
    await until(() => engine.libcontainerd.eventsLive, "the event stream back", 20_000);
    assert.ok(isAlive(shim));
    assert.deepEqual(shims().map((s) => s.pid), [shim]);
    const x = await engine.execCreate(a, { cmd: ["sh", "-c", "exit 5"] });
    await engine.execStart(x, {});
    await until(() => engine.execInspect(x).exitCode === 5, "the exec's exit after the restart");
    await engine.kill(a, "KILL");
    assert.equal(engine.inspect(a).state.exitCode, 137);
    assert.ok(isAlive(shim));
    await engine.stop(b, { timeout: 0 });
    await until(() => !isAlive(shim), "the shim to end with its last task");
    await removeAll();
  });

  test("berthd restarts (live restore): the groups come back from the records and keep filling", async () => {
    const a = await sleeper();
    const b = await sleeper();
    const shim = shimOf(a);
    await engine.close();
    engine = await startTestEngine(ctd, { root, shimGroupSize: SIZE });
    const report = await engine.restore();
    assert.equal(report.running, 2);
    assert.equal(shimOf(a), shim);
    assert.equal(shimOf(b), shim);
    // The group had a free slot: the next container takes it; the one after opens a new group.
    const c = await sleeper();
    assert.equal(shimOf(c), shim);
    const d = await sleeper();
    assert.notEqual(shimOf(d), shim);
    assert.equal(shims().length, 2);
    // Manageable after the restore: exec, stop.
    const x = await engine.execCreate(b, { cmd: ["true"] });
    await engine.execStart(x, {});
    await until(() => engine.execInspect(x).exitCode === 0, "exec after restore");
    for (const id of [a, b, c]) await engine.stop(id, { timeout: 0 });
    await until(() => !isAlive(shim), "the restored group's shim to end");
    await removeAll();
    assert.deepEqual(shims(), []);
  });
});
