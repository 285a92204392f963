// Daemon-wide security options through the real docker CLI, against berthd started with them:
// --no-new-privileges, --default-ulimit, --userns-remap default (the container's root is an
// unprivileged host uid; volumes and docker cp keep working; --userns host opts out) and AppArmor
// (applied where the host has it; refused by name where it does not). berthd itself is needed:
// the flags are the daemon's.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startBerthd, type Berthd } from "../helpers/berthd.js";
import { DOCKER, runDocker } from "../helpers/docker-cli.js";
import { appArmorParser } from "../../src/daemon/apparmor-host.js";
import { parseSubIds } from "../../src/daemon/userns.js";

const pexec = promisify(execFile);
const repo = new URL("../..", import.meta.url).pathname;
const HAVE_CLI = existsSync(DOCKER);
const APPARMOR = appArmorParser() !== undefined;
const RUN = ["run", "--rm", "--network", "none"];

let tmp: string;
let busyboxTar: string;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-dsec-"));
  if (!HAVE_CLI) return;
  busyboxTar = path.join(tmp, "busybox.tar");
  await pexec(process.execPath, ["--import", "tsx", "scripts/busybox-image.ts", busyboxTar], { cwd: repo });
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function ok(host: string, args: string[]): Promise<string> {
  const r = await runDocker(host, args);
  assert.equal(r.code, 0, `docker ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** The Uid/Gid lines' real ids of a host process. */
function hostIds(pid: number): { uid: number; gid: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  return { uid: Number(/^Uid:\s+(\d+)/m.exec(s)![1]), gid: Number(/^Gid:\s+(\d+)/m.exec(s)![1]) };
}

/** A GET on berthd's socket, the body as bytes (a tar). */
function getBytes(b: Berthd, p: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: b.socket, method: "GET", path: p }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("daemon-wide defaults (docker CLI)", { skip: HAVE_CLI ? false : `no docker CLI at ${DOCKER}` }, () => {
  let b: Berthd;
  let host: string;
  before(async () => {
    b = await startBerthd({ label: "dsec", args: ["--no-new-privileges", "--default-ulimit", "nofile=1234:2345", "--default-ulimit", "nproc=500:600"] });
    host = b.dockerHost;
    await ok(host, ["load", "-i", busyboxTar]);
  });
  after(async () => {
    await b?.destroy();
  });

  test("--no-new-privileges: every container has NoNewPrivs 1; no-new-privileges=false opts out", async () => {
    assert.match(await ok(host, [...RUN, "busybox", "grep", "NoNewPrivs", "/proc/self/status"]), /^NoNewPrivs:\t1$/m);
    assert.match(await ok(host, [...RUN, "--security-opt", "no-new-privileges=false", "busybox", "grep", "NoNewPrivs", "/proc/self/status"]), /^NoNewPrivs:\t0$/m);
  });

  test("--default-ulimit: the defaults apply; a container's own ulimit of that name wins, the others stay", async () => {
    assert.equal(await ok(host, [...RUN, "busybox", "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu"]), "1234\n2345\n500\n600\n");
    assert.equal(await ok(host, [...RUN, "--ulimit", "nofile=100:200", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -u"]), "100\n200\n500\n");
    // As dockerd: the defaults are applied to the spec, not written into the container's HostConfig.
    const id = (await ok(host, ["create", "--network", "none", "busybox", "true"])).trim();
    try {
      assert.equal((await ok(host, ["inspect", "-f", "{{json .HostConfig.Ulimits}}", id])).trim(), "null");
    } finally {
      await runDocker(host, ["rm", id]);
    }
  });

  test("AppArmor: docker info lists it only where the host has it; a named profile is refused without it", async () => {
    const opts = JSON.parse(await ok(host, ["info", "--format", "{{json .SecurityOptions}}"])) as string[];
    assert.equal(opts.includes("name=apparmor"), APPARMOR);
    assert.ok(opts.includes("name=seccomp,profile=default"), opts.join(","));
    const unconfined = await runDocker(host, [...RUN, "--security-opt", "apparmor=unconfined", "busybox", "true"]);
    assert.equal(unconfined.code, 0, unconfined.stderr);
    if (!APPARMOR) {
      const r = await runDocker(host, [...RUN, "--security-opt", "apparmor=docker-default", "busybox", "true"]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /AppArmor is not enabled on this host/);
    }
  });

  test("AppArmor: a container runs under docker-default, a privileged one unconfined", { skip: APPARMOR ? false : "AppArmor is not enabled on this host (/sys/module/apparmor/parameters/enabled, apparmor_parser)" }, async () => {
    assert.match(await ok(host, [...RUN, "busybox", "cat", "/proc/self/attr/current"]), /^docker-default \(enforce\)/);
    assert.match(await ok(host, [...RUN, "--privileged", "busybox", "cat", "/proc/self/attr/current"]), /^unconfined/);
    assert.match(await ok(host, [...RUN, "--security-opt", "apparmor=unconfined", "busybox", "cat", "/proc/self/attr/current"]), /^unconfined/);
  });
});

describe("--userns-remap default (docker CLI)", { skip: HAVE_CLI ? false : `no docker CLI at ${DOCKER}` }, () => {
  let b: Berthd;
  let host: string;
  let rootUid: number;
  let rootGid: number;
  before(async () => {
    b = await startBerthd({ label: "userns", searchable: true, args: ["--userns-remap", "default"] });
    host = b.dockerHost;
    await ok(host, ["load", "-i", busyboxTar]);
    // berthd created dockremap and its ranges if they were missing: the root is the first id of each.
    rootUid = parseSubIds(readFileSync("/etc/subuid", "utf8")).find((r) => r.name === "dockremap")!.start;
    rootGid = parseSubIds(readFileSync("/etc/subgid", "utf8")).find((r) => r.name === "dockremap")!.start;
  });
  after(async () => {
    await b?.destroy();
  });

  test("docker info: name=userns, and the root dir is <root>/<uid>.<gid>", async () => {
    const opts = JSON.parse(await ok(host, ["info", "--format", "{{json .SecurityOptions}}"])) as string[];
    assert.ok(opts.includes("name=userns"), opts.join(","));
    assert.equal((await ok(host, ["info", "--format", "{{.DockerRootDir}}"])).trim(), path.join(b.root, `${rootUid}.${rootGid}`));
  });

  test("the container's root is uid 0 inside and the subordinate uid on the host; the image's files are its own", async () => {
    const name = `userns-${process.pid}`;
    await ok(host, ["run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60"]);
    try {
      assert.equal((await ok(host, ["exec", name, "id", "-u"])).trim(), "0");
      assert.match(await ok(host, ["exec", name, "cat", "/proc/self/uid_map"]), new RegExp(`^\\s*0\\s+${rootUid}\\s+65536$`, "m"));
      const pid = Number((await ok(host, ["inspect", "-f", "{{.State.Pid}}", name])).trim());
      assert.deepEqual(hostIds(pid), { uid: rootUid, gid: rootGid });
      // The shifted snapshot: root owns / and /etc inside, the host sees the remapped root.
      assert.equal((await ok(host, ["exec", name, "stat", "-c", "%u:%g", "/", "/etc/passwd"])).trim(), "0:0\n0:0");
      const st = await fs.stat(`/proc/${pid}/root/etc/passwd`);
      assert.deepEqual([st.uid, st.gid], [rootUid, rootGid]);
      // Root inside can write where the image's root could.
      await ok(host, ["exec", name, "sh", "-c", "echo hi > /root/f && cat /root/f"]);
    } finally {
      await runDocker(host, ["rm", "-f", name]);
    }
  });

  test("a volume is writable by the container's root, and its files are the subordinate uid's on the host", async () => {
    const vol = `uvol-${process.pid}`;
    try {
      await ok(host, [...RUN, "-v", `${vol}:/data`, "busybox", "sh", "-c", "echo data > /data/f && id -u > /data/who"]);
      const mp = (await ok(host, ["volume", "inspect", "-f", "{{.Mountpoint}}", vol])).trim();
      assert.ok(mp.startsWith(path.join(b.root, `${rootUid}.${rootGid}`, "volumes")), mp);
      const st = await fs.stat(path.join(mp, "f"));
      assert.deepEqual([st.uid, st.gid], [rootUid, rootGid]);
      assert.equal(await fs.readFile(path.join(mp, "who"), "utf8"), "0\n");
    } finally {
      await runDocker(host, ["volume", "rm", vol]);
    }
  });

  test("a volume filled from the image keeps the shifted owners; the container's root writes to it", async () => {
    const vol = `uetc-${process.pid}`;
    try {
      assert.equal((await ok(host, [...RUN, "-v", `${vol}:/etc`, "busybox", "sh", "-c", "stat -c %u:%g /etc /etc/passwd && echo x > /etc/new && echo ok"])).trim(), "0:0\n0:0\nok");
      const mp = (await ok(host, ["volume", "inspect", "-f", "{{.Mountpoint}}", vol])).trim();
      for (const f of ["passwd", "new"]) {
        const st = await fs.stat(path.join(mp, f));
        assert.deepEqual([st.uid, st.gid], [rootUid, rootGid], f);
      }
    } finally {
      await runDocker(host, ["volume", "rm", vol]);
    }
  });

  test("berthd restarts with the remap: a running container is restored and still remapped", async () => {
    const name = `urestart-${process.pid}`;
    await ok(host, ["run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60"]);
    try {
      await b.stop();
      await b.restart();
      assert.equal((await ok(host, ["exec", name, "id", "-u"])).trim(), "0");
      const pid = Number((await ok(host, ["inspect", "-f", "{{.State.Pid}}", name])).trim());
      assert.deepEqual(hostIds(pid), { uid: rootUid, gid: rootGid });
    } finally {
      await runDocker(host, ["rm", "-f", name]);
    }
  });

  test("docker cp in and out: the container sees its own ids, the host the shifted ones", async () => {
    const name = `ucp-${process.pid}`;
    await ok(host, ["run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60"]);
    try {
      const src = path.join(tmp, "in.txt");
      await fs.writeFile(src, "copied in\n");
      await fs.chown(src, 0, 0);
      await ok(host, ["cp", src, `${name}:/tmp/in.txt`]);
      assert.equal(await ok(host, ["exec", name, "cat", "/tmp/in.txt"]), "copied in\n");
      assert.equal((await ok(host, ["exec", name, "stat", "-c", "%u:%g", "/tmp/in.txt"])).trim(), "0:0");
      const pid = Number((await ok(host, ["inspect", "-f", "{{.State.Pid}}", name])).trim());
      const st = await fs.stat(`/proc/${pid}/root/tmp/in.txt`);
      assert.deepEqual([st.uid, st.gid], [rootUid, rootGid]);

      await ok(host, ["exec", name, "sh", "-c", "echo out > /tmp/out.txt && chown 7:8 /tmp/out.txt"]);
      const dest = path.join(tmp, "out.txt");
      await ok(host, ["cp", `${name}:/tmp/out.txt`, dest]);
      assert.equal(await fs.readFile(dest, "utf8"), "out\n");
      // The archive carries the ids as the container sees them (the CLI does not chown on extract).
      const r = await getBytes(b, `/containers/${name}/archive?path=/tmp/out.txt`);
      assert.equal(r.status, 200);
      const octal = (off: number) => parseInt(r.body.subarray(off, off + 8).toString("latin1").replace(/\0.*$/, "").trim(), 8);
      assert.deepEqual([octal(108), octal(116)], [7, 8]);

      // Stopped: the same mapping through the snapshot's view, both ways.
      await ok(host, ["stop", "-t", "0", name]);
      const still = await getBytes(b, `/containers/${name}/archive?path=/tmp/out.txt`);
      assert.equal(still.status, 200);
      const o2 = (off: number) => parseInt(still.body.subarray(off, off + 8).toString("latin1").replace(/\0.*$/, "").trim(), 8);
      assert.deepEqual([o2(108), o2(116)], [7, 8]);
      await ok(host, ["cp", src, `${name}:/tmp/in2.txt`]);
      // docker export speaks the container's ids too (as dockerd's export maps them back).
      const exported = path.join(tmp, "export.tar");
      await ok(host, ["export", "-o", exported, name]);
      const listing = (await promisify(execFile)("tar", ["-tv", "--numeric-owner", "-f", exported, "tmp/out.txt"])).stdout;
      assert.match(listing, /^\S+ 7\/8 /);
      // docker commit would write the shifted ids into the layer: refused, not made wrong.
      const committed = await runDocker(host, ["commit", name, `ucp-commit-${process.pid}`]);
      assert.notEqual(committed.code, 0);
      assert.match(committed.stderr, /user namespace \(--userns-remap\): docker commit of it is not supported by berth yet/);
      await ok(host, ["start", name]);
      assert.equal((await ok(host, ["exec", name, "stat", "-c", "%u:%g", "/tmp/in2.txt"])).trim(), "0:0");
    } finally {
      await runDocker(host, ["rm", "-f", name]);
    }
  });

  test("--userns host: no user namespace, host root; --privileged needs it", async () => {
    assert.match(await ok(host, [...RUN, "--userns", "host", "busybox", "cat", "/proc/self/uid_map"]), /^\s*0\s+0\s+4294967295$/m);
    const name = `uhost-${process.pid}`;
    await ok(host, ["run", "-d", "--name", name, "--userns", "host", "--network", "none", "busybox", "sleep", "60"]);
    try {
      const pid = Number((await ok(host, ["inspect", "-f", "{{.State.Pid}}", name])).trim());
      assert.deepEqual(hostIds(pid), { uid: 0, gid: 0 });
      assert.equal((await ok(host, ["inspect", "-f", "{{.HostConfig.UsernsMode}}", name])).trim(), "host");
    } finally {
      await runDocker(host, ["rm", "-f", name]);
    }
    const r = await runDocker(host, [...RUN, "--privileged", "busybox", "true"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /privileged mode is incompatible with user namespaces/);
    await ok(host, [...RUN, "--privileged", "--userns", "host", "busybox", "true"]);
  });
});
