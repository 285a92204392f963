// The typed containerd client against a real, private containerd.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { makeBusyboxRootfs } from "../helpers/rootfs.js";
import { minimalSpec } from "../helpers/spec.js";
import {
  createContainerdClient,
  containerSpec,
  runcOptionsToAny,
  runcOptionsFromAny,
  taskEventsPb,
  TaskStatus,
  isBerthError,
  type ContainerdEvent,
} from "../../src/containerd/index.js";
import { mkfifo, openFifoReader } from "../../src/libcontainerd/fifo.js";

let ctd: TestContainerd;
let rootfs: string;
const RUNC = "io.containerd.runc.v2";

before(async () => {
  ctd = await startTestContainerd("client");
  rootfs = await makeBusyboxRootfs(path.join(ctd.dir, "rootfs"));
});
after(async () => {
  const left = await ctd.leftovers();
  await ctd.stop();
  assert.deepEqual(left, { containers: [], tasks: [], snapshots: [], leases: [] }, "tests left objects behind");
  await assert.rejects(fs.stat(ctd.dir), { code: "ENOENT" });
});

const newId = (p: string) => `${p}-${randomBytes(4).toString("hex")}`;

describe("version and namespaces", () => {
  test("Version reports containerd 1.6", async () => {
    const v = await ctd.client.version.version();
    assert.match(v.version, /^1\.6\./);
  });

  test("namespaces: create with labels, get, list, delete", async () => {
    const ns = newId("ns");
    await ctd.client.namespaces.create(ns, { owner: "berth-test" });
    assert.deepEqual(await ctd.client.namespaces.get(ns), { name: ns, labels: { owner: "berth-test" } });
    assert.ok((await ctd.client.namespaces.list()).some((n) => n.name === ns));
    await ctd.client.namespaces.delete(ns);
    // Namespaces/Get answers empty labels for any name; List is what tells existence.
    assert.ok(!(await ctd.client.namespaces.list()).some((n) => n.name === ns));
  });

  test("the namespace travels on every call: records in one namespace are invisible in another", async () => {
    const id = newId("nsvis");
    const other = ctd.client.withNamespace(`${ctd.namespace}-other`);
    await ctd.client.containers.create({ id, spec: minimalSpec({ namespace: ctd.namespace, id, rootfs, args: ["true"] }), runtime: { name: RUNC } });
    try {
      await assert.rejects(other.containers.get(id), (e) => isBerthError(e, "not-found"));
      assert.equal((await ctd.client.containers.get(id)).id, id);
    } finally {
      await ctd.client.containers.delete(id);
      await ctd.client.namespaces.delete(other.namespace).catch(() => {});
    }
  });
});

describe("container records", () => {
  test("create, get, list, update, delete with a spec and runc options", async () => {
    const id = newId("rec");
    const spec = minimalSpec({ namespace: ctd.namespace, id, rootfs, args: ["sleep", "1"] });
    const created = await ctd.client.containers.create({
      id, spec, labels: { "berth.test": "1" },
      runtime: { name: RUNC, options: runcOptionsToAny({ binaryName: "runc", root: "" }) },
    });
    assert.equal(created.id, id);
    assert.equal(created.runtime?.name, RUNC);
    assert.equal(created.runtime?.options?.typeUrl, "containerd.runc.v1.Options");
    assert.equal(runcOptionsFromAny(created.runtime?.options)?.binaryName, "runc");

    const got = await ctd.client.containers.get(id);
    assert.deepEqual(containerSpec(got), spec, "the spec round-trips as JSON");
    assert.equal(got.spec?.typeUrl, "types.containerd.io/opencontainers/runtime-spec/1/Spec");
    assert.deepEqual({ ...got.labels }, { "berth.test": "1" });

    const listed = await ctd.client.containers.list([`labels."berth.test"==1`]);
    assert.deepEqual(listed.map((c) => c.id), [id]);

    const spec2 = { ...spec, hostname: "changed" };
    await ctd.client.containers.update(id, { spec: spec2, labels: { "berth.test": "2" } });
    const got2 = await ctd.client.containers.get(id);
    assert.equal(containerSpec(got2).hostname, "changed");
    assert.deepEqual({ ...got2.labels }, { "berth.test": "2" });

    await ctd.client.containers.delete(id);
    await assert.rejects(ctd.client.containers.get(id), (e) => isBerthError(e, "not-found"));
  });

  test("unknown IDs are not-found and duplicates already-exists", async () => {
    const id = newId("dup");
    await assert.rejects(ctd.client.containers.get("no-such-container"), (e) => {
      assert.ok(isBerthError(e, "not-found"));
      assert.equal(e.rpc, "Containers/Get");
      assert.match(e.message, /not found/);
      return true;
    });
    await assert.rejects(ctd.client.containers.delete("no-such-container"), (e) => isBerthError(e, "not-found"));
    await assert.rejects(ctd.client.tasks.rpc.get({ containerId: "no-such-container" }), (e) => isBerthError(e, "not-found"));
    const spec = minimalSpec({ namespace: ctd.namespace, id, rootfs, args: ["true"] });
    await ctd.client.containers.create({ id, spec, runtime: { name: RUNC } });
    await assert.rejects(ctd.client.containers.create({ id, spec, runtime: { name: RUNC } }), (e) => isBerthError(e, "already-exists"));
    await ctd.client.containers.delete(id);
  });
});

