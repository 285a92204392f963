import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { isBerthError } from "../base/errors.js";
import { parseExecCreateBody } from "./exec-router.js";
import { decodeFrames } from "./stdcopy.js";
import { request, startHarness, upgradeRequest, type Harness } from "./testdata/harness.js";

let h: Harness;
let ct: string;
before(async () => {
  h = await startHarness();
  ct = (await request(h.socketPath, "POST", "/containers/create?name=ex", { body: { Image: "busybox", Cmd: ["sleep", "100"] } })).json<{ Id: string }>().Id;
  await request(h.socketPath, "POST", `/containers/${ct}/start`);
});
after(() => h.close());

async function execCreate(body: Record<string, unknown>): Promise<string> {
  const r = await request(h.socketPath, "POST", `/v1.43/containers/ex/exec`, { body: { AttachStdout: true, AttachStderr: true, ...body } });
  assert.equal(r.status, 201, r.body.toString());
  return r.json<{ Id: string }>().Id;
}

test("exec create: the CLI's body is translated; no command is a 400", async () => {
  // What `docker exec CT true` sends.
  const id = await execCreate({ User: "", Privileged: false, Tty: false, AttachStdin: false, Detach: false, DetachKeys: "", Env: null, WorkingDir: "", Cmd: ["true"] });
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.deepEqual(h.engine.calls.filter((c) => c.method === "execCreate").at(-1)!.args, ["ex", { cmd: ["true"], tty: false, attachStdin: false, attachStdout: true, attachStderr: true, privileged: false }]);
  const none = await request(h.socketPath, "POST", "/containers/ex/exec", { body: { Cmd: [] } });
  assert.equal(none.status, 400);
  assert.deepEqual(none.json(), { message: "No exec command specified" });
  // Keys outside ExecConfig are ignored as dockerd ignores them (docker-py always sends Container);
  // keys match fields case-insensitively, as Go's encoding/json matches them.
  assert.deepEqual(parseExecCreateBody({ Cmd: ["x"], Unknown: 1, Container: "ex" }), { cmd: ["x"] });
  assert.deepEqual(parseExecCreateBody({ cmd: ["x"], user: "nobody", TTY: true }), { cmd: ["x"], user: "nobody", tty: true });
  const dockerPy = await request(h.socketPath, "POST", "/v1.41/containers/ex/exec", { body: { Container: "ex", User: "", Privileged: false, Tty: false, AttachStdin: false, AttachStdout: true, AttachStderr: true, Cmd: ["true"], Env: null } });
  assert.equal(dockerPy.status, 201, dockerPy.body.toString());
  assert.throws(() => parseExecCreateBody({ Cmd: ["x"], Env: "A=1" }), (e: unknown) => isBerthError(e, "invalid-argument") && /Env/.test(e.message));
  assert.deepEqual(parseExecCreateBody({ Cmd: "ls", Env: ["A=1"], User: "nobody", WorkingDir: "/tmp" }), { cmd: ["ls"], env: ["A=1"], user: "nobody", workingDir: "/tmp" });
});

test("exec start: 101 with the version headers, multiplexed output, FIN at the end", async () => {
  const id = await execCreate({ Cmd: ["echo", "from", "exec"] });
  const { head, payload } = await upgradeRequest(h.socketPath, "POST", `/v1.43/exec/${id}/start`, { body: { Detach: false, Tty: false }, keepOpenMs: 1 });
  assert.equal(
    head,
    "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n" +
      "Api-Version: 1.43\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Berth/0.1.0 (linux)\r\n\r\n",
  );
  assert.deepEqual(decodeFrames(payload).map((f) => [f.stream, f.payload.toString()]), [[1, "from exec\n"]]);
  const insp = (await request(h.socketPath, "GET", `/exec/${id}/json`)).json<Record<string, any>>();
  assert.deepEqual(Object.keys(insp), ["ID", "Running", "ExitCode", "ProcessConfig", "OpenStdin", "OpenStderr", "OpenStdout", "CanRemove", "ContainerID", "DetachKeys", "Pid"]);
  assert.equal(insp.ExitCode, 0);
  assert.equal(insp.Running, false);
  assert.equal(insp.ContainerID, ct);
  assert.deepEqual(insp.ProcessConfig, { tty: false, entrypoint: "echo", arguments: ["from", "exec"], privileged: false, user: "" });
});

