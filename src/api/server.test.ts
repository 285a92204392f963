import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { createApiServer } from "./server.js";
import { fakeBackends } from "./testdata/fake-backend.js";
import { rawExchange, request, startHarness } from "./testdata/harness.js";

function tmpSocket(): { dir: string; socketPath: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-api-srv-"));
  return { dir, socketPath: path.join(dir, "d.sock") };
}

test("the unix socket gets mode 0660 whatever the umask, and the requested group", async () => {
  const { dir, socketPath } = tmpSocket();
  const old = process.umask(0o000);
  const server = createApiServer({ backends: fakeBackends().backends });
  try {
    await server.listen({ socketPath, group: process.getgid!() });
  } finally {
    process.umask(old);
  }
  const st = fs.statSync(socketPath);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.gid, process.getgid!());
  await server.close();
  assert.equal(fs.existsSync(socketPath), false, "close removes the socket");
  fs.rmSync(dir, { recursive: true });
});

test("a live daemon on the socket is refused; a stale socket is replaced; a regular file is refused", async () => {
  const { dir, socketPath } = tmpSocket();
  const live = net.createServer((c) => c.end()).listen(socketPath);
  await new Promise((r) => live.once("listening", r));
  const server = createApiServer({ backends: fakeBackends().backends });
  await assert.rejects(server.listen({ socketPath }), new RegExp(`another daemon is listening on ${socketPath}`));
  // A daemon that died leaves its socket file behind: connecting is refused, so it is stale.
  await new Promise<void>((r) => live.close(() => r()));
  // A daemon killed with SIGKILL leaves its socket file behind.
  spawnSync(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, "SIGKILL"))`]);
  assert.ok(fs.statSync(socketPath).isSocket());
  await server.listen({ socketPath });
  assert.equal((await request(socketPath, "GET", "/_ping")).status, 200);
  await server.close();
  fs.writeFileSync(socketPath, "not a socket");
  const other = createApiServer({ backends: fakeBackends().backends });
  await assert.rejects(other.listen({ socketPath }), /exists and is not a socket/);
  fs.rmSync(dir, { recursive: true });
});

test("TCP only when asked", async () => {
  const server = createApiServer({ backends: fakeBackends().backends });
  const { address } = await server.listen({ host: "127.0.0.1", port: 0 });
  const body = await new Promise<string>((resolve, reject) => {
    http.get({ host: "127.0.0.1", port: address!.port, path: "/_ping", agent: false }, (res) => {
      let s = "";
      res.on("data", (d) => (s += d));
      res.on("end", () => resolve(s));
    }).on("error", reject);
  });
  assert.equal(body, "OK");
  await server.close();
});

test("_ping: dockerd's headers, exact casing; HEAD has an empty body", async () => {
  const h = await startHarness();
  try {
    const head = (await rawExchange(h.socketPath, "HEAD /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\nConnection: close\r\n\r\n")).toString();
    const lines = head.split("\r\n");
    assert.equal(lines[0], "HTTP/1.1 200 OK");
    for (const l of [
      "Api-Version: 1.43",
      "Docker-Experimental: false",
      "Ostype: linux",
      "Server: Berth/0.1.0 (linux)",
      "Cache-Control: no-cache, no-store, must-revalidate",
      "Pragma: no-cache",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Length: 0",
    ]) {
      assert.ok(lines.includes(l), `missing ${l} in ${JSON.stringify(head)}`);
    }
    assert.ok(head.endsWith("\r\n\r\n"));
    const get = await request(h.socketPath, "GET", "/_ping");
    assert.equal(get.body.toString(), "OK");
    assert.equal(get.headers["content-length"], "2");
    assert.equal((await request(h.socketPath, "GET", "/v1.24/_ping")).status, 200);
  } finally {
    await h.close();
  }
});

test("versions out of range are 400 in dockerd's words, with the version headers", async () => {
  const h = await startHarness();
  try {
    const old = await request(h.socketPath, "GET", "/v1.12/version");
    assert.equal(old.status, 400);
    assert.equal(old.headers["content-type"], "application/json");
    assert.equal(old.headers["api-version"], "1.43");
    assert.equal(
      old.body.toString(),
      '{"message":"client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"}\n',
    );
    const young = await request(h.socketPath, "GET", "/v1.44/version");
    assert.deepEqual(young.json(), { message: "client version 1.44 is too new. Maximum supported API version is 1.43" });
    assert.equal((await request(h.socketPath, "GET", "/v1.43/version")).status, 200);
    assert.equal((await request(h.socketPath, "GET", "/version")).status, 200);
  } finally {
    await h.close();
  }
});

test("unknown endpoints are a JSON 404 'page not found'", async () => {
  const h = await startHarness();
  try {
    for (const [m, p] of [["GET", "/v1.43/nope"], ["GET", "/containers/x/nope"], ["DELETE", "/version"], ["POST", "/images/busybox/unknown"]]) {
      const r = await request(h.socketPath, m!, p!);
      assert.equal(r.status, 404, `${m} ${p}`);
      assert.equal(r.body.toString(), '{"message":"page not found"}\n');
    }
  } finally {
    await h.close();
  }
});

test("JSON bodies are capped; bad JSON and non-JSON content types are 400", async () => {
  const h = await startHarness({ maxBodyBytes: 1024 });
  try {
    const big = await request(h.socketPath, "POST", "/containers/create", { body: { Image: "busybox", Labels: { x: "y".repeat(2000) } } });
    assert.equal(big.status, 413);
    assert.deepEqual(big.json(), { message: "request body exceeds 1024 bytes" });
    const bad = await request(h.socketPath, "POST", "/containers/create", { raw: "{not json", headers: { "Content-Type": "application/json" } });
    assert.equal(bad.status, 400);
    assert.match(bad.json<{ message: string }>().message, /^invalid JSON: /);
    const text = await request(h.socketPath, "POST", "/containers/create", { raw: '{"Image":"busybox"}', headers: { "Content-Type": "text/plain" } });
    assert.equal(text.status, 400);
    assert.equal(text.json<{ message: string }>().message, "unsupported Content-Type header (text/plain): must be 'application/json'");
  } finally {
    await h.close();
  }
});

test("close: idle connections end, streams end, hijacked connections get a grace then are cut", async () => {
  const h = await startHarness({ shutdownGraceMs: 150 });
  assert.equal((await request(h.socketPath, "POST", "/containers/create?name=g", { body: { Image: "busybox", Cmd: ["sleep", "9"] } })).status, 201);
  // An idle keep-alive connection.
  const idle = net.connect(h.socketPath);
  await new Promise((r) => idle.once("connect", r));
  idle.write("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n");
  await new Promise((r) => idle.once("data", r));
  const idleClosed = new Promise((r) => idle.once("close", r));
  // A following event stream.
  const events = new Promise<number>((resolve, reject) => {
    http.get({ socketPath: h.socketPath, path: "/events", agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    }).on("error", reject);
  });
  // A hijacked attach to a container that never ends.
  let upgraded = false;
  const attach = rawExchange(
    h.socketPath,
    "POST /containers/g/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n",
    { onData: (all) => (upgraded ||= all.toString().startsWith("HTTP/1.1 101")) },
  ).catch((e: Error) => e);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(upgraded);
  const t0 = Date.now();
  await h.close();
  const elapsed = Date.now() - t0;
  assert.equal(await events, 200);
  await idleClosed;
  await attach;
  assert.ok(elapsed >= 100, `hijacked stream got its grace (${elapsed} ms)`);
  assert.ok(elapsed < 2000, `then was cut (${elapsed} ms)`);
});
