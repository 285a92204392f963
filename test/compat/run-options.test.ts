// `docker run` options that shape the container's OCI spec, through the real docker CLI, each
// asserted by its effect inside the running container. The same tests run against dockerd with
// COMPAT_DOCKER_HOST=unix:///path/docker.sock (e.g. dockerd 20.10 from
// ../shared/bench/bench-env-dockerd.sh, with busybox:latest loaded).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startBerthd, type Berthd } from "../helpers/berthd.js";
import { DOCKER, runDocker } from "../helpers/docker-cli.js";
import { HOST_CGROUP_VERSION, ONLY_V1 } from "../helpers/cgroups.js";

const pexec = promisify(execFile);

const HAVE_CLI = existsSync(DOCKER);
let b: Berthd | undefined;
let host = process.env.COMPAT_DOCKER_HOST ?? "";
let tmp: string;
const NET = ["--network", "none"];

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-run-options-"));
  if (!host) {
    b = await startBerthd({ label: "run-options" });
    host = b.dockerHost;
    const tar = path.join(tmp, "busybox.tar");
    await pexec(process.execPath, ["--import", "tsx", "scripts/busybox-image.ts", tar], { cwd: new URL("../..", import.meta.url).pathname });
    if (HAVE_CLI) await docker(["load", "-i", tar]);
  }
});
after(async () => {
  await b?.destroy();
  await fs.rm(tmp, { recursive: true, force: true });
});

