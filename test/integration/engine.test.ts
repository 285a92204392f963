// The engine (src/daemon) against a real containerd: lifecycle, exit codes, stop timeout, logs,
// exec, secure defaults, bad input, and the containerd calls of each operation.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { HOST_CGROUP_VERSION } from "../helpers/cgroups.js";
import { logsOf, startTestEngine, type TestEngine } from "../helpers/engine.js";
import { isBerthError } from "../../src/containerd/index.js";

let ctd: TestContainerd;
let engine: TestEngine;

before(async () => {
  ctd = await startTestContainerd("eng");
  engine = await startTestEngine(ctd);
});
after(async () => {
  for (const c of engine.list({ all: true })) await engine.remove(c.id, { force: true }).catch(() => {});
  await engine.close();
  const left = await ctd.leftovers();
  await ctd.stop();
  // The image's own layer snapshot (named by its chain ID) stays with the image.
  assert.deepEqual({ ...left, snapshots: left.snapshots.filter((s) => !s.startsWith("sha256:")) }, { containers: [], tasks: [], snapshots: [], leases: [] });
});

async function calls<T>(fn: () => Promise<T>): Promise<[T, Record<string, number>]> {
  const { result, calls } = await ctd.client.counter.measure(fn);
  return [result, calls];
}
const run = (cmd: string[], extra: Record<string, unknown> = {}) =>
  engine.create({ config: { image: "busybox", cmd, ...extra } });