test("exec start with stdin: bytes after the 101 reach the process; the half-close ends them", async () => {
  const id = await execCreate({ Cmd: ["cat"], AttachStdin: true });
  const { payload } = await upgradeRequest(h.socketPath, "POST", `/exec/${id}/start`, { body: { Detach: false, Tty: false }, stdin: "piped\n" });
  assert.deepEqual(decodeFrames(payload).map((f) => f.payload.toString()), ["piped\n"]);
});

test("exec start with Tty: raw bytes; ConsoleSize is passed as the initial size", async () => {
  const id = await execCreate({ Cmd: ["echo", "tty"], Tty: true });
  const { head, payload } = await upgradeRequest(h.socketPath, "POST", `/exec/${id}/start`, { body: { Detach: false, Tty: true, ConsoleSize: [40, 120] }, keepOpenMs: 1 });
  assert.match(head, /Content-Type: application\/vnd\.docker\.raw-stream\r\n/);
  assert.equal(payload.toString(), "tty\n");
  assert.deepEqual((h.engine.calls.filter((c) => c.method === "execStart").at(-1)!.args[1] as { consoleSize: unknown }).consoleSize, { width: 120, height: 40 });
});

test("a failing exec's error is written as output text, as dockerd does", async () => {
  const id = await execCreate({ Cmd: ["boom"] });
  const { payload } = await upgradeRequest(h.socketPath, "POST", `/exec/${id}/start`, { body: { Detach: false, Tty: false }, keepOpenMs: 1 });
  assert.deepEqual(decodeFrames(payload).map((f) => [f.stream, f.payload.toString()]), [[1, 'exec: "boom": executable file not found in $PATH\r\n']]);
  assert.equal((await request(h.socketPath, "GET", `/exec/${id}/json`)).json<{ ExitCode: number }>().ExitCode, 126);
});

test("detached start is a 200 without a hijack; resize passes width and height", async () => {
  const id = await execCreate({ Cmd: ["sleep", "1"] });
  const r = await request(h.socketPath, "POST", `/exec/${id}/start`, { body: { Detach: true } });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 0);
  assert.equal((await request(h.socketPath, "POST", `/exec/${id}/resize?h=24&w=80`)).status, 200);
  assert.deepEqual(h.engine.calls.filter((c) => c.method === "execResize").at(-1)!.args, [id, 80, 24]);
});

test("errors before the hijack are statuses: unknown exec 404, already run 409, container stopped 409", async () => {
  const missing = await upgradeRequest(h.socketPath, "POST", `/exec/${"0".repeat(64)}/start`, { body: { Detach: false } });
  assert.match(missing.head, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.match(missing.payload.toString(), /No such exec instance/);
  assert.equal((await request(h.socketPath, "GET", `/exec/nope/json`)).status, 404);
  const id = await execCreate({ Cmd: ["sleep", "1"] });
  h.engine.execs.get(id)!.view.running = true;
  const running = await upgradeRequest(h.socketPath, "POST", `/exec/${id}/start`, { body: { Detach: false } });
  assert.match(running.head, /^HTTP\/1\.1 409 Conflict\r\n/);
  h.engine.execs.get(id)!.view.running = false;
  await request(h.socketPath, "POST", "/containers/ex/stop");
  const stopped = await upgradeRequest(h.socketPath, "POST", `/exec/${id}/start`, { body: { Detach: false } });
  assert.match(stopped.head, /^HTTP\/1\.1 409 Conflict\r\n/);
  assert.match(stopped.payload.toString(), /is not running/);
});
