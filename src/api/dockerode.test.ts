// dockerode 5 (what testcontainers uses) against the API over the fake backends.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before, test } from "node:test";
import Docker from "dockerode";
import { startHarness, type Harness } from "./testdata/harness.js";

let h: Harness;
let d: Docker;
before(async () => {
  h = await startHarness();
  d = new Docker({ socketPath: h.socketPath });
});
after(() => h.close());

const collect = (s: NodeJS.ReadableStream) => {
  let text = "";
  const p = new PassThrough();
  p.on("data", (c: Buffer) => (text += c.toString()));
  return { stream: p, text: () => text };
};

test("ping, version, info", async () => {
  assert.equal(String(await d.ping()), "OK");
  assert.equal((await d.version()).ApiVersion, "1.43");
  assert.equal((await d.info()).OSType, "linux");
});

test("create, hijacked attach with stdin, start, wait, logs, remove", async () => {
  const c = await d.createContainer({
    Image: "busybox",
    Cmd: ["cat"],
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    Labels: { "org.testcontainers": "true" },
    HostConfig: { NetworkMode: "none" },
  });
  const stream = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
  const out = collect(stream);
  d.modem.demuxStream(stream, out.stream, new PassThrough());
  const ended = new Promise((r) => stream.on("end", r));
  const waited = c.wait();
  await c.start();
  stream.end("through dockerode\n");
  assert.deepEqual(await waited, { Error: null, StatusCode: 0 });
  await ended;
  assert.equal(out.text(), "through dockerode\n");
  const logs = await c.logs({ stdout: true, stderr: true });
  assert.equal(logs.subarray(8).toString(), "through dockerode\n");
  assert.equal(logs[0], 1);
  const list = await d.listContainers({ all: true, filters: { label: ["org.testcontainers=true"] } });
  assert.deepEqual(list.map((x) => x.Id), [c.id]);
  await c.remove();
  await assert.rejects(c.inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
});

test("exec with a hijacked start, demultiplexed, and its exit code", async () => {
  const c = await d.createContainer({ Image: "busybox", Cmd: ["sleep", "100"], HostConfig: { NetworkMode: "none" } });
  await c.start();
  const ex = await c.exec({ Cmd: ["fail", "4", "to stderr"], AttachStdout: true, AttachStderr: true });
  const s = await ex.start({ hijack: true, stdin: false });
  const out = collect(s);
  const err = collect(s);
  d.modem.demuxStream(s, out.stream, err.stream);
  await new Promise((r) => s.on("end", r));
  assert.equal(err.text(), "to stderr\n");
  assert.equal(out.text(), "");
  assert.equal((await ex.inspect()).ExitCode, 4);
  await c.remove({ force: true });
});

test("events stream and pull progress", async () => {
  const events = await d.getEvents({ since: Math.floor(Date.now() / 1000) - 60, until: (Date.now() + 50) / 1000 });
  let text = "";
  events.on("data", (c: Buffer) => (text += c.toString()));
  await new Promise((r) => events.on("end", r));
  const lines = text.trim().split("\n");
  assert.ok(lines.length >= 3, text);
  assert.ok(lines.every((l) => JSON.parse(l).scope === "local"));
  const stream = await d.pull("alpine:3");
  const out = await new Promise<{ status: string }[]>((resolve, reject) => d.modem.followProgress(stream, (e, r) => (e ? reject(e) : resolve(r as { status: string }[]))));
  assert.equal(out.at(-1)!.status, "Status: Downloaded newer image for alpine:3");
});

test("errors reach dockerode with their status and dockerd's message", async () => {
  await assert.rejects(d.getContainer("nope").start(), (e: { statusCode?: number; json?: { message: string } }) => e.statusCode === 404 && e.json?.message === "No such container: nope");
  await assert.rejects(
    d.createContainer({ Image: "busybox", HostConfig: { CpusetMems: "0" } }),
    (e: { statusCode?: number }) => e.statusCode === 400,
  );
});

test("a named container the way dockerode's README creates one: name in the query and in the body", async () => {
  // dockerode puts `name` in the query string and leaves it in the body too; dockerd ignores
  // the body key, as it is not part of the API.
  const c = await d.createContainer({ name: "readme-style", Image: "busybox", Cmd: ["true"], HostConfig: { NetworkMode: "none" } });
  assert.equal((await c.inspect()).Name, "/readme-style");
  await c.remove({ force: true });
});