describe("lifecycle", () => {
  test("create → start → exit: exit code, logs per stream, events, calls at the floor", async () => {
    const since = process.hrtime.bigint() * 0n + BigInt(Date.now()) * 1_000_000n;
    const [{ id, warnings }, createCalls] = await calls(() => engine.create({ name: "first", config: { image: "busybox", cmd: ["sh", "-c", "echo out; echo err >&2; exit 3"] }, hostConfig: { networkMode: "none" } }));
    assert.deepEqual(warnings, []);
    assert.deepEqual(createCalls, { "Containers/Create": 1, "Snapshots/Prepare": 1 });
    let v = engine.inspect("first");
    assert.equal(v.id, id);
    assert.equal(v.name, "/first");
    assert.equal(v.state.status, "created");
    assert.equal(v.humanStatus, "Created");
    const exited = engine.wait(id, "next-exit");
    // start (2) and the processing of its exit (1): the process exits too fast to separate them.
    const [started, startCalls] = await calls(async () => {
      const s = await engine.start(id);
      assert.deepEqual(await exited, { exitCode: 3 });
      await engine.libcontainerd.idle();
      return s;
    });
    assert.equal(started, true);
    assert.deepEqual(startCalls, { "Tasks/Create": 1, "Tasks/Delete": 1, "Tasks/Start": 1 });
    v = engine.inspect(id.slice(0, 10));
    assert.equal(v.state.status, "exited");
    assert.equal(v.state.exitCode, 3);
    assert.match(v.humanStatus, /^Exited \(3\) (Less than a second|\d+ seconds?) ago$/);
    assert.deepEqual(await logsOf(engine, id), { stdout: "out\n", stderr: "err\n" });
    const actions: string[] = [];
    for await (const ev of engine.events({ since, until: BigInt(Date.now()) * 1_000_000n, filter: (e) => e.id === id })) actions.push(ev.action);
    assert.deepEqual(actions, ["create", "start", "die"]);
    const [, rmCalls] = await calls(() => engine.remove(id));
    assert.deepEqual(rmCalls, { "Containers/Delete": 1, "Snapshots/Remove": 1 });
    assert.throws(() => engine.inspect(id), (e) => isBerthError(e, "not-found"));
  });

  test("exit processing costs one Tasks/Delete", async () => {
    const { id } = await run(["sh", "-c", "sleep 0.3"]);
    await engine.start(id);
    const [r, c] = await calls(() => engine.wait(id, "not-running"));
    assert.equal(r.exitCode, 0);
    await engine.libcontainerd.idle();
    assert.deepEqual(c, { "Tasks/Delete": 1 });
    await engine.remove(id);
  });

  test("stop: SIGTERM ignored, SIGKILL after the timeout, exit 137; three calls", async () => {
    const { id } = await run(["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done"]);
    await engine.start(id);
    await waitForLog(id, "ready");
    const t0 = Date.now();
    const [stopped, c] = await calls(() => engine.stop(id, { timeout: 1 }));
    const took = Date.now() - t0;
    assert.equal(stopped, true);
    assert.ok(took >= 950, `waited the timeout (${took} ms)`);
    await engine.libcontainerd.idle();
    assert.deepEqual(c, { "Tasks/Delete": 1, "Tasks/Kill": 2 });
    const v = engine.inspect(id);
    assert.equal(v.state.exitCode, 137);
    assert.equal(await engine.stop(id), false, "stopping a stopped container is not modified");
    await engine.remove(id);
  });

  test("restart, pause/unpause status strings, kill by name", async () => {
    const { id } = await run(["sleep", "1000"]);
    await engine.start(id);
    const pid1 = engine.inspect(id).state.pid;
    const [, pauseCalls] = await calls(() => engine.pause(id));
    assert.deepEqual(pauseCalls, { "Tasks/Pause": 1 });
    assert.match(engine.inspect(id).humanStatus, /^Up .* \(Paused\)$/);
    assert.equal(engine.inspect(id).state.status, "paused");
    await assert.rejects(engine.pause(id), (e) => isBerthError(e, "conflict"));
    await assert.rejects(engine.remove(id), (e) => isBerthError(e, "conflict") && /paused/.test(e.message));
    await engine.unpause(id);
    assert.match(engine.inspect(id).humanStatus, /^Up (Less than a second|\d+ seconds?)$/);
    await engine.restart(id, { timeout: 0 });
    const v = engine.inspect(id);
    assert.equal(v.state.running, true);
    assert.notEqual(v.state.pid, pid1);
    await assert.rejects(engine.kill(id, "SIGNOPE"), (e) => isBerthError(e, "invalid-argument") && /Invalid signal/.test(e.message));
    assert.equal(engine.inspect(id).state.running, true, "an invalid signal changes nothing");
    await engine.kill(id, "KILL");
    assert.equal(engine.inspect(id).state.exitCode, 137);
    await engine.remove(id);
  });

  test("kill: the waiter gets the code with the log complete; a start right after runs it again; Kill + Delete", async () => {
    const { id } = await run(["sh", "-c", "while true; do echo tick; sleep 0.01; done"]);
    await engine.start(id);
    await waitForLog(id, "tick");
    const [w, c] = await calls(async () => {
      await engine.kill(id, "KILL");
      assert.equal(engine.inspect(id).state.running, false, "kill answers once the exit is recorded");
      const r = await engine.wait(id, "not-running");
      const atWait = (await logsOf(engine, id)).stdout;
      // The reap (Tasks/Delete) may still be running: the start waits for it.
      await engine.start(id);
      assert.equal(engine.inspect(id).state.running, true);
      await engine.libcontainerd.idle();
      return { r, atWait };
    });
    assert.deepEqual(w.r, { exitCode: 137 });
    assert.match(w.atWait, /^(tick\n)+$/);
    assert.deepEqual(c, { "Tasks/Create": 1, "Tasks/Delete": 1, "Tasks/Kill": 1, "Tasks/Start": 1 });
    // Nothing of the first run reaches the log after its waiter was answered (the second run
    // writes "tick" too, so count: the first run's lines are a prefix of the file).
    const after = (await logsOf(engine, id)).stdout;
    assert.ok(after.startsWith(w.atWait));
    await engine.remove(id, { force: true });
  });

  test("rm -f of a running container: Kill, Delete, Containers/Delete, Snapshots/Remove", async () => {
    const { id } = await run(["sleep", "1000"]);
    await engine.start(id);
    const [, c] = await calls(() => engine.remove(id, { force: true }));
    assert.deepEqual(c, { "Containers/Delete": 1, "Snapshots/Remove": 1, "Tasks/Delete": 1, "Tasks/Kill": 1 });
    assert.equal((await ctd.client.containers.list()).filter((x) => x.id === id).length, 0);
  });
});

