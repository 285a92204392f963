// The real docker CLI (28.x) and dockerode against berthd. The same scenarios run against any
// Docker-API daemon with one switch: COMPAT_DOCKER_HOST=unix:///path/docker.sock (e.g. dockerd
// 20.10 from ../shared/bench/bench-env-dockerd.sh, with busybox:latest loaded).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import type { Berthd } from "../helpers/berthd.js";
import { startCompatBerthd } from "../helpers/compat.js";
import { DOCKER, runDocker } from "../helpers/docker-cli.js";

const HAVE_CLI = existsSync(DOCKER);
let b: Berthd | undefined;
let host = process.env.COMPAT_DOCKER_HOST ?? "";
let tmp: string;
const RUN_OPTS = ["--network", "none"];

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-compat-"));
  if (!host) {
    ({ berthd: b, host } = await startCompatBerthd("cli", tmp));
  }
});
after(async () => {
  await b?.destroy();
  await fs.rm(tmp, { recursive: true, force: true });
});

function docker(args: string[], o: { input?: string } = {}) {
  return runDocker(host, args, o);
}
async function ok(args: string[], o?: { input?: string }): Promise<string> {
  const r = await docker(args, o);
  assert.equal(r.code, 0, `docker ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

describe("docker CLI", { skip: HAVE_CLI ? false : `no docker CLI at ${DOCKER}` }, () => {
  test("run --rm: exact output, exit codes propagate", async () => {
    assert.equal(await ok(["run", "--rm", ...RUN_OPTS, "busybox", "echo", "hello from berth"]), "hello from berth\n");
    const r = await docker(["run", "--rm", ...RUN_OPTS, "busybox", "sh", "-c", "echo out; echo err >&2; exit 42"]);
    assert.equal(r.code, 42);
    assert.equal(r.stdout, "out\n");
    assert.equal(r.stderr, "err\n");
    const missing = await docker(["run", "--rm", ...RUN_OPTS, "busybox", "/no/such/cmd"]);
    assert.equal(missing.code, 127);
  });

  test("run -i with piped stdin; run -t", async () => {
    assert.equal(await ok(["run", "--rm", "-i", ...RUN_OPTS, "busybox", "sh", "-c", "cat; echo done"], { input: "line1\nline2\n" }), "line1\nline2\ndone\n");
    // Without a terminal on our side the CLI sends no resize; the output has the pty's CRLF.
    assert.equal(await ok(["run", "--rm", "-t", ...RUN_OPTS, "busybox", "echo", "hi"]), "hi\r\n");
  });

  test("-d, ps, logs -f, exec, pause/unpause, top, stats, wait, stop, rm", async () => {
    const id = (await ok(["run", "-d", "--name", "cli-web", ...RUN_OPTS, "busybox", "sh", "-c", "echo started; trap 'exit 0' TERM; while true; do sleep 0.1; done"])).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.match(await ok(["ps", "--format", "{{.Names}} {{.Status}}"]), /^cli-web Up /m);
    const exec = await docker(["exec", "-e", "A=1", "-w", "/tmp", "-u", "nobody", "cli-web", "sh", "-c", "echo $A $(pwd) $(id -u); exit 3"]);
    assert.equal(exec.code, 3);
    assert.equal(exec.stdout, "1 /tmp 65534\n");
    assert.equal(await ok(["exec", "-i", "cli-web", "cat"], { input: "via exec stdin\n" }), "via exec stdin\n");
    await ok(["pause", "cli-web"]);
    assert.match(await ok(["ps", "--format", "{{.Status}}", "-f", "name=cli-web"]), /\(Paused\)/);
    assert.equal((await ok(["inspect", "-f", "{{.State.Status}}", "cli-web"])).trim(), "paused");
    await ok(["unpause", "cli-web"]);
    assert.match(await ok(["top", "cli-web"]), /PID[\s\S]*sleep|sh -c/);
    assert.match(await ok(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "cli-web"]), /^cli-web \d+$/m);
    const logs = spawn(DOCKER, ["logs", "-f", "cli-web"], { env: { ...process.env, DOCKER_HOST: host } });
    let followed = "";
    logs.stdout.on("data", (c: Buffer) => (followed += c.toString()));
    const logsDone = new Promise((r) => logs.on("close", r));
    await ok(["stop", "-t", "5", "cli-web"]);
    await logsDone;
    assert.equal(followed, "started\n", "logs -f ends when the container stops");
    assert.equal((await ok(["wait", "cli-web"])).trim(), "0");
    assert.equal((await ok(["inspect", "-f", "{{.State.ExitCode}} {{.State.Status}}", "cli-web"])).trim(), "0 exited");
    await ok(["rm", "cli-web"]);
    assert.equal((await docker(["inspect", "cli-web"])).code, 1);
  });

  test("inspect fields, rename, update, restart policy", async () => {
    await ok(["create", "--name", "cli-insp", "--restart", "on-failure:3", "-e", "FOO=bar", "--label", "k=v", ...RUN_OPTS, "busybox", "sleep", "100"]);
    const v = JSON.parse(await ok(["inspect", "cli-insp"]))[0];
    assert.equal(v.Name, "/cli-insp");
    assert.equal(v.State.Status, "created");
    assert.deepEqual(v.HostConfig.RestartPolicy, { Name: "on-failure", MaximumRetryCount: 3 });
    assert.ok(v.Config.Env.includes("FOO=bar"));
    assert.equal(v.Config.Labels.k, "v");
    assert.deepEqual(v.Config.Cmd, ["sleep", "100"]);
    assert.equal(v.Config.Image, "busybox");
    await ok(["rename", "cli-insp", "cli-insp2"]);
    await ok(["update", "--memory", "64m", "--memory-swap", "128m", "cli-insp2"]);
    assert.equal((await ok(["inspect", "-f", "{{.HostConfig.Memory}} {{.Name}}", "cli-insp2"])).trim(), "67108864 /cli-insp2");
    const dup = await docker(["create", "--name", "cli-insp2", ...RUN_OPTS, "busybox", "true"]);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /already in use/);
    await ok(["rm", "cli-insp2"]);
  });

  test("cp both ways", async () => {
    await ok(["run", "-d", "--name", "cli-cp", ...RUN_OPTS, "busybox", "sleep", "100"]);
    const src = path.join(tmp, "hostfile.txt");
    await fs.writeFile(src, "from the host\n");
    await ok(["cp", src, "cli-cp:/tmp/hostfile.txt"]);
    assert.equal(await ok(["exec", "cli-cp", "cat", "/tmp/hostfile.txt"]), "from the host\n");
    const dst = path.join(tmp, "passwd.copy");
    await ok(["cp", "cli-cp:/etc/passwd", dst]);
    assert.match(await fs.readFile(dst, "utf8"), /^root:x:0:0:/);
    await ok(["rm", "-f", "cli-cp"]);
  });

  test("events, images, tag, rmi", async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await ok(["run", "--rm", "--name", "cli-ev", ...RUN_OPTS, "busybox", "true"]);
    const until = Math.floor(Date.now() / 1000) + 1;
    const ev = await ok(["events", "--since", String(since), "--until", String(until), "--filter", "container=cli-ev", "--format", "{{.Action}}"]);
    assert.deepEqual(ev.trim().split("\n").filter((a) => ["create", "start", "die", "destroy"].includes(a)), ["create", "start", "die", "destroy"]);
    assert.match(await ok(["images", "--format", "{{.Repository}}:{{.Tag}}"]), /^busybox:latest$/m);
    await ok(["tag", "busybox", "berth-test/tagged:v1"]);
    assert.match(await ok(["images", "--format", "{{.Repository}}:{{.Tag}}"]), /^berth-test\/tagged:v1$/m);
    assert.match(await ok(["rmi", "berth-test/tagged:v1"]), /Untagged: berth-test\/tagged:v1/);
  });
});

describe("dockerode", () => {
  test("create, attach, start, wait, logs, remove", async () => {
    const d = new Docker({ socketPath: host.replace(/^unix:\/\//, "") });
    const info = await d.version();
    assert.ok(info.ApiVersion);
    const c = await d.createContainer({ Image: "busybox", Cmd: ["sh", "-c", "echo dockerode-out; echo dockerode-err >&2; exit 5"], HostConfig: { NetworkMode: "none" } });
    await c.start();
    const w = await c.wait();
    assert.equal(w.StatusCode, 5);
    const logs = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    // Multiplexed frames: stream type 1 = stdout, 2 = stderr.
    const frames: [number, string][] = [];
    for (let i = 0; i + 8 <= logs.length;) {
      const len = logs.readUInt32BE(i + 4);
      frames.push([logs[i]!, logs.subarray(i + 8, i + 8 + len).toString()]);
      i += 8 + len;
    }
    assert.deepEqual(frames.sort(), [[1, "dockerode-out\n"], [2, "dockerode-err\n"]]);
    const inspect = await c.inspect();
    assert.equal(inspect.State.ExitCode, 5);
    await c.remove();
    await assert.rejects(c.inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  test("a named container as dockerode's README creates one: name in the query and in the body", async () => {
    const d = new Docker({ socketPath: host.replace(/^unix:\/\//, "") });
    const name = `dockerode-named-${process.pid}`;
    // dockerode copies `name` into the query and leaves it in the body too, which is no field of
    // the Docker API: dockerd ignores it, and so must berth.
    const c = await d.createContainer({ name, Image: "busybox", Cmd: ["echo", "named"], HostConfig: { NetworkMode: "none" } } as Docker.ContainerCreateOptions);
    try {
      assert.equal((await c.inspect()).Name, `/${name}`);
      assert.equal((await d.getContainer(name).inspect()).Id, c.id);
      await c.start();
      assert.equal((await c.wait()).StatusCode, 0);
    } finally {
      await c.remove({ force: true });
    }
  });
});
