// libcontainerd handles against a real containerd: behaviour, stdio, events, and the exact
// containerd calls of each operation (../shared/reference/rpc-floor.md).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { HOST_CGROUP_VERSION } from "../helpers/cgroups.js";
import { makeBusyboxRootfs } from "../helpers/rootfs.js";
import { minimalSpec } from "../helpers/spec.js";
import { RecordingBackend } from "../helpers/backend.js";
import { shimsOf } from "../helpers/shims.js";
import { isBerthError, type Spec } from "../../src/containerd/index.js";
import { createClient, StartError, type LibcontainerdClient, type ProcessStreams } from "../../src/libcontainerd/index.js";

let ctd: TestContainerd;
let rootfs: string;
let client: LibcontainerdClient;
const backend = new RecordingBackend();

before(async () => {
  ctd = await startTestContainerd("lcd");
  rootfs = await makeBusyboxRootfs(path.join(ctd.dir, "rootfs"));
  client = await createClient({ containerd: ctd.client, stateDir: path.join(ctd.dir, "fifos"), backend });
  await backend.waitStreamUp(client);
});
after(async () => {
  await client.close();
  const left = await ctd.leftovers();
  await ctd.stop();
  assert.deepEqual(left, { containers: [], tasks: [], snapshots: [], leases: [] });
});

const newId = (p: string) => `${p}-${randomBytes(4).toString("hex")}`;
const spec = (id: string, args: string[], extra: Partial<Spec["process"]> = {}): Spec => {
  const s = minimalSpec({ namespace: ctd.namespace, id, rootfs, args });
  s.process = { ...s.process!, ...extra };
  return s;
};
/** The containerd calls `fn` makes, from the client's counter. */
async function calls<T>(fn: () => Promise<T>): Promise<[T, Record<string, number>]> {
  const { result, calls } = await ctd.client.counter.measure(fn);
  return [result, calls];
}
function collector() {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let ended: Promise<unknown> = Promise.resolve();
  const attach = (io: ProcessStreams) => {
    const ends: Promise<unknown>[] = [];
    const take = (s: Readable | undefined, into: Buffer[]) => {
      if (!s) return;
      s.on("data", (c: Buffer) => into.push(c));
      ends.push(once(s, "end"));
    };
    take(io.stdout, out);
    take(io.stderr, err);
    ended = Promise.all(ends);
    streams = io;
  };
  let streams: ProcessStreams | undefined;
  return {
    attach,
    get streams() { return streams!; },
    async done() { await ended; return { out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() }; },
    async bytes() { await ended; return Buffer.concat(out); },
  };
}