/** Creates the stdout/stderr FIFOs and opens their readers before Tasks/Create (as Go's cio). */
async function stdioFifos(id: string) {
  const dir = path.join(ctd.dir, "fifo", id);
  await fs.mkdir(dir, { recursive: true });
  const stdout = path.join(dir, "init-stdout");
  const stderr = path.join(dir, "init-stderr");
  mkfifo(stdout);
  mkfifo(stderr);
  const collect = (p: string) => {
    const s = openFifoReader(p);
    const chunks: Buffer[] = [];
    s.on("data", (c: Buffer) => chunks.push(c));
    return once(s, "end").then(() => Buffer.concat(chunks).toString());
  };
  return { stdout, stderr, out: collect(stdout), err: collect(stderr), dir };
}

describe("a task from a plain-directory rootfs", () => {
  test("echo hello: output through FIFOs, exit from Tasks/Wait and from the TaskExit event", async () => {
    const id = newId("echo");
    const spec = minimalSpec({ namespace: ctd.namespace, id, rootfs, args: ["sh", "-c", "echo hello; echo oops >&2; exit 3"] });
    await ctd.client.containers.create({ id, spec, runtime: { name: RUNC } });

    const events: ContainerdEvent[] = [];
    const stopEvents = new AbortController();
    const gotExit = (async () => {
      for await (const ev of ctd.client.events.subscribe([`namespace==${ctd.namespace},topic~="^/tasks/"`], stopEvents.signal)) {
        events.push(ev);
        if (ev.topic === "/tasks/delete") return;
      }
    })().catch((e) => { if (!stopEvents.signal.aborted) throw e; });
    // The stream starts asynchronously: give the subscription a moment before the task starts.
    await new Promise((r) => setTimeout(r, 100));

    const io = await stdioFifos(id);
    const created = await ctd.client.tasks.rpc.create({ containerId: id, stdout: io.stdout, stderr: io.stderr });
    assert.ok(created.pid > 0);
    const waited = ctd.client.tasks.wait(id);
    await ctd.client.tasks.rpc.start({ containerId: id });
    const exit = await waited;
    assert.equal(exit.exitCode, 3);
    assert.ok(exit.exitedAt instanceof Date);
    assert.equal(await io.out, "hello\n");
    assert.equal(await io.err, "oops\n");

    const got = await ctd.client.tasks.rpc.get({ containerId: id });
    assert.equal(got.process?.status, TaskStatus.STOPPED);
    const del = await ctd.client.tasks.rpc.delete({ containerId: id });
    assert.equal(del.exitStatus, 3);
    await ctd.client.containers.delete(id);
    await gotExit;
    stopEvents.abort();

    const topics = events.filter((e) => e.event && "containerId" in e.event && e.event.containerId === id).map((e) => e.topic);
    assert.deepEqual(topics, ["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"]);
    const exitEv = events.find((e) => e.topic === "/tasks/exit")!.event as taskEventsPb.TaskExit;
    assert.equal(exitEv.$typeName, "containerd.events.TaskExit");
    assert.equal(exitEv.containerId, id);
    assert.equal(exitEv.exitStatus, 3);
    assert.equal(exitEv.pid, created.pid);
    await fs.rm(io.dir, { recursive: true });
  });

  test("client RPC counts equal containerd's own metrics for the same calls", async () => {
    const id = newId("count");
    const serverBefore = await ctd.serverCalls();
    const clientBefore = ctd.client.counter.snapshot();

    await ctd.client.version.version();
    await ctd.client.containers.create({ id, spec: minimalSpec({ namespace: ctd.namespace, id, rootfs, args: ["true"] }), runtime: { name: RUNC } });
    await ctd.client.containers.get(id);
    await ctd.client.tasks.rpc.create({ containerId: id });
    const waited = ctd.client.tasks.wait(id);
    await ctd.client.tasks.rpc.start({ containerId: id });
    assert.equal((await waited).exitCode, 0);
    await ctd.client.tasks.rpc.delete({ containerId: id });
    await ctd.client.containers.delete(id);
    await ctd.client.containers.get(id).catch(() => {});

    const client = ctd.client.counter.since(clientBefore);
    const serverAfter = await ctd.serverCalls();
    const server: Record<string, number> = {};
    for (const [k, v] of Object.entries(serverAfter)) if (v - (serverBefore[k] ?? 0) > 0) server[k] = v - (serverBefore[k] ?? 0);
    assert.deepEqual(client, {
      "Containers/Create": 1, "Containers/Delete": 1, "Containers/Get": 2,
      "Tasks/Create": 1, "Tasks/Delete": 1, "Tasks/Start": 1, "Tasks/Wait": 1, "Version/Version": 1,
    });
    assert.deepEqual(server, client);
    const handled = ctd.client.counter.snapshot().handled["Containers/Get"]!;
    assert.ok((handled["NotFound"] ?? 0) >= 1, "outcomes are counted by status");
  });
});

