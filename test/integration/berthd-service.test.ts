// berthd as a service manager runs it: a daemon.json (dockerd's keys; errors at start name the
// key), SIGHUP reloading labels/debug/mirrors without stopping, sd_notify's READY=1 on a
// NOTIFY_SOCKET bound here (python3: Node cannot bind unix datagram sockets), --pidfile, the
// docker group on the socket, /info reporting the host, and socket activation by
// systemd-socket-activate with the docker CLI as the first client.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { berthdCommand, startBerthd, type Berthd } from "../helpers/berthd.js";
import { runDocker } from "../helpers/docker-cli.js";

const repo = new URL("../..", import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(path.join(repo, "package.json"), "utf8")) as { version: string };
let dir: string;

before(async () => { dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-svc-")); });
after(async () => { await fs.rm(dir, { recursive: true, force: true }); });

/** berthd run to completion (for errors at start and -v): nothing is started before they show. */
function berthdOnce(args: string[]) {
  const r = spawnSync(process.execPath, [...berthdCommand(), ...args], { cwd: repo, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A unix datagram socket bound by python3; every datagram it receives, in order. */
async function notifySocket(file: string): Promise<{ messages: string[]; close(): void; waitFor(m: string): Promise<void> }> {
  const py = "import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('bound',flush=True)\nwhile True:\n  print(s.recv(4096).decode().replace('\\n','|'),flush=True)\n";
  const child: ChildProcess = spawn("python3", ["-c", py, file], { stdio: ["ignore", "pipe", "inherit"] });
  const messages: string[] = [];
  let buf = "";
  let bound!: () => void;
  const ready = new Promise<void>((r) => (bound = r));
  child.stdout!.on("data", (c: Buffer) => {
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line === "bound") bound(); else messages.push(line);
    }
  });
  await ready;
  return {
    messages,
    close: () => { child.kill("SIGKILL"); },
    async waitFor(m) {
      const end = Date.now() + 20_000;
      while (!messages.some((x) => x.split("|").includes(m))) {
        if (Date.now() > end) throw new Error(`no ${m} on the notify socket: ${JSON.stringify(messages)}`);
        await sleep(50);
      }
    },
  };
}

describe("start-up errors name what is wrong", () => {
  test("-v prints the version from package.json", () => {
    const r = berthdOnce(["-v"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `berthd version ${pkg.version}\n`);
  });

  test("unknown and unsupported keys, a flag also in the file, live-restore false, a missing explicit file", async () => {
    const cases: [object | undefined, string[], RegExp][] = [
      [{ "data-rot": "/x" }, [], /the following directives don't match any configuration option: data-rot/],
      [{ "default-runtime": "runc" }, [], /not supported by berth: default-runtime/],
      [{ labels: ["a=b"], "log-level": "warn" }, ["-l", "debug"], /specified both as a flag and in the configuration file: log-level: \(from flag: debug, from file: warn\)/],
      [{ "live-restore": false }, [], /"live-restore": false is not supported by berth/],
      [undefined, [], /cannot read the configuration file .*missing.json/],
    ];
    for (const [i, [content, args, why]] of cases.entries()) {
      const file = path.join(dir, content ? `bad-${i}.json` : "missing.json");
      if (content) await fs.writeFile(file, JSON.stringify(content));
      const r = berthdOnce(["--config-file", file, "--root", path.join(dir, `root-${i}`), ...args]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, why);
      assert.equal(existsSync(path.join(dir, `root-${i}`)), false, "nothing was started or created");
    }
  });
});

describe("a configured berthd: daemon.json, sd_notify, --pidfile, SIGHUP", () => {
  let b: Berthd;
  let notify: Awaited<ReturnType<typeof notifySocket>>;
  let config: string;
  let pidfile: string;

  before(async () => {
    config = path.join(dir, "daemon.json");
    pidfile = path.join(dir, "run", "berthd.pid");
    await fs.writeFile(config, JSON.stringify({ labels: ["tier=test"], "max-concurrent-downloads": 2, "log-format": "text" }));
    notify = await notifySocket(path.join(dir, "notify.sock"));
    process.env.NOTIFY_SOCKET = path.join(dir, "notify.sock");
    try {
      b = await startBerthd({ label: "svc", args: ["--config-file", config, "--pidfile", pidfile] });
    } finally {
      delete process.env.NOTIFY_SOCKET;
    }
  });
  after(async () => {
    await b?.destroy();
    notify?.close();
  });

  const info = async () => JSON.parse((await b.request("GET", "/info")).body) as Record<string, unknown>;

  test("READY=1 (with MAINPID) reaches the notify socket once the API answers", async () => {
    await notify.waitFor("READY=1");
    // Only berthd notifies: its containerd (which would send its own READY=1) does not see the socket.
    assert.deepEqual(notify.messages, [`READY=1|MAINPID=${b.pid}`]);
  });

  test("the pid file holds berthd's pid; a second berthd with it is refused", () => {
    assert.equal(readFileSync(pidfile, "utf8"), `${b.pid}\n`);
    const r = berthdOnce(["--pidfile", pidfile, "--root", path.join(dir, "second"), "-H", `unix://${path.join(dir, "second.sock")}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /pid file found, ensure berthd is not running/);
  });

  test("the log is text (logfmt) as the file asks; the socket belongs to the docker group when it exists", async () => {
    assert.match(b.log(), /^time="[^"]+" level=info msg="berthd ready"/m);
    const docker = readFileSync("/etc/group", "utf8").split("\n").find((l) => l.startsWith("docker:"));
    const st = await fs.stat(b.socket);
    assert.equal(st.gid, docker ? Number(docker.split(":")[2]) : 0);
    assert.equal(st.mode & 0o777, 0o660);
  });

  test("/info: the file's labels, and the host's forwarding, bridge netfilter and cgroup facts", async () => {
    const i = await info();
    assert.deepEqual(i.Labels, ["tier=test"]);
    assert.equal(i.Debug, false);
    const procBool = (p: string) => existsSync(p) && readFileSync(p, "utf8").trim() === "1";
    assert.equal(i.IPv4Forwarding, procBool("/proc/sys/net/ipv4/ip_forward"));
    assert.equal(i.BridgeNfIptables, procBool("/proc/sys/net/bridge/bridge-nf-call-iptables"));
    assert.equal(i.BridgeNfIp6tables, procBool("/proc/sys/net/bridge/bridge-nf-call-ip6tables"));
    const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
    assert.equal(i.CgroupVersion, v2 ? "2" : "1");
    if (!v2) assert.equal(i.OomKillDisable, existsSync("/sys/fs/cgroup/memory/memory.oom_control"));
    const r = await runDocker(b.dockerHost, ["info"]);
    assert.equal(r.code, 0, r.stderr);
    if (procBool("/proc/sys/net/ipv4/ip_forward")) assert.doesNotMatch(r.stdout + r.stderr, /IPv4 forwarding is disabled/);
    assert.match(r.stdout, /Labels:\n\s+tier=test/);
  });

  test("SIGHUP reloads labels, debug and mirrors, logs what changed, and berthd stays up", async () => {
    await fs.writeFile(config, JSON.stringify({ labels: ["tier=reloaded"], debug: true, "registry-mirrors": ["https://mirror.example.com"], "log-format": "text" }));
    const before = notify.messages.length;
    process.kill(b.pid, "SIGHUP");
    const end = Date.now() + 20_000;
    let i = await info();
    while (JSON.stringify(i.Labels) !== JSON.stringify(["tier=reloaded"])) {
      if (Date.now() > end) throw new Error(`labels not reloaded: ${JSON.stringify(i.Labels)}\n${b.log().slice(-2000)}`);
      await sleep(100);
      i = await info();
    }
    assert.equal(i.Debug, true);
    assert.deepEqual((i.RegistryConfig as { Mirrors: string[] }).Mirrors, ["https://mirror.example.com/"]);
    assert.match(b.log(), /msg="configuration reloaded: labels, debug, registry-mirrors" file=\S+ changed=".*tier=reloaded/);
    const after = notify.messages.slice(before).map((m) => m.split("|")[0]);
    assert.deepEqual(after.slice(0, 2), ["RELOADING=1", "READY=1"]);
    assert.equal((await b.request("GET", "/_ping")).status, 200);
    // A broken file: logged, nothing changes, still up.
    await fs.writeFile(config, "{ broken");
    process.kill(b.pid, "SIGHUP");
    const until = Date.now() + 20_000;
    while (!/configuration reload failed, nothing changed/.test(b.log())) {
      if (Date.now() > until) throw new Error(`no reload failure logged:\n${b.log().slice(-2000)}`);
      await sleep(100);
    }
    assert.deepEqual((await info()).Labels, ["tier=reloaded"]);
  });

  test("stopped: STOPPING=1 is sent and the pid file is removed", async () => {
    await b.stop();
    await notify.waitFor("STOPPING=1");
    assert.equal(existsSync(pidfile), false);
  });
});

describe("socket activation (systemd-socket-activate stands in for systemd)", () => {
  test("berthd started on the first connection serves -H fd://; the docker CLI is that client", { skip: !existsSync("/usr/bin/systemd-socket-activate") && "systemd-socket-activate is not installed" }, async () => {
    const sock = path.join(dir, "activated.sock");
    const root = path.join(dir, "activated-root");
    const ns = `berth-sa${process.pid}`;
    await fs.writeFile(path.join(dir, "empty.json"), "{}");
    const child = spawn("/usr/bin/systemd-socket-activate", [
      "-l", sock, "-E", `PATH=${process.env.PATH}`, "-E", "HOME=/root",
      process.execPath, ...berthdCommand(), "-H", "fd://", "--root", root, "--bridge", "none", "--containerd-namespace", ns,
      "--config-file", path.join(dir, "empty.json"), "--log-format", "json",
    ], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout!.on("data", (c: Buffer) => (log += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (log += c.toString()));
    const exited = new Promise((r) => child.once("exit", r));
    try {
      const end = Date.now() + 10_000;
      while (!existsSync(sock)) {
        if (Date.now() > end) throw new Error(`systemd-socket-activate did not listen:\n${log}`);
        await sleep(50);
      }
      // berthd is not running yet: this request starts it and waits in the socket's backlog.
      const v = await runDocker(`unix://${sock}`, ["version", "--format", "{{.Server.Version}}"]);
      assert.equal(v.code, 0, `${v.stderr}\n${log}`);
      assert.equal(v.stdout.trim(), pkg.version);
      assert.match(log, /"sockets":\["fd:\/\/3"\]/);
      const ps = await runDocker(`unix://${sock}`, ["ps", "-a", "--format", "{{.ID}}"]);
      assert.equal(ps.code, 0, ps.stderr);
      assert.equal(ps.stdout.trim(), "");
    } finally {
      // systemd-socket-activate execs berthd in its own process: that pid is berthd's.
      if (child.exitCode === null) child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(t);
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