function docker(args: string[]) {
  return runDocker(host, args);
}
/** `docker run --rm ARGS busybox sh -c SCRIPT`: its stdout, asserting exit 0. */
async function run(args: string[], script: string): Promise<string> {
  const r = await docker(["run", "--rm", ...args, "busybox", "sh", "-c", script]);
  assert.equal(r.code, 0, `docker run ${args.join(" ")} sh -c '${script}' failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
/** The same, expected to fail: exit code and stderr. */
async function fails(args: string[], script = "true"): Promise<{ code: number; stderr: string }> {
  const r = await docker(["run", "--rm", ...args, "busybox", "sh", "-c", script]);
  assert.notEqual(r.code, 0, `docker run ${args.join(" ")} unexpectedly succeeded: ${r.stdout}`);
  return r;
}
const statusField = (status: string, field: string) => new RegExp(`^${field}:\\s*(\\S+)`, "m").exec(status)?.[1];

describe("docker run spec options", { skip: HAVE_CLI ? false : `no docker CLI at ${DOCKER}` }, () => {
  test("--ulimit nofile=1024:2048 sets the soft and hard limits", async () => {
    assert.equal(await run([...NET, "--ulimit", "nofile=1024:2048"], "ulimit -n; ulimit -Hn"), "1024\n2048\n");
    assert.equal(await run([...NET, "--ulimit", "nproc=77"], "ulimit -u"), "77\n");
  });

  test("--shm-size sizes /dev/shm; the default is 64 MiB", async () => {
    const size = (out: string) => out.trim().split("\n")[1]!.split(/\s+/)[1];
    assert.equal(size(await run([...NET, "--shm-size", "128m"], "df -k /dev/shm")), String(128 * 1024));
    assert.equal(size(await run(NET, "df -k /dev/shm")), String(64 * 1024));
  });

  test("--privileged: every capability, the host's devices, /sys writable, nothing masked", async () => {
    const priv = await run([...NET, "--privileged"], "cat /proc/self/status; grep -E ' /sys (sysfs|cgroup)' /proc/mounts; grep -c ' /proc/keys ' /proc/mounts; ls /dev");
    // CAP_CHOWN..CAP_AUDIT_READ (38 capabilities), dockerd 20.10's "all" — of those the host
    // grants: where its bounding set lacks one, dockerd fails to start the container.
    const hostBounding = BigInt(`0x${statusField(readFileSync("/proc/self/status", "utf8"), "CapBnd")}`);
    const all = (hostBounding & 0x3fffffffffn).toString(16).padStart(16, "0");
    assert.equal(statusField(priv, "CapEff"), all);
    assert.equal(statusField(priv, "CapBnd"), all);
    assert.match(priv, /^sysfs \/sys sysfs rw,/m);
    assert.match(priv, /^0$/m, "/proc/keys is not masked");
    assert.match(priv, /^loop-control$/m, "a host device node is there");
    const plain = await run(NET, "cat /proc/self/status; grep -E ' /sys sysfs' /proc/mounts; grep -c ' /proc/keys ' /proc/mounts; ls /dev");
    assert.equal(statusField(plain, "CapEff"), "00000000a80425fb");
    assert.match(plain, /^sysfs \/sys sysfs ro,/m);
    assert.match(plain, /^1$/m, "/proc/keys is masked");
    assert.doesNotMatch(plain, /^loop-control$/m);
  });

  test("--security-opt systempaths=unconfined: no masked or read-only paths", async () => {
    const out = await run([...NET, "--security-opt", "systempaths=unconfined"], "grep -c -E ' /proc/(keys|sys) ' /proc/mounts || true");
    assert.equal(out, "0\n");
  });

  test("--device /dev/null:/dev/mynull creates the node; :r allows reads only", async () => {
    const out = await run([...NET, "--device", "/dev/null:/dev/mynull"], "ls -l /dev/mynull; echo hi > /dev/mynull && echo written");
    assert.match(out, /^crw-rw-rw-\s+1 root\s+root\s+1,\s+3 .* \/dev\/mynull$/m);
    assert.match(out, /^written$/m);
    // loop-control (10:237) is outside the default cgroup rules, so the mode given is all it gets.
    const ro = await docker(["run", "--rm", ...NET, "--device", "/dev/loop-control:/dev/lc:r", "busybox", "sh", "-c", "ls -l /dev/lc; (exec 3</dev/lc) && echo opened; echo x > /dev/lc"]);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stdout, /^c\S+\s+1 root\s+\S+\s+10,\s*237 .* \/dev\/lc$/m);
    assert.match(ro.stdout, /^opened$/m);
    assert.match(ro.stderr, /Operation not permitted/);
  });

  test("--device-cgroup-rule allows a device the default rules do not", async () => {
    // loop-control (10:237) is outside the default allow list: opening a node of it is denied.
    const script = "mknod /tmp/lc c 10 237; (exec 3</tmp/lc) 2>&1; echo done";
    assert.match(await run(NET, script), /Operation not permitted/);
    assert.doesNotMatch(await run([...NET, "--device-cgroup-rule", "c 10:237 r"], script), /Operation not permitted/);
  });

  test("--sysctl sets namespaced sysctls; one outside the container's namespaces fails", async () => {
    assert.equal(await run([...NET, "--sysctl", "kernel.shmmax=1000000", "--sysctl", "net.ipv4.tcp_syncookies=0"], "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/tcp_syncookies"), "1000000\n0\n");
    // dockerd leaves it to runc at start, berth refuses it at create: either way the run fails.
    const r = await fails([...NET, "--ipc", "host", "--sysctl", "kernel.shmmax=1000000"]);
    assert.match(r.stderr, /sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace/);
  });

  test("--pid host: PID 1 is the host's init", async () => {
    const hostInit = readFileSync("/proc/1/cmdline", "latin1");
    assert.equal(await run([...NET, "--pid", "host"], "cat /proc/1/cmdline"), hostInit);
    assert.equal(await run(NET, "cat /proc/1/cmdline | tr '\\0' ' '"), "sh -c cat /proc/1/cmdline | tr '\\0' ' ' ");
  });

  test("--ipc host shares the host's IPC namespace and /dev/shm; --ipc none has no /dev/shm", async () => {
    const hostIpc = readlinkSync("/proc/self/ns/ipc");
    assert.equal(await run([...NET, "--ipc", "host"], "readlink /proc/self/ns/ipc"), `${hostIpc}\n`);
    assert.notEqual(await run(NET, "readlink /proc/self/ns/ipc"), `${hostIpc}\n`);
    assert.match(await run([...NET, "--ipc", "host"], "grep ' /dev/shm ' /proc/mounts"), /^\S+ \/dev\/shm tmpfs rw/m);
    assert.equal(await run([...NET, "--ipc", "none"], "grep -c ' /dev/shm ' /proc/mounts || true"), "0\n");
    assert.equal(await run([...NET, "--ipc", "shareable"], "grep -c ' /dev/shm ' /proc/mounts"), "1\n");
  });

  test("--uts host: the host's hostname; a --hostname with it is refused", async () => {
    assert.equal(await run([...NET, "--uts", "host"], "hostname"), `${os.hostname()}\n`);
    const r = await fails([...NET, "--uts", "host", "--hostname", "x"]);
    assert.match(r.stderr, /conflicting options: hostname and the UTS mode/i);
  });

  test("--group-add adds supplementary groups, by number or by the image's group name", async () => {
    assert.equal(await run([...NET, "--group-add", "1234"], "id -G"), "0 1234\n");
    assert.equal(await run([...NET, "-u", "nobody", "--group-add", "1234", "--group-add", "nogroup"], "id -G"), "65534 1234\n");
  });

  test("--group-add by name for the default user reads the image's /etc/group", async () => {
    assert.equal(await run([...NET, "--group-add", "nogroup"], "id -G"), "0 65534\n");
  });

  test("--oom-score-adj; the default is 0", async () => {
    assert.equal(await run([...NET, "--oom-score-adj", "500"], "cat /proc/self/oom_score_adj"), "500\n");
    assert.equal(await run(NET, "cat /proc/self/oom_score_adj"), "0\n");
  });

  // cgroup v2 has neither swappiness nor oom_control (cgroups.test.ts has the v2 limits).
  test("--memory-reservation, --memory-swappiness, --oom-kill-disable reach the memory cgroup", { skip: ONLY_V1 }, async () => {
    const out = await run(
      [...NET, "--memory", "64m", "--memory-reservation", "32m", "--memory-swappiness", "0", "--oom-kill-disable"],
      "cd /sys/fs/cgroup/memory && cat memory.soft_limit_in_bytes memory.swappiness && grep oom_kill_disable memory.oom_control",
    );
    assert.equal(out, `${32 * 2 ** 20}\n0\noom_kill_disable 1\n`);
  });

  test("--cgroup-parent places the container's cgroup", async () => {
    if (HOST_CGROUP_VERSION === 1) {
      const out = await run([...NET, "--cgroup-parent", "/berth-compat-parent"], "grep ':memory:' /proc/self/cgroup");
      assert.match(out, /^\d+:memory:\/berth-compat-parent\/[0-9a-f]{64}$/m);
      return;
    }
    // v2: the host's cgroup namespace to see the path; a slice under the systemd driver.
    const driver = (await docker(["info", "--format", "{{.CgroupDriver}}"])).stdout.trim();
    if (driver === "systemd") {
      const out = await run([...NET, "--cgroupns", "host", "--cgroup-parent", "berthcompat.slice"], "cat /proc/self/cgroup");
      assert.match(out, /^0::\/berthcompat\.slice\/[a-z]+-[0-9a-f]{64}\.scope$/m);
    } else {
      const out = await run([...NET, "--cgroupns", "host", "--cgroup-parent", "/berth-compat-parent"], "cat /proc/self/cgroup");
      assert.match(out, /^0::\/berth-compat-parent\/[0-9a-f]{64}$/m);
    }
  });

  test("--stop-timeout is the grace period of docker stop", async () => {
    const name = `stop-timeout-${process.pid}`;
    // sleep as PID 1 ignores SIGTERM: stop ends at the timeout with SIGKILL.
    const r = await docker(["run", "-d", "--name", name, ...NET, "--stop-timeout", "1", "busybox", "sleep", "100"]);
    assert.equal(r.code, 0, r.stderr);
    try {
      assert.equal((await docker(["inspect", "-f", "{{.Config.StopTimeout}}", name])).stdout, "1\n");
      const t0 = Date.now();
      assert.equal((await docker(["stop", name])).code, 0);
      const took = Date.now() - t0;
      assert.ok(took >= 900 && took < 6000, `stop took ${took} ms`);
    } finally {
      await docker(["rm", "-f", name]);
    }
  });

  test("inspect echoes the options", async () => {
    const name = `echo-${process.pid}`;
    const r = await docker([
      "create", "--name", name, ...NET, "--privileged", "--ulimit", "nofile=1024:2048", "--shm-size", "128m",
      "--sysctl", "net.ipv4.tcp_syncookies=0", "--pid", "host", "--ipc", "host", "--group-add", "1234", "--oom-score-adj", "7",
      "--device", "/dev/null:/dev/mynull:rw", "--cgroup-parent", "/p", "busybox", "true",
    ]);
    assert.equal(r.code, 0, r.stderr);
    try {
      const j = JSON.parse((await docker(["inspect", name])).stdout)[0].HostConfig;
      assert.equal(j.Privileged, true);
      assert.deepEqual(j.Ulimits, [{ Name: "nofile", Hard: 2048, Soft: 1024 }]);
      assert.equal(j.ShmSize, 128 * 2 ** 20);
      assert.deepEqual(j.Sysctls, { "net.ipv4.tcp_syncookies": "0" });
      assert.equal(j.PidMode, "host");
      assert.equal(j.IpcMode, "host");
      assert.deepEqual(j.GroupAdd, ["1234"]);
      assert.equal(j.OomScoreAdj, 7);
      assert.deepEqual(j.Devices, [{ PathOnHost: "/dev/null", PathInContainer: "/dev/mynull", CgroupPermissions: "rw" }]);
      assert.equal(j.CgroupParent, "/p");
      assert.equal(j.MaskedPaths, null);
    } finally {
      await docker(["rm", "-f", name]);
    }
  });
});