describe("content", () => {
  test("writeBlob: lock-step write, digest verified, already-exists is success, read back", async () => {
    const { createHash } = await import("node:crypto");
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const digest = "sha256:" + createHash("sha256").update(data).digest("hex");
    const lease = "lease-" + randomBytes(4).toString("hex");
    await ctd.client.leases.rpc.create({ id: lease, labels: { "containerd.io/gc.expire": new Date(Date.now() + 60_000).toISOString() } });
    try {
      const chunks = [data.subarray(0, 1 << 20), data.subarray(1 << 20, 2 << 20), data.subarray(2 << 20)];
      const [r, c] = await (async () => { const m = await ctd.client.counter.measure(() => ctd.client.content.writeBlob("ref-" + lease, chunks, { expected: digest, total: data.length, lease })); return [m.result, m.calls] as const; })();
      assert.deepEqual(r, { digest, written: true });
      assert.deepEqual(c, { "Content/Write": 1 });
      const again = await ctd.client.content.writeBlob("ref2-" + lease, [data], { expected: digest, total: data.length, lease });
      assert.deepEqual(again, { digest, written: false });
      const info = await ctd.client.content.info(digest);
      assert.equal(Number(info.size), data.length);
      const back: Uint8Array[] = [];
      for await (const b of ctd.client.content.read(digest)) back.push(b);
      assert.ok(Buffer.concat(back).equals(data));
      const wrong = "sha256:" + "0".repeat(64);
      await assert.rejects(ctd.client.content.writeBlob("ref3-" + lease, [data], { expected: wrong, total: data.length, lease }), (e) => isBerthError(e, "failed-precondition") || isBerthError(e, "invalid-argument"));
    } finally {
      await ctd.client.leases.rpc.delete({ id: lease, sync: true });
    }
    await assert.rejects(ctd.client.content.info(digest), (e) => isBerthError(e, "not-found"), "collected with the lease");
  });
  test("openWriter: pipelined WRITEs, an abort is canceled and resumable, errors carry kinds, counts match containerd's", async () => {
    const { createHash } = await import("node:crypto");
    const data = randomBytes(9 * 1024 * 1024 + 5);
    const digest = "sha256:" + createHash("sha256").update(data).digest("hex");
    const lease = "lease-" + randomBytes(4).toString("hex");
    const ref = "resume-" + lease;
    await ctd.client.leases.rpc.create({ id: lease, labels: { "containerd.io/gc.expire": new Date(Date.now() + 60_000).toISOString() } });
    const serverBefore = await ctd.serverCalls();
    const clientBefore = ctd.client.counter.snapshot();
    try {
      // An abort mid-stream: canceled, and containerd keeps what it acknowledged.
      const ac = new AbortController();
      const w = await ctd.client.content.openWriter({ ref, total: data.length, lease, signal: ac.signal });
      assert.equal(w.offset, 0);
      await w.write(data.subarray(0, 3 << 20));
      await w.flush();
      assert.equal(w.offset, 3 << 20, "acknowledged bytes");
      ac.abort(new Error("test abort"));
      await assert.rejects(w.write(data.subarray(3 << 20, 5 << 20)), (e) => isBerthError(e, "canceled"));
      await w.close();
      // The next writer of the ref resumes at containerd's offset; 64 KiB pieces go out as 1 MiB messages.
      const w2 = await ctd.client.content.openWriter({ ref, total: data.length, lease });
      assert.ok(w2.offset >= 3 << 20 && w2.offset <= data.length, `resumes at ${w2.offset}`);
      for (let o = w2.offset; o < data.length; o += 65536) await w2.write(data.subarray(o, Math.min(data.length, o + 65536)));
      assert.deepEqual(await w2.commit(digest, { "berth.test": "yes" }), { written: true });
      const back: Uint8Array[] = [];
      for await (const b of ctd.client.content.read(digest)) back.push(b);
      assert.ok(Buffer.concat(back).equals(data), "byte-identical");
      assert.equal((await ctd.client.content.info(digest)).labels["berth.test"], "yes");
      // A known digest ends the stream at open.
      const w3 = await ctd.client.content.openWriter({ ref: ref + "-again", total: data.length, expected: digest, lease });
      assert.equal(w3.exists, true);
      // containerd's refusals arrive in the trailers, as kinds: a wrong digest at commit...
      const w4 = await ctd.client.content.openWriter({ ref: ref + "-wrong", total: 3, lease });
      await w4.write(Buffer.from("abc"));
      await assert.rejects(w4.commit("sha256:" + "1".repeat(64)), (e) => isBerthError(e, "failed-precondition") || isBerthError(e, "invalid-argument"));
      await w4.abort();
      // ...and a write at the wrong offset (OutOfRange), which ends the stream.
      const w5 = await ctd.client.content.openWriter({ ref: ref + "-gap", total: 10, lease });
      await w5.write(Buffer.from("0123456789"));
      await assert.rejects(w5.commit("sha256:" + "2".repeat(64)).then(() => ctd.client.content.openWriter({ ref: ref + "-gap", total: 10, lease }))
        .then(async (w6) => { await w6.write(Buffer.from("0123456789")); await w6.flush(); }), (e) => isBerthError(e));
      await ctd.client.content.abort(ref + "-gap").catch(() => {});
    } finally {
      await ctd.client.leases.rpc.delete({ id: lease, sync: true });
    }
    const serverAfter = await ctd.serverCalls();
    const client = ctd.client.counter.since(clientBefore);
    assert.equal(serverAfter["Content/Write"]! - (serverBefore["Content/Write"] ?? 0), client["Content/Write"], "every stream counted once");
    const handled = ctd.client.counter.snapshot().handled["Content/Write"]!;
    assert.ok((handled["Canceled"] ?? 0) >= 1, `the aborted stream is counted as canceled: ${JSON.stringify(handled)}`);
  });

  test("openWriter with no containerd at the address is unavailable", async () => {
    const c = createContainerdClient({ address: path.join(ctd.dir, "nothing.sock"), namespace: "x", timeoutMs: 2000 });
    await assert.rejects(c.content.openWriter({ ref: "r", total: 1 }), (e) => isBerthError(e, "unavailable"));
    await c.close();
  });
});