describe("container and task lifecycle at the RPC floor", () => {
  test("run to completion: create 1, start 2, exit processing 1, delete 1", async () => {
    const id = newId("run");
    const [c, createCalls] = await calls(() => client.newContainer(id, { spec: spec(id, ["sh", "-c", "echo hello; echo err >&2; exit 7"]) }));
    assert.deepEqual(createCalls, { "Containers/Create": 1 });
    assert.equal(c.spec.process?.args?.[0], "sh", "the spec is retained");

    const io = collector();
    const [task, startCalls] = await calls(() => c.start({ attachStdio: io.attach }));
    assert.deepEqual(startCalls, { "Tasks/Create": 1, "Tasks/Start": 1 });
    assert.ok(task.pid > 0);

    const exit = await task.exited;
    assert.equal(exit.exitCode, 7);
    const [status, deleteCalls] = await calls(() => task.delete());
    assert.deepEqual(deleteCalls, { "Tasks/Delete": 1 });
    assert.equal(status.exitCode, 7);
    assert.deepEqual(await io.done(), { out: "hello\n", err: "err\n" });

    const [, rmCalls] = await calls(() => c.delete());
    assert.deepEqual(rmCalls, { "Containers/Delete": 1 });
    await client.idle();
    assert.deepEqual(backend.types(id), ["create", "start", "exit", "delete"]);
    const ev = backend.events(id).find((e) => e.type === "exit")!;
    assert.equal(ev.info.exitCode, 7);
    assert.equal(ev.info.pid, task.pid);
    await assert.rejects(fs.stat(path.join(ctd.dir, "fifos", id)), { code: "ENOENT" }, "FIFO dir removed");
  });

  test("pause, resume, top, stats, status, kill: one call each", async () => {
    const id = newId("ops");
    const c = await client.newContainer(id, { spec: spec(id, ["sleep", "1000"]) });
    const task = await c.start();
    try {
      assert.deepEqual((await calls(() => task.pause()))[1], { "Tasks/Pause": 1 });
      assert.equal((await task.status()).status, 4 /* PAUSED */);
      assert.deepEqual((await calls(() => task.resume()))[1], { "Tasks/Resume": 1 });
      const [pids, pidCalls] = await calls(() => task.pids());
      assert.deepEqual(pidCalls, { "Tasks/ListPids": 1 });
      assert.deepEqual(pids.map((p) => p.pid), [task.pid]);
      const [stats, statCalls] = await calls(() => task.stats());
      assert.deepEqual(statCalls, { "Tasks/Metrics": 1 });
      assert.equal(stats.pids.current, 1);
      assert.ok(stats.memory.usage > 0, "memory usage is reported");
      assert.ok(stats.cpu.totalNs > 0, "cpu usage is reported");
      assert.equal(stats.cgroupVersion, HOST_CGROUP_VERSION, "decoded as the host's cgroup version");
      const [st, stCalls] = await calls(() => task.status());
      assert.deepEqual(stCalls, { "Tasks/Get": 1 });
      assert.equal(st.status, 2 /* RUNNING */);
      assert.equal(st.pid, task.pid);
      assert.deepEqual((await calls(() => task.kill(9)))[1], { "Tasks/Kill": 1 });
      assert.equal((await task.exited).exitCode, 137);
    } finally {
      await task.delete();
      await c.delete();
    }
    await client.idle();
    assert.deepEqual(backend.types(id), ["create", "start", "paused", "resumed", "exit", "delete"]);
  });

  test("exec: Tasks/Exec + Tasks/Start, then Tasks/DeleteProcess; output and exit code", async () => {
    const id = newId("exec");
    const c = await client.newContainer(id, { spec: spec(id, ["sleep", "1000"]) });
    const task = await c.start();
    try {
      const io = collector();
      const [p, execCalls] = await calls(() =>
        task.exec("e1", { args: ["sh", "-c", "echo from exec; echo to err >&2; exit 5"], cwd: "/tmp", user: { uid: 0, gid: 0 }, env: ["PATH=/bin", "A=b"] }, { attachStdio: io.attach }),
      );
      assert.deepEqual(execCalls, { "Tasks/Exec": 1, "Tasks/Start": 1 });
      assert.ok(p.pid > 0 && p.pid !== task.pid);
      assert.equal((await p.exited).exitCode, 5);
      const [st, delCalls] = await calls(() => p.delete());
      assert.deepEqual(delCalls, { "Tasks/DeleteProcess": 1 });
      assert.equal(st.exitCode, 5);
      assert.deepEqual(await io.done(), { out: "from exec\n", err: "to err\n" });
      await assert.rejects(task.exec("bad", { args: ["/nope"], cwd: "/", user: { uid: 0, gid: 0 }, env: ["PATH=/bin"] }), (e) => e instanceof StartError && e.exitCode === 127);
    } finally {
      await task.forceDelete();
      await c.delete();
    }
    await client.idle();
    const e1 = backend.events(id).filter((e) => e.info.processId === "e1").map((e) => e.type);
    assert.deepEqual(e1, ["exec-added", "exec-started", "exit"]);
    const execExit = backend.events(id).find((e) => e.type === "exit" && e.info.processId === "e1")!;
    assert.equal(execExit.info.exitCode, 5);
  });

  test("exec output FIFOs are reused once drained: each exec gets its own output, a stdin FIFO is removed", async () => {
    const id = newId("fifopool");
    const c = await client.newContainer(id, { spec: spec(id, ["sleep", "1000"]) });
    const task = await c.start();
    const dir = path.join(ctd.dir, "fifos", id);
    try {
      for (let i = 0; i < 6; i++) {
        const io = collector();
        const p = await task.exec(`p${i}`, { args: ["sh", "-c", `echo out${i}; echo err${i} >&2; exit ${i}`], cwd: "/", user: { uid: 0, gid: 0 }, env: ["PATH=/bin"] }, { attachStdio: io.attach });
        assert.equal((await p.exited).exitCode, i);
        await p.delete();
        assert.deepEqual(await io.done(), { out: `out${i}\n`, err: `err${i}\n` });
      }
      // Sequential execs take the same two FIFOs (stdout and stderr) again and again.
      assert.equal((await fs.readdir(dir)).length, 2);
      const io = collector();
      const p = await task.exec("in", { args: ["cat"], cwd: "/", user: { uid: 0, gid: 0 }, env: ["PATH=/bin"] }, { withStdin: true, attachStdio: io.attach });
      io.streams.stdin!.end("typed\n");
      await p.closeStdin();
      assert.equal((await p.exited).exitCode, 0);
      await p.delete();
      assert.equal((await io.done()).out, "typed\n");
      // The removal is off the main thread: wait for it.
      let left = await fs.readdir(dir);
      for (let i = 0; i < 100 && left.length > 2; i++) { await new Promise((r) => setTimeout(r, 20)); left = await fs.readdir(dir); }
      assert.equal(left.length, 2, `the stdin FIFO is removed, the output ones kept: ${left.join(" ")}`);
      assert.ok(!left.some((f) => f.endsWith("-stdin")));
    } finally {
      await task.forceDelete();
      await c.delete();
    }
    await assert.rejects(fs.stat(dir), /ENOENT/);
  });

  test("eventTypes: the subscription carries only the topics asked for", async () => {
    const only = new RecordingBackend();
    const exits = await createClient({ containerd: ctd.client, stateDir: path.join(ctd.dir, "fifos"), backend: only, eventTypes: ["exit"] });
    try {
      await only.waitStreamUp(exits);
      const id = newId("topics");
      const c = await client.newContainer(id, { spec: spec(id, ["sleep", "1000"]) });
      const task = await c.start();
      const p = await task.exec("x", { args: ["true"], cwd: "/", user: { uid: 0, gid: 0 }, env: ["PATH=/bin"] });
      await p.exited;
      await p.delete();
      await task.kill(9);
      await task.exited;
      await task.delete();
      await c.delete();
      await client.idle();
      const deadline = Date.now() + 5000;
      while (only.types(id).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(only.types(id), ["exit", "exit"]);
      assert.ok(backend.types(id).includes("exec-added") && backend.types(id).includes("delete"), "the default client still gets every topic");
    } finally {
      await exits.close();
    }
  });

  test("stdin: 1 MiB in, byte-exact out; closing stdin is one Tasks/CloseIO", async () => {
    const id = newId("stdin");
    const c = await client.newContainer(id, { spec: spec(id, ["cat"]) });
    const io = collector();
    const task = await c.start({ withStdin: true, attachStdio: io.attach });
    const data = randomBytes(1 << 20);
    await new Promise<void>((resolve, reject) => io.streams.stdin!.write(data, (e) => (e ? reject(e) : resolve())));
    const [, closeCalls] = await calls(() => task.closeStdin());
    assert.deepEqual(closeCalls, { "Tasks/CloseIO": 1 });
    assert.equal((await task.exited).exitCode, 0);
    await task.delete();
    const out = await io.bytes();
    assert.equal(out.length, data.length);
    assert.equal(createHash("sha256").update(out).digest("hex"), createHash("sha256").update(data).digest("hex"));
    await c.delete();
  });

  test("terminal: one stream, resize is one Tasks/ResizePty", async () => {
    const id = newId("tty");
    const c = await client.newContainer(id, { spec: spec(id, ["sh", "-c", "read x; stty size; exit 3"], { terminal: true }) });
    const io = collector();
    const task = await c.start({ terminal: true, withStdin: true, attachStdio: io.attach });
    assert.equal(io.streams.stderr, undefined);
    assert.deepEqual((await calls(() => task.resize(132, 43)))[1], { "Tasks/ResizePty": 1 });
    io.streams.stdin!.write("go\n");
    assert.equal((await task.exited).exitCode, 3);
    await task.delete();
    const { out } = await io.done();
    assert.match(out, /43 132\r\n/);
    await c.delete();
  });

  test("updateSpec calls Containers/Update only when the spec changed", async () => {
    const id = newId("upd");
    const s = spec(id, ["true"]);
    const c = await client.newContainer(id, { spec: s });
    assert.deepEqual((await calls(() => c.updateSpec(structuredClone(s))))[1], {});
    const s2 = { ...structuredClone(s), hostname: "other" };
    const [changed, upd] = await calls(() => c.updateSpec(s2));
    assert.equal(changed, true);
    assert.deepEqual(upd, { "Containers/Update": 1 });
    assert.equal((await ctd.client.containers.get(id)).id, id);
    await c.delete();
  });

  test("loadAll: Containers/List + Tasks/List for everything; attachTask then costs nothing", async () => {
    const a = newId("la");
    const b = newId("lb");
    const ca = await client.newContainer(a, { spec: spec(a, ["sh", "-c", "while true; do echo tick; sleep 0.1; done"]) });
    await client.newContainer(b, { spec: spec(b, ["true"]) });
    const first = collector();
    const ta = await ca.start({ attachStdio: first.attach });
    await once(first.streams.stdout!, "data");
    // A second client, as after a restart of berth: nothing retained.
    const other = await createClient({ containerd: ctd.client, stateDir: path.join(ctd.dir, "fifos") });
    try {
      const [all, loadCalls] = await calls(() => other.loadAll());
      assert.deepEqual(loadCalls, { "Containers/List": 1, "Tasks/List": 1 });
      const la = all.find((x) => x.container.id === a)!;
      const lb = all.find((x) => x.container.id === b)!;
      assert.equal(la.task?.pid, ta.pid);
      assert.equal(la.task?.status, 2);
      assert.equal(lb.task, undefined);
      // Our first reader goes away; the new one resumes the stream from the same FIFOs.
      first.streams.stdout!.destroy();
      first.streams.stderr!.destroy();
      const again = collector();
      const [t2, attachCalls] = await calls(() => la.container.attachTask({ attachStdio: again.attach }));
      assert.deepEqual(attachCalls, {});
      await once(again.streams.stdout!, "data");
      await t2.forceDelete();
      assert.match((await again.done()).out, /tick/);
      await la.container.delete();
      await lb.container.delete();
    } finally {
      await other.close();
    }
  });
});

describe("a shim that dies", () => {
  test("one exit (137) from containerd's clean-up; delete answers not-found and ends the handle; the container starts again", async () => {
    const id = newId("shim");
    const c = await client.newContainer(id, { spec: spec(id, ["sleep", "1000"]) });
    const task = await c.start();
    const shim = Number((await fs.readFile(`/proc/${task.pid}/stat`, "utf8")).split(") ")[1]!.split(" ")[1]);
    assert.ok(shimsOf(ctd.address, ctd.namespace).some((s) => s.pid === shim), "the init's parent is our shim");
    process.kill(shim, "SIGKILL");
    assert.equal((await task.exited).exitCode, 137);
    // containerd dropped the task itself: not-found, and the handle is gone with it.
    await assert.rejects(task.delete(), (e) => isBerthError(e, "not-found"));
    const again = await c.start();
    assert.notEqual(again.pid, task.pid);
    await again.kill(9);
    await again.exited;
    await again.delete();
    await c.delete();
    await client.idle();
    assert.equal(backend.events(id).filter((e) => e.type === "exit" && e.info.pid === task.pid).length, 1, "one exit for the first task");
  });
});

describe("bad input", () => {
  test("a missing command fails with 127, a non-executable one with 126; no task stays", async () => {
    for (const [args, code] of [[["/no/such/cmd"], 127], [["/etc/passwd"], 126]] as const) {
      const id = newId("bad");
      const c = await client.newContainer(id, { spec: spec(id, [...args]) });
      const [err, failCalls] = await calls(() => c.start({ attachStdio: collector().attach }).then(() => undefined, (e: unknown) => e));
      assert.ok(err instanceof StartError, String(err));
      assert.equal(err.exitCode, code, err.message);
      assert.equal(err.kind, "invalid-argument");
      assert.deepEqual(failCalls, { "Tasks/Create": 1 });
      const tasks = (await ctd.client.tasks.rpc.list({})).tasks.filter((t) => t.id === id);
      assert.deepEqual(tasks, []);
      await c.delete();
      await assert.rejects(fs.stat(path.join(ctd.dir, "fifos", id)), { code: "ENOENT" });
    }
  });

  test("unknown IDs, duplicates, deleted handles, a closed client", async () => {
    await assert.rejects(client.loadContainer("nope-" + randomBytes(3).toString("hex")), (e) => isBerthError(e, "not-found"));
    const id = newId("dupe");
    const c = await client.newContainer(id, { spec: spec(id, ["true"]) });
    await assert.rejects(client.newContainer(id, { spec: spec(id, ["true"]) }), (e) => isBerthError(e, "already-exists"));
    await assert.rejects(client.newContainer("bad id!", { spec: spec(id, ["true"]) }), (e) => isBerthError(e, "invalid-argument"));
    await c.delete();
    await assert.rejects(c.start(), (e) => isBerthError(e, "not-found") && /deleted/.test(e.message));
    const closed = await createClient({ containerd: ctd.client, stateDir: path.join(ctd.dir, "fifos") });
    await closed.close();
    await assert.rejects(closed.version(), (e) => isBerthError(e, "unavailable"));
    assert.ok(!ctd.client.closed, "closing a client that was handed a connection leaves it open");
  });

  test("checkpoint works with CRIU, or fails with an error naming why", async () => {
    const id = newId("ckpt");
    const c = await client.newContainer(id, { spec: spec(id, ["sleep", "1000"]) });
    const task = await c.start();
    const dir = path.join(ctd.dir, "ckpt", id);
    try {
      await task.createCheckpoint(dir, { exit: false });
      const files = await fs.readdir(dir);
      assert.ok(files.some((f) => f.endsWith(".img")), `CRIU image files in ${dir}: ${files.join(",")}`);
    } catch (e) {
      assert.ok(isBerthError(e), String(e));
      assert.match(e.message, /checkpoint of .* failed \(CRIU\): .+/);
    } finally {
      await task.forceDelete();
      await c.delete();
    }
  });
});