describe("restart policies", () => {
  test("on-failure:2 restarts twice with backoff, then stays exited; restart count kept", async () => {
    const { id } = await engine.create({ config: { image: "busybox", cmd: ["sh", "-c", "exit 2"] }, hostConfig: { restartPolicy: { name: "on-failure", maximumRetryCount: 2 } } });
    const seen = new Set<string>();
    const watch = setInterval(() => { try { seen.add(engine.inspect(id).humanStatus.replace(/\) .*/, ")")); } catch { /* removed */ } }, 5);
    await engine.start(id);
    const end = Date.now() + 10_000;
    while (engine.inspect(id).restartCount < 2 || engine.inspect(id).state.running) {
      if (Date.now() > end) throw new Error(`still restarting: ${JSON.stringify(engine.inspect(id).state)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    clearInterval(watch);
    const v = engine.inspect(id);
    assert.equal(v.restartCount, 2);
    assert.equal(v.state.status, "exited");
    assert.equal(v.state.exitCode, 2);
    assert.ok(seen.has("Restarting (2)"), `saw ${[...seen].join(", ")}`);
    await engine.remove(id);
  });

  test("always: restarts after an exit; a manual stop ends it", async () => {
    const { id } = await engine.create({ config: { image: "busybox", cmd: ["sh", "-c", "sleep 0.2"] }, hostConfig: { restartPolicy: { name: "always", maximumRetryCount: 0 } } });
    await engine.start(id);
    const end = Date.now() + 10_000;
    while (engine.inspect(id).restartCount < 2) {
      if (Date.now() > end) throw new Error("no restarts");
      await new Promise((r) => setTimeout(r, 20));
    }
    await engine.stop(id, { timeout: 1 });
    const count = engine.inspect(id).restartCount;
    await new Promise((r) => setTimeout(r, 700));
    const v = engine.inspect(id);
    assert.equal(v.state.running, false);
    assert.equal(v.restartCount, count, "no restart after a manual stop");
    assert.equal(v.hostConfig.restartPolicy.name, "always");
    await engine.remove(id);
  });
});

describe("health checks", () => {
  test("starting → healthy → unhealthy, (healthy) in the status, events, 3 calls a probe", async () => {
    const since = BigInt(Date.now()) * 1_000_000n;
    const { id } = await engine.create({
      config: {
        image: "busybox",
        cmd: ["sh", "-c", "sleep 0.6; touch /tmp/ok; sleep 1.5; rm /tmp/ok; sleep 1000"],
        healthcheck: { test: ["CMD-SHELL", "test -e /tmp/ok && echo fine"], interval: 150, timeout: 1000, retries: 2, startPeriod: 1000 },
      },
    });
    await engine.start(id);
    assert.equal(engine.inspect(id).state.health?.status, "starting");
    assert.match(engine.inspect(id).humanStatus, /\(health: starting\)$/);
    const until = async (status: string) => {
      const end = Date.now() + 8000;
      while (engine.inspect(id).state.health?.status !== status) {
        if (Date.now() > end) throw new Error(`never ${status}: ${JSON.stringify(engine.inspect(id).state.health)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until("healthy");
    assert.match(engine.inspect(id).humanStatus, /^Up .* \(healthy\)$/);
    const h = engine.inspect(id).state.health!;
    assert.equal(h.log.at(-1)!.output, "fine\n");
    assert.equal(h.log.at(-1)!.exitCode, 0);
    const [, probeCalls] = await calls(() => until("unhealthy"));
    assert.match(engine.inspect(id).humanStatus, /\(unhealthy\)$/);
    assert.ok(engine.inspect(id).state.health!.failingStreak >= 2);
    const n = probeCalls["Tasks/Exec"] ?? 0;
    assert.ok(n >= 2);
    assert.deepEqual(probeCalls, { "Tasks/DeleteProcess": n, "Tasks/Exec": n, "Tasks/Start": n }, "each probe is exactly 3 calls");
    // The event follows the persisted state change: read until it arrives.
    const actions: string[] = [];
    for await (const ev of engine.events({ since, signal: AbortSignal.timeout(5000), filter: (e) => e.id === id && e.action.startsWith("health_status") })) {
      actions.push(ev.action);
      if (ev.action === "health_status: unhealthy") break;
    }
    assert.deepEqual(actions, ["health_status: healthy", "health_status: unhealthy"]);
    await engine.remove(id, { force: true });
  });

  test("a probe over its timeout is killed and counts as a failure", async () => {
    const { id } = await engine.create({
      config: { image: "busybox", cmd: ["sleep", "1000"], healthcheck: { test: ["CMD", "sleep", "10"], interval: 100, timeout: 300, retries: 1, startPeriod: 0 } },
    });
    await engine.start(id);
    const end = Date.now() + 8000;
    while (engine.inspect(id).state.health?.status !== "unhealthy") {
      if (Date.now() > end) throw new Error("probe never timed out");
      await new Promise((r) => setTimeout(r, 20));
    }
    const last = engine.inspect(id).state.health!.log.at(-1)!;
    assert.equal(last.exitCode, -1);
    assert.equal(last.output, "Health check exceeded timeout (300ms)");
    await engine.remove(id, { force: true });
    await assert.rejects(engine.create({ config: { image: "busybox", cmd: ["true"], healthcheck: { test: ["WHAT"], interval: 0, timeout: 0, retries: 0, startPeriod: 0 } } }), (e) => isBerthError(e, "invalid-argument"));
  });
});

describe("exec, attach, logs", () => {
  test("exec: output, exit code, env, workdir, user; 3 calls", async () => {
    const { id } = await run(["sleep", "1000"]);
    await engine.start(id);
    const execId = await engine.execCreate(id, { cmd: ["sh", "-c", "echo $FOO $(pwd) $(id -u); exit 4"], env: ["FOO=bar"], workingDir: "/tmp", user: "nobody", attachStdout: true, attachStderr: true });
    let out = "";
    const [, c] = await calls(() => engine.execStart(execId, { stdout: (b) => (out += b.toString()) }));
    assert.equal(out, "bar /tmp 65534\n");
    const x = engine.execInspect(execId);
    assert.equal(x.exitCode, 4);
    assert.equal(x.running, false);
    assert.deepEqual(c, { "Tasks/DeleteProcess": 1, "Tasks/Exec": 1, "Tasks/Start": 1 });
    await assert.rejects(engine.execStart(execId, {}), (e) => isBerthError(e, "conflict"));
    await engine.remove(id, { force: true });
  });

  test("attach with stdin: piped input reaches cat, output comes back, stdin close ends it", async () => {
    const { id } = await engine.create({ config: { image: "busybox", cmd: ["cat"], openStdin: true, stdinOnce: true, attachStdin: true } });
    const stdin = new PassThrough();
    let out = "";
    const attached = engine.attach(id, { stdin, stdout: (b) => (out += b.toString()), stderr: () => {}, stream: true });
    const exited = engine.wait(id, "next-exit");
    await engine.start(id);
    stdin.end("hello through stdin\n");
    await attached;
    assert.equal(out, "hello through stdin\n");
    assert.equal((await exited).exitCode, 0);
    await engine.remove(id);
  });

  test("stdin written and closed before the container starts still reaches it (docker run -i)", async () => {
    const { id } = await engine.create({ config: { image: "busybox", cmd: ["cat"], openStdin: true, stdinOnce: true, attachStdin: true } });
    const stdin = new PassThrough();
    stdin.end("sent before start\n");
    let out = "";
    const attached = engine.attach(id, { stdin, stdout: (b) => (out += b.toString()), stream: true });
    await engine.start(id);
    await attached;
    assert.equal(out, "sent before start\n");
    assert.equal((await engine.wait(id, "not-running")).exitCode, 0);
    await engine.remove(id);
  });

  test("stats: memory limit is the host's without a limit; one Tasks/Metrics", async () => {
    const { id } = await run(["sleep", "1000"]);
    await engine.start(id);
    const [s1, c] = await calls(() => engine.stats(id));
    assert.deepEqual(c, { "Tasks/Metrics": 1 });
    assert.equal(s1.stats.memory.limit, (await import("node:os")).totalmem());
    assert.equal(s1.stats.pids.current, 1);
    assert.equal(s1.previous, undefined);
    // Decoded as this host's cgroup version reports them: v1's total_* names, or v2's.
    assert.equal(s1.stats.cgroupVersion, HOST_CGROUP_VERSION);
    if (HOST_CGROUP_VERSION === 1) {
      assert.ok("total_inactive_file" in s1.stats.memory.raw && s1.stats.cpu.perCpuNs.length > 0);
    } else {
      assert.ok("inactive_file" in s1.stats.memory.raw && !("total_inactive_file" in s1.stats.memory.raw));
      assert.equal(s1.stats.memory.maxUsage, 0);
    }
    const s2 = await engine.stats(id);
    assert.ok(s2.previous, "the second sample carries the first (docker's precpu)");
    assert.ok(s2.systemCpuNs >= s1.systemCpuNs);
    // Many containers asked at once (docker stats): one Tasks/Metrics for all of them.
    const more = await Promise.all([1, 2, 3, 4].map(() => run(["sleep", "1000"])));
    for (const m of more) await engine.start(m.id);
    const [all, batchCalls] = await calls(() => Promise.all([id, ...more.map((m) => m.id)].map((x) => engine.stats(x))));
    assert.deepEqual(batchCalls, { "Tasks/Metrics": 1 });
    assert.equal(all.length, 5);
    assert.ok(all.every((x) => x.stats.pids.current === 1));
    for (const m of more) await engine.remove(m.id, { force: true });
    await engine.remove(id, { force: true });
  });

  test("logs: since, tail, follow until the container stops", async () => {
    const { id } = await run(["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; sleep 0.05; done"]);
    await engine.start(id);
    let followed = "";
    for await (const r of engine.logs(id, { follow: true })) followed += r.line.toString();
    assert.equal(followed, "line1\nline2\nline3\nline4\nline5\n");
    let tail = "";
    for await (const r of engine.logs(id, { tail: 2 })) tail += r.line.toString();
    assert.equal(tail, "line4\nline5\n");
    await engine.remove(id);
  });
});

describe("secure defaults inside the container", () => {
  test("capabilities, masked and read-only paths, mounts", async () => {
    const { id } = await run(["sh", "-c", "grep -E '^Cap(Eff|Bnd)' /proc/self/status; for f in /proc/kcore /proc/keys /proc/timer_list; do [ -e $f ] && echo \"$f $(wc -c < $f)\"; done; cat /proc/mounts; echo x > /proc/sys/kernel/hostname 2>/dev/null || echo ro-ok"], { hostname: "box" });
    const exited = engine.wait(id, "next-exit");
    await engine.start(id);
    await exited;
    const { stdout } = await logsOf(engine, id);
    // dockerd's 14 default capabilities.
    assert.match(stdout, /CapEff:\s+00000000a80425fb/);
    assert.match(stdout, /CapBnd:\s+00000000a80425fb/);
    // Masked files read as /dev/null. This VM's kernel has no /proc/kcore: check what exists.
    for (const f of ["/proc/kcore", "/proc/keys", "/proc/timer_list"]) {
      const onHost = await import("node:fs").then((m) => m.existsSync(f));
      if (onHost) assert.match(stdout, new RegExp(`^${f} 0$`, "m"), `${f} is masked`);
    }
    const spec = JSON.parse(new TextDecoder().decode((await ctd.client.containers.get(id)).spec!.value));
    assert.ok(spec.linux.maskedPaths.includes("/proc/kcore"));
    assert.ok(spec.linux.readonlyPaths.includes("/proc/sys"));
    assert.match(stdout, /^proc \/proc proc rw,nosuid,nodev,noexec/m);
    assert.match(stdout, /^\S+ \/proc\/sys proc ro,/m);
    assert.match(stdout, /^sysfs \/sys sysfs ro,/m);
    assert.match(stdout, /^mqueue \/dev\/mqueue mqueue/m);
    assert.match(stdout, /^shm \/dev\/shm tmpfs .*size=65536k/m);
    assert.match(stdout, /ro-ok/);
    await engine.remove(id);
  });
});

describe("bad input changes nothing", () => {
  test("unknown container, missing bind source, name in use, no command", async () => {
    assert.throws(() => engine.inspect("nope"), (e) => isBerthError(e, "not-found") && /No such container: nope/.test(e.message));
    await assert.rejects(engine.start("nope"), (e) => isBerthError(e, "not-found"));
    const before = (await ctd.client.containers.list()).length;
    await assert.rejects(
      engine.create({ name: "badbind", config: { image: "busybox", cmd: ["true"] }, hostConfig: { binds: ["/definitely/missing:/x"] } }),
      (e) => isBerthError(e, "invalid-argument") && /bind source path does not exist/.test(e.message),
    );
    assert.equal((await ctd.client.containers.list()).length, before, "no containerd container left");
    // The name was released with the failed create.
    const ok = await engine.create({ name: "badbind", config: { image: "busybox", cmd: ["true"] } });
    await assert.rejects(engine.create({ name: "badbind", config: { image: "busybox", cmd: ["true"] } }), (e) => isBerthError(e, "conflict") && /already in use/.test(e.message));
    const racers = await Promise.allSettled([1, 2].map(() => engine.create({ name: "racer", config: { image: "busybox", cmd: ["true"] } })));
    assert.deepEqual(racers.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    await assert.rejects(engine.create({ config: { image: "nosuchimage" } }), (e) => isBerthError(e, "not-found"));
    await engine.remove(ok.id);
    for (const r of racers) if (r.status === "fulfilled") await engine.remove(r.value.id);
  });

  test("a command that does not exist: start fails with 127, the container stays created", async () => {
    const { id } = await run(["/no/such/binary"]);
    await assert.rejects(engine.start(id), (e) => isBerthError(e, "invalid-argument") && /no such file|not found/i.test(e.message));
    const v = engine.inspect(id);
    assert.equal(v.state.exitCode, 127);
    assert.equal(v.state.status, "created");
    assert.match(v.state.error, /no such file|not found/i);
    assert.deepEqual((await ctd.client.tasks.rpc.list({})).tasks.filter((t) => t.id === id), []);
    await engine.remove(id);
  });
});

async function waitForLog(id: string, text: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await logsOf(engine, id)).stdout.includes(text)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no "${text}" in the log of ${id}`);
}