describe("deadlines, cancellation, unavailability", () => {
  test("a deadline ends a long poll with deadline-exceeded; an abort with canceled", async () => {
    const id = newId("dl");
    await ctd.client.containers.create({ id, spec: minimalSpec({ namespace: ctd.namespace, id, rootfs, args: ["sleep", "30"] }), runtime: { name: RUNC } });
    await ctd.client.tasks.rpc.create({ containerId: id });
    await ctd.client.tasks.rpc.start({ containerId: id });
    try {
      await assert.rejects(ctd.client.tasks.wait(id, "", { timeoutMs: 100 }), (e) => isBerthError(e, "deadline-exceeded"));
      const ac = new AbortController();
      const p = ctd.client.tasks.wait(id, "", { signal: ac.signal });
      setTimeout(() => ac.abort(new Error("test abort")), 50);
      await assert.rejects(p, (e) => isBerthError(e, "canceled") && /test abort/.test(e.message));
      // an already aborted signal: no call reaches containerd
      const before = ctd.client.counter.snapshot();
      const serverBefore = await ctd.serverCalls();
      await assert.rejects(ctd.client.version.version({ signal: AbortSignal.abort(new Error("gave up")) }), (e) => isBerthError(e, "canceled") && /gave up/.test(e.message));
      assert.deepEqual(ctd.client.counter.since(before), { "Version/Version": 1 }, "counted as a call that was canceled");
      assert.equal((await ctd.serverCalls())["Version/Version"] ?? 0, serverBefore["Version/Version"] ?? 0, "containerd saw no call");
      const canceled = (snap: typeof before) => snap.handled["Version/Version"]?.["Canceled"] ?? 0;
      assert.equal(canceled(ctd.client.counter.snapshot()) - canceled(before), 1);
    } finally {
      await ctd.client.tasks.rpc.kill({ containerId: id, signal: 9 });
      await ctd.client.tasks.wait(id);
      await ctd.client.tasks.rpc.delete({ containerId: id });
      await ctd.client.containers.delete(id);
    }
  });

  test("no containerd at the address is unavailable; a closed client is unavailable", async () => {
    const c = createContainerdClient({ address: path.join(ctd.dir, "nothing.sock"), namespace: "x", timeoutMs: 2000 });
    await assert.rejects(c.version.version(), (e) => {
      assert.ok(isBerthError(e, "unavailable"), String(e));
      return true;
    });
    await c.close();
    const d = createContainerdClient({ address: ctd.address, namespace: "x" });
    await d.version.version();
    await d.close();
    await assert.rejects(d.version.version(), (e) => isBerthError(e, "unavailable") && /closed/.test(e.message));
  });
});
