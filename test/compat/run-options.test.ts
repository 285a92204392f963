// `docker run` options that shape the container's OCI spec, through the real docker CLI, each
// asserted by its effect inside the running container. The same tests run against dockerd with
// COMPAT_DOCKER_HOST=unix:///path/docker.sock (e.g. dockerd 20.10 from
// ../shared/bench/bench-env-dockerd.sh, with busybox:latest loaded).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Berthd } from "../helpers/berthd.js";
import { startCompatBerthd } from "../helpers/compat.js";
import { DOCKER, runDocker } from "../helpers/docker-cli.js";
import { HOST_CGROUP_VERSION, ONLY_V1 } from "../helpers/cgroups.js";

const HAVE_CLI = existsSync(DOCKER);
let b: Berthd | undefined;
let host = process.env.COMPAT_DOCKER_HOST ?? "";
let tmp: string;
const NET = ["--network", "none"];

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-run-options-"));
  if (!host) {
    ({ berthd: b, host } = await startCompatBerthd("run-options", tmp));
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

  test("--init: docker-init (tini) is PID 1, the command its child; signals forwarded, exit code kept; exec unaffected", async () => {
    const out = await run([...NET, "--init"], "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$; grep ' /sbin/docker-init ' /proc/self/mountinfo");
    const [cmdline, shPid, mount] = out.split("\n");
    assert.equal(cmdline, "/sbin/docker-init -- sh -c cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$; grep ' /sbin/docker-init ' /proc/self/mountinfo ");
    assert.notEqual(shPid, "1", "the command is not PID 1");
    assert.match(mount!, /tini-static \/sbin\/docker-init ro,/);
    const r = await docker(["run", "--rm", ...NET, "--init", "busybox", "sh", "-c", "exit 7"]);
    assert.equal(r.code, 7);
    const name = `init-${process.pid}`;
    assert.equal((await docker(["run", "-d", "--name", name, ...NET, "--init", "busybox", "sleep", "100"])).code, 0);
    try {
      assert.equal((await docker(["inspect", "-f", "{{.HostConfig.Init}}", name])).stdout, "true\n");
      // exec runs outside the init's tree: its parent is outside the PID namespace (0), not 1.
      assert.equal((await docker(["exec", name, "sh", "-c", "echo $PPID"])).stdout, "0\n");
      // sleep as PID 1 would ignore SIGTERM until the 10 s timeout; under the init it gets it.
      const t0 = Date.now();
      assert.equal((await docker(["stop", name])).code, 0);
      assert.ok(Date.now() - t0 < 5000, `stop took ${Date.now() - t0} ms`);
      assert.equal((await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout, "143\n");
    } finally {
      await docker(["rm", "-f", name]);
    }
  });

  test("--pid/--ipc/--network container:X join X's namespaces; X must exist and run", async () => {
    const x = `donor-${process.pid}`;
    const y = `donor-stopped-${process.pid}`;
    assert.equal((await docker(["run", "-d", "--name", x, ...NET, "--ipc", "shareable", "busybox", "sh", "-c", "exec sleep 100"])).code, 0);
    assert.equal((await docker(["create", "--name", y, ...NET, "busybox", "sleep", "100"])).code, 0);
    try {
      const xid = (await docker(["inspect", "-f", "{{.Id}}", x])).stdout.trim();
      const ns = async (t: string) => (await docker(["exec", x, "readlink", `/proc/self/ns/${t}`])).stdout;
      const ps = await run(["--pid", `container:${x}`, ...NET], "ps -o pid,args");
      assert.match(ps, /^\s*1 sleep 100$/m, "X's PID 1 is visible");
      assert.equal(await run(["--pid", `container:${x}`, ...NET], "readlink /proc/self/ns/pid"), await ns("pid"));
      assert.equal(await run(["--ipc", `container:${x}`, ...NET], "readlink /proc/self/ns/ipc"), await ns("ipc"));
      assert.notEqual(await run(NET, "readlink /proc/self/ns/ipc"), await ns("ipc"));
      const net = await run(["--network", `container:${x}`], "readlink /proc/self/ns/net; hostname");
      assert.equal(net, `${await ns("net")}${xid.slice(0, 12)}\n`);
      // the reference is stored as the full ID, as dockerd does
      const c = `joiner-${process.pid}`;
      assert.equal((await docker(["create", "--name", c, "--pid", `container:${x}`, "--ipc", `container:${x}`, "--network", `container:${x}`, "busybox", "true"])).code, 0);
      const modes = (await docker(["inspect", "-f", "{{.HostConfig.PidMode}} {{.HostConfig.IpcMode}} {{.HostConfig.NetworkMode}}", c])).stdout;
      await docker(["rm", "-f", c]);
      assert.equal(modes, `container:${xid} container:${xid} container:${xid}\n`);

      assert.match((await fails(["--pid", "container:no-such-donor", ...NET])).stderr, /No such container: no-such-donor/);
      assert.match((await fails(["--pid", `container:${y}`, ...NET])).stderr, /container [0-9a-f]{64} is not running/);
      assert.match((await fails(["--ipc", `container:${y}`, ...NET])).stderr, /can't join IPC of container [0-9a-f]{64}: container [0-9a-f]{64} is not running/);
      assert.match((await fails(["--network", `container:${y}`])).stderr, /cannot join network of a non running container: [0-9a-f]{64}/);
      assert.match((await fails(["--network", `container:${x}`, "-h", "foo"])).stderr, /conflicting options: hostname and the network mode/);
      assert.match((await fails(["--network", `container:${x}`, "-p", "80"])).stderr, /conflicting options: port publishing and the container type network mode/);
      await docker(["start", y]);
      assert.match((await fails(["--ipc", `container:${y}`, ...NET])).stderr, /non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/);
    } finally {
      await docker(["rm", "-f", x, y]);
    }
  });

  test("--volumes-from X[:ro|:rw] mounts X's volumes and binds; ro makes them read-only", async () => {
    const x = `vf-donor-${process.pid}`;
    const bindDir = await fs.mkdtemp(path.join(tmp, "bind-"));
    await fs.writeFile(path.join(bindDir, "f"), "from the host\n");
    const r = await docker(["create", "--name", x, ...NET, "-v", "/data", "-v", `${bindDir}:/bound`, "busybox", "true"]);
    assert.equal(r.code, 0, r.stderr);
    try {
      assert.equal(await run([...NET, "--volumes-from", x], "echo kept > /data/v; cat /bound/f"), "from the host\n");
      assert.equal(await run([...NET, "--volumes-from", `${x}:rw`], "cat /data/v"), "kept\n", "the same volume");
      const ro = await docker(["run", "--rm", ...NET, "--volumes-from", `${x}:ro`, "busybox", "sh", "-c", "cat /data/v; touch /data/w /bound/w"]);
      assert.equal(ro.stdout, "kept\n");
      assert.match(ro.stderr, /Read-only file system/);
      // Its own -v wins at the same destination.
      assert.equal(await run([...NET, "--volumes-from", x, "-v", `${tmp}:/data`], "ls /data | grep -c bind- || true"), "1\n");
      const c = `vf-${process.pid}`;
      assert.equal((await docker(["create", "--name", c, ...NET, "--volumes-from", `${x}:ro`, "busybox", "true"])).code, 0);
      const j = JSON.parse((await docker(["inspect", c])).stdout)[0];
      await docker(["rm", c]);
      assert.deepEqual(j.HostConfig.VolumesFrom, [`${x}:ro`]);
      const mounts = (j.Mounts as { Destination: string; RW: boolean; Type: string; Mode: string }[]).map((m) => `${m.Type} ${m.Destination} ${m.RW} ${m.Mode}`).sort();
      assert.deepEqual(mounts, ["bind /bound false ", "volume /data false "]);
      assert.match((await fails([...NET, "--volumes-from", "no-such-donor"])).stderr, /No such container: no-such-donor/);
      assert.match((await fails([...NET, "--volumes-from", `${x}:xx`])).stderr, /invalid mode: xx/);
    } finally {
      await docker(["rm", "-v", x]);
    }
  });

  test("--link db:alias: the legacy variables and /etc/hosts entry; the linked container must run", async () => {
    const db = `link-db-${process.pid}`;
    const me = `link-me-${process.pid}`;
    const r = await docker(["run", "-d", "--name", db, "--expose", "5432", "--expose", "53/udp", "-e", "FOO=bar", "busybox", "sleep", "100"]);
    assert.equal(r.code, 0, r.stderr);
    try {
      const ip = (await docker(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", db])).stdout.trim();
      assert.equal((await docker(["create", "--name", me, "--link", `${db}:my-db`, "busybox", "sh", "-c", "env | grep ^MY_DB_ | sort; grep my-db /etc/hosts || true"])).code, 0);
      assert.deepEqual(JSON.parse((await docker(["inspect", "-f", "{{json .HostConfig.Links}}", me])).stdout), [`/${db}:/${me}/my-db`]);
      const out = (await docker(["start", "-a", me])).stdout;
      const expected = [
        "MY_DB_ENV_FOO=bar", `MY_DB_NAME=/${me}/my-db`, `MY_DB_PORT=udp://${ip}:53`,
        `MY_DB_PORT_53_UDP=udp://${ip}:53`, `MY_DB_PORT_53_UDP_ADDR=${ip}`, "MY_DB_PORT_53_UDP_PORT=53", "MY_DB_PORT_53_UDP_PROTO=udp",
        `MY_DB_PORT_5432_TCP=tcp://${ip}:5432`, `MY_DB_PORT_5432_TCP_ADDR=${ip}`, "MY_DB_PORT_5432_TCP_PORT=5432", "MY_DB_PORT_5432_TCP_PROTO=tcp",
      ];
      const lines = out.trim().split("\n");
      assert.deepEqual(lines.slice(0, expected.length), expected);
      // The alias resolves through /etc/hosts where the linked container has an address (these
      // daemons run with --bridge none: it has none, and the variables carry an empty address).
      if (ip) assert.match(lines[expected.length] ?? "", new RegExp(`^${ip.replaceAll(".", "\\.")}\\s.*\\bmy-db\\b`));
      assert.equal((await docker(["stop", "-t", "0", db])).code, 0);
      const again = await docker(["start", me]);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, new RegExp(`Cannot link to a non running container: /${db} AS /${me}/my-db`));
      // docker rm --link forgets the link: the container starts again without it.
      assert.equal((await docker(["rm", "--link", `/${me}/my-db`])).code, 0);
      assert.equal((await docker(["inspect", "-f", "{{json .HostConfig.Links}}", me])).stdout, "null\n");
      assert.match((await docker(["rm", "--link", `/${me}/my-db`])).stderr, new RegExp(`No such container: ${me}/my-db`));
      assert.equal((await docker(["start", me])).code, 0);
      assert.match((await fails(["--link", "no-such-db:x"])).stderr, /could not get container for no-such-db/);
      assert.match((await fails(["--network", "host", "--link", `${db}:x`])).stderr, /conflicting options: host type networking can't be used with links/);
    } finally {
      await docker(["rm", "-f", me, db]);
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
      assert.equal(j.Isolation, "", "no --isolation: empty, as dockerd 20.10 shows it");
    } finally {
      await docker(["rm", "-f", name]);
    }
    const iso = `iso-${process.pid}`;
    assert.equal((await docker(["create", "--name", iso, ...NET, "--isolation", "default", "busybox", "true"])).code, 0);
    try {
      assert.equal((await docker(["inspect", "-f", "{{.HostConfig.Isolation}}", iso])).stdout, "default\n");
    } finally {
      await docker(["rm", "-f", iso]);
    }
  });
});
