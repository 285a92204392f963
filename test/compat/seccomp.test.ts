// seccomp through the real docker CLI: dockerd 20.10's default profile applies to every container,
// seccomp=unconfined and a profile file (the CLI sends its JSON) change it, docker info says so.
// Runs against any Docker-API daemon with COMPAT_DOCKER_HOST=unix:///path/docker.sock (e.g. dockerd
// 20.10 from ../shared/bench/bench-env-dockerd.sh, with busybox:latest loaded); the daemon-option
// test needs berthd itself.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startBerthd, type Berthd } from "../helpers/berthd.js";
import { DOCKER, runDocker } from "../helpers/docker-cli.js";

const pexec = promisify(execFile);
const repo = new URL("../..", import.meta.url).pathname;
const HAVE_CLI = existsSync(DOCKER);
const AGAINST_BERTH = !process.env.COMPAT_DOCKER_HOST;
const RUN = ["run", "--rm", "--network", "none"];
// Whether this kernel reports the number of filters (4.x+ kernels with the field).
const HOST_HAS_FILTER_COUNT = /^Seccomp_filters:/m.test(readFileSync("/proc/self/status", "utf8"));

let b: Berthd | undefined;
let host = process.env.COMPAT_DOCKER_HOST ?? "";
let tmp: string;
let busyboxTar: string;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-seccomp-"));
  if (!HAVE_CLI) return;
  if (AGAINST_BERTH) {
    b = await startBerthd({ label: "seccomp" });
    host = b.dockerHost;
    busyboxTar = path.join(tmp, "busybox.tar");
    await pexec(process.execPath, ["--import", "tsx", "scripts/busybox-image.ts", busyboxTar], { cwd: repo });
    await ok(["load", "-i", busyboxTar]);
  }
});
after(async () => {
  await b?.destroy();
  await fs.rm(tmp, { recursive: true, force: true });
});

const docker = (args: string[], h = host) => runDocker(h, args);
async function ok(args: string[], h = host): Promise<string> {
  const r = await docker(args, h);
  assert.equal(r.code, 0, `docker ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** The Seccomp lines of /proc/self/status of a process in a container run with `opts`. */
async function seccompStatus(opts: string[], h = host): Promise<string> {
  return ok([...RUN, ...opts, "busybox", "grep", "^Seccomp", "/proc/self/status"], h);
}

function expectFiltered(status: string, filtered: boolean): void {
  assert.match(status, filtered ? /^Seccomp:\t2$/m : /^Seccomp:\t0$/m);
  if (HOST_HAS_FILTER_COUNT) assert.match(status, filtered ? /^Seccomp_filters:\t1$/m : /^Seccomp_filters:\t0$/m);
}

// `unshare -U` creates a user namespace: no capability is needed, but dockerd's default profile
// allows unshare(2) only with CAP_SYS_ADMIN, so it is the call the profile itself denies.
const UNSHARE = ["busybox", "unshare", "-U", "true"];

describe("seccomp (docker CLI)", { skip: HAVE_CLI ? false : `no docker CLI at ${DOCKER}` }, () => {
  test("every container runs under one seccomp filter by default, exec'd processes too", async () => {
    expectFiltered(await seccompStatus([]), true);
    const name = `seccomp-exec-${process.pid}`;
    await ok(["run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60"]);
    try {
      expectFiltered(await ok(["exec", name, "grep", "^Seccomp", "/proc/self/status"]), true);
    } finally {
      await docker(["rm", "-f", name]);
    }
  });

  test("seccomp=unconfined: no filter", async () => {
    expectFiltered(await seccompStatus(["--security-opt", "seccomp=unconfined"]), false);
  });

  // dockerd 20.10 cannot start a privileged container on a host whose bounding set lacks a
  // capability it grants (runc: unable to apply caps); berth grants what berthd holds.
  test("--privileged: no filter", { skip: AGAINST_BERTH ? false : "dockerd 20.10 cannot run --privileged on a host without every capability" }, async () => {
    expectFiltered(await seccompStatus(["--privileged"]), false);
  });

  test("the default profile denies unshare(CLONE_NEWUSER) with EPERM; unconfined or CAP_SYS_ADMIN allow it", async () => {
    const denied = await docker([...RUN, ...UNSHARE]);
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(denied.stderr, /unshare\(0x10000000\): Operation not permitted/);
    await ok([...RUN, "--security-opt", "seccomp=unconfined", ...UNSHARE]);
    // With the capability the profile keeps its unshare/mount/setns group.
    await ok([...RUN, "--cap-add", "SYS_ADMIN", ...UNSHARE]);
  });

  test("a profile file: the CLI sends its JSON, the daemon applies it", async () => {
    const file = path.join(tmp, "no-mkdir.json");
    await fs.writeFile(file, JSON.stringify({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }],
    }, null, 2));
    const r = await docker([...RUN, "--security-opt", `seccomp=${file}`, "busybox", "sh", "-c",
      "grep ^Seccomp /proc/self/status; mkdir /tmp/d; echo mkdir=$?; touch /tmp/f && echo touched; unshare -U true && echo unshared"]);
    assert.equal(r.code, 0, r.stderr);
    expectFiltered(r.stdout, true);
    assert.match(r.stdout, /^mkdir=1$/m);
    assert.match(r.stderr, /can't create directory '\/tmp\/d': Operation not permitted/);
    // Everything else is allowed: this profile replaces the default one.
    assert.match(r.stdout, /^touched$/m);
    assert.match(r.stdout, /^unshared$/m);
  });

  test("a profile dockerd refuses is refused with dockerd's message", async () => {
    const file = path.join(tmp, "both.json");
    await fs.writeFile(file, JSON.stringify({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64"],
      archMap: [{ architecture: "SCMP_ARCH_X86_64", subArchitectures: [] }],
    }));
    const r = await docker([...RUN, "--security-opt", `seccomp=${file}`, "busybox", "true"]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /'architectures' and 'archMap' were specified in the seccomp profile/);
  });

  test("docker info lists the default profile", async () => {
    const opts = JSON.parse(await ok(["info", "--format", "{{json .SecurityOptions}}"])) as string[];
    assert.ok(opts.includes("name=seccomp,profile=default"), JSON.stringify(opts));
  });

  test("berthd --seccomp-profile FILE: the daemon's default, named in docker info", { skip: AGAINST_BERTH ? false : "berthd only" }, async () => {
    const file = path.join(tmp, "daemon-profile.json");
    await fs.writeFile(file, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }] }));
    const d = await startBerthd({ label: "seccomp-d", args: ["--seccomp-profile", file] });
    try {
      const h = d.dockerHost;
      await ok(["load", "-i", busyboxTar], h);
      const opts = JSON.parse(await ok(["info", "--format", "{{json .SecurityOptions}}"], h)) as string[];
      assert.deepEqual(opts.filter((o) => o.startsWith("name=seccomp")), [`name=seccomp,profile=${file}`]);
      const mk = await docker([...RUN, "busybox", "sh", "-c", "mkdir /tmp/d; echo mkdir=$?; unshare -U true && echo unshared"], h);
      assert.match(mk.stdout, /^mkdir=1\nunshared$/m);
      // seccomp=builtin (the CLI's name for the default) is dockerd's profile, not the daemon's.
      const builtin = await docker([...RUN, "--security-opt", "seccomp=builtin", "busybox", "sh", "-c", "mkdir /tmp/d && echo made; unshare -U true"], h);
      assert.match(builtin.stdout, /^made$/m);
      assert.match(builtin.stderr, /Operation not permitted/);
    } finally {
      await d.destroy();
    }
  });
});
