// The real docker CLI 28 against the API over the fake backends: proves the wire shapes it
// depends on (version negotiation, the 101 dance, multiplexed frames, wait's early headers,
// events since/until, cp's stat header).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { docker, hasDocker, startHarness, type Harness } from "./testdata/harness.js";

const skip = hasDocker ? false : "docker CLI not installed at /usr/local/bin/docker";
let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

test("docker version negotiates down to 1.43", { skip }, async () => {
  const r = await docker(h, ["version", "--format", "{{.Server.APIVersion}} {{.Server.Version}} {{.Server.Os}}"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "1.43 0.1.0 linux");
  const full = await docker(h, ["version"]);
  assert.match(full.stdout, /API version:\s+1\.43 \(downgraded from 1\.\d+\)/);
});

test("docker info and system df", { skip }, async () => {
  const r = await docker(h, ["info", "--format", "{{.Driver}} {{.CgroupDriver}} {{.OSType}} {{.DefaultRuntime}} {{.ServerVersion}}"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "overlayfs cgroupfs linux runc 0.1.0");
  assert.equal((await docker(h, ["system", "df"])).code, 0);
});

test("docker run (attached, --rm): output through the hijacked stream, exit code through wait", { skip }, async () => {
  const ok = await docker(h, ["run", "--rm", "--network", "none", "busybox", "echo", "hello", "world"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, "hello world\n");
  const fail = await docker(h, ["run", "--rm", "--network", "none", "busybox", "fail", "3", "went wrong"]);
  assert.equal(fail.code, 3);
  assert.equal(fail.stderr, "went wrong\n");
  assert.equal(fail.stdout, "");
});

test("docker run -i: piped stdin, then the half-close ends it", { skip }, async () => {
  const r = await docker(h, ["run", "--rm", "-i", "--network", "none", "busybox", "cat"], { input: "line one\nline two\n" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "line one\nline two\n");
});

test("docker run -t without a terminal: raw bytes", { skip }, async () => {
  const r = await docker(h, ["run", "--rm", "-t", "--network", "none", "busybox", "echo", "tty"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "tty\n");
});

test("docker run -d, ps, inspect, exec, logs, stop, wait, rm", { skip }, async () => {
  const run = await docker(h, ["run", "-d", "--name", "cli-bg", "--network", "none", "-l", "suite=cli", "busybox", "sleep", "1000"]);
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ps = await docker(h, ["ps", "--filter", "label=suite=cli", "--format", "{{.ID}} {{.Names}} {{.Command}} {{.Status}}"]);
  assert.equal(ps.stdout.trim(), `${id.slice(0, 12)} cli-bg "sleep 1000" Up Less than a second`);
  const insp = await docker(h, ["inspect", "--format", "{{.State.Status}} {{.Name}} {{.HostConfig.NetworkMode}} {{.Config.Hostname}}", "cli-bg"]);
  assert.equal(insp.stdout.trim(), `running /cli-bg none ${id.slice(0, 12)}`);
  const ex = await docker(h, ["exec", "cli-bg", "echo", "inside"]);
  assert.equal(ex.code, 0, ex.stderr);
  assert.equal(ex.stdout, "inside\n");
  const exFail = await docker(h, ["exec", "cli-bg", "fail", "5", "exec failed"]);
  assert.equal(exFail.code, 5);
  assert.equal(exFail.stderr, "exec failed\n");
  const exIn = await docker(h, ["exec", "-i", "cli-bg", "cat"], { input: "into exec\n" });
  assert.equal(exIn.stdout, "into exec\n");
  h.engine.output(id, "stdout", "out line\n");
  h.engine.output(id, "stderr", "err line\n");
  const logs = await docker(h, ["logs", "cli-bg"]);
  assert.equal(logs.stdout, "out line\n");
  assert.equal(logs.stderr, "err line\n");
  const ts = await docker(h, ["logs", "--timestamps", "--tail", "1", "cli-bg"]);
  assert.match(ts.stderr, /^\d{4}-\d\d-\d\dT[\d:.]+Z err line\n$/);
  assert.equal((await docker(h, ["stop", "-t", "1", "cli-bg"])).code, 0);
  const wait = await docker(h, ["wait", "cli-bg"]);
  assert.equal(wait.stdout.trim(), "143");
  assert.equal((await docker(h, ["rm", "cli-bg"])).code, 0);
  const gone = await docker(h, ["inspect", "cli-bg"]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /No such (container|object): cli-bg/);
});

test("docker logs -f follows until the container exits", { skip }, async () => {
  const run = await docker(h, ["run", "-d", "--network", "none", "busybox", "sleep", "1000"]);
  const id = run.stdout.trim();
  h.engine.output(id, "stdout", "first\n");
  const follow = docker(h, ["logs", "-f", id]);
  await new Promise((r) => setTimeout(r, 150));
  h.engine.output(id, "stdout", "second\n");
  h.engine.exit(id, 0);
  const r = await follow;
  assert.equal(r.stdout, "first\nsecond\n");
});

test("docker wait blocks until exit", { skip }, async () => {
  const run = await docker(h, ["run", "-d", "--network", "none", "busybox", "sleep", "1000"]);
  const id = run.stdout.trim();
  const waiting = docker(h, ["wait", id]);
  await new Promise((r) => setTimeout(r, 150));
  h.engine.exit(id, 7);
  assert.equal((await waiting).stdout.trim(), "7");
});

test("docker events --since --until returns by itself", { skip }, async () => {
  const now = Math.floor(Date.now() / 1000);
  await docker(h, ["create", "--name", "ev-probe", "--network", "none", "busybox", "true"]);
  const r = await docker(h, ["events", "--since", String(now - 5), "--until", ((Date.now() + 100) / 1000).toFixed(3), "--filter", "container=ev-probe", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "container create ev-probe\n");
});

test("docker cp both ways", { skip }, async () => {
  await docker(h, ["run", "-d", "--name", "cp-ct", "--network", "none", "busybox", "sleep", "1000"]);
  const src = path.join(h.dir, "hostfile.txt");
  fs.writeFileSync(src, "from the host\n");
  const put = await docker(h, ["cp", src, "cp-ct:/tmp/hostfile.txt"]);
  assert.equal(put.code, 0, put.stderr);
  const back = path.join(h.dir, "back.txt");
  const get = await docker(h, ["cp", "cp-ct:/tmp/hostfile.txt", back]);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(fs.readFileSync(back, "utf8"), "from the host\n");
});

test("unsupported options are refused with the field named", { skip }, async () => {
  const r = await docker(h, ["create", "--network", "none", "--cpuset-mems", "0", "busybox"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'Error response from daemon: unsupported container option: HostConfig.CpusetMems="0" (berth does not implement it; see docs/api.md)\n');
});

test("ports, --mount, --dns, --add-host reach the engine in its vocabulary", { skip }, async () => {
  const r = await docker(h, [
    "create", "-p", "127.0.0.1:8080:80", "-p", "53/udp", "--mount", "type=volume,src=data,dst=/data,volume-nocopy",
    "--dns", "1.1.1.1", "--add-host", "db:10.0.0.5", "busybox",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const hc = (h.engine.calls.filter((c) => c.method === "create").at(-1)!.args[0] as { hostConfig: Record<string, unknown> }).hostConfig;
  assert.deepEqual(hc.portBindings, { "80/tcp": [{ hostIp: "127.0.0.1", hostPort: "8080" }], "53/udp": [{ hostIp: "", hostPort: "" }] });
  assert.deepEqual(hc.mounts, [{ type: "volume", source: "data", target: "/data", volumeOptions: { noCopy: true, driverConfig: {} } }]);
  assert.deepEqual(hc.dns, ["1.1.1.1"]);
  assert.deepEqual(hc.extraHosts, ["db:10.0.0.5"]);
});

test("docker images, pull, tag, rmi, load", { skip }, async () => {
  const pull = await docker(h, ["pull", "alpine:3"]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, /3: Pulling from library\/alpine\n/);
  assert.match(pull.stdout, /Status: Downloaded newer image for alpine:3\n/);
  const missing = await docker(h, ["pull", "nonexistent"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /pull access denied for nonexistent/);
  const broken = await docker(h, ["pull", "broken"]);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /unexpected EOF/);
  const images = await docker(h, ["images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}"]);
  assert.match(images.stdout, /^busybox:latest 4\.26MB$/m);
  assert.equal((await docker(h, ["tag", "busybox", "mine:v1"])).code, 0);
  const rmi = await docker(h, ["rmi", "mine:v1"]);
  assert.match(rmi.stdout, /Untagged: mine:v1/);
  const tarPath = path.join(h.dir, "img.tar");
  fs.writeFileSync(tarPath, Buffer.alloc(2048));
  const load = await docker(h, ["load", "-i", tarPath]);
  assert.equal(load.stdout, "Loaded image: loaded:latest\n");
});
