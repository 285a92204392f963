// A container's filesystem through the real docker CLI: docker diff, export, commit, and docker
// cp on created and stopped containers. The same scenarios run against dockerd 20.10 with
// COMPAT_DOCKER_HOST=unix:///path/docker.sock (busybox:latest loaded); dockerd lists changes in
// Go map order, so against it the diff is compared as a set with each directory before its
// contents, and against berth exactly (berth sorts siblings by name).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Berthd } from "../helpers/berthd.js";
import { startCompatBerthd } from "../helpers/compat.js";
import { DOCKER, runDocker } from "../helpers/docker-cli.js";

const pexec = promisify(execFile);
const HAVE_CLI = existsSync(DOCKER);
const AGAINST_DOCKERD = !!process.env.COMPAT_DOCKER_HOST;
let b: Berthd | undefined;
let host = process.env.COMPAT_DOCKER_HOST ?? "";
let tmp: string;
const RUN_OPTS = ["--network", "none"];
const names = ["cfs-diff", "cfs-run", "cfs-commit", "cfs-live", "cfs-cp", "cfs-put"];
const images = ["berth-test/committed:1", "berth-test/live:1", "berth-test/tc:1"];
/** testcontainers' cross-process lock file: removed after the run unless it was there before. */
const TC_LOCK = path.join(os.tmpdir(), "testcontainers-node.lock");
let lockExisted = true;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cfs-"));
  if (!host) {
    ({ berthd: b, host } = await startCompatBerthd("cfs", tmp));
  }
});
after(async () => {
  if (!lockExisted) await fs.rm(TC_LOCK, { recursive: true, force: true });
  if (HAVE_CLI && host) {
    await docker(["rm", "-f", ...names]);
    await docker(["rmi", ...images]);
  }
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

/** berth: exact lines; dockerd: the same set, every directory listed before what is inside it. */
function assertDiff(out: string, expected: string[]): void {
  const lines = out.split("\n").filter(Boolean);
  if (!AGAINST_DOCKERD) return assert.deepEqual(lines, expected);
  assert.deepEqual([...lines].sort(), [...expected].sort());
  const at = (p: string) => lines.findIndex((l) => l.slice(2) === p);
  for (const l of lines) {
    const parent = path.posix.dirname(l.slice(2));
    if (parent !== "/" && at(parent) >= 0) assert.ok(at(parent) < lines.indexOf(l), `${parent} before ${l}`);
  }
}

const CHANGES = "touch /newfile; rm /bin/ls; mkdir -p /newdir/sub; echo x >> /etc/passwd";

describe("container filesystem", { skip: HAVE_CLI ? false : `no docker CLI at ${DOCKER}` }, () => {
  test("docker diff: a stopped container's changes, and a running one's", async () => {
    await ok(["run", "--name", "cfs-diff", ...RUN_OPTS, "busybox", "sh", "-c", CHANGES]);
    assertDiff(await ok(["diff", "cfs-diff"]), ["C /bin", "D /bin/ls", "C /etc", "C /etc/passwd", "A /newdir", "A /newdir/sub", "A /newfile"]);
    await ok(["run", "-d", "--name", "cfs-run", ...RUN_OPTS, "busybox", "sh", "-c", "touch /running-file; exec sleep 60"]);
    for (let i = 0; i < 50 && (await docker(["exec", "cfs-run", "test", "-f", "/running-file"])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    assertDiff(await ok(["diff", "cfs-run"]), ["A /running-file"]);
    // Without changes: nothing at all (dockerd answers null).
    await ok(["create", "--name", "cfs-cp", ...RUN_OPTS, "busybox", "cat", "/cpfile"]);
    assert.equal(await ok(["diff", "cfs-cp"]), "");
  });

  test("docker export of a stopped container: the whole filesystem with the changes", async () => {
    const out = path.join(tmp, "export.tar");
    await ok(["export", "-o", out, "cfs-diff"]);
    const { stdout } = await pexec("tar", ["-tf", out], { maxBuffer: 16 << 20 });
    const entries = stdout.split("\n");
    assert.ok(entries.includes("newfile"), "the created file");
    assert.ok(entries.includes("newdir/sub/"), "the created directory");
    assert.ok(entries.includes("bin/busybox") && !entries.includes("bin/ls"), "the image's files, less the removed one");
    const { stdout: passwd } = await pexec("tar", ["-xOf", out, "etc/passwd"]);
    assert.match(passwd, /\nx\n$/);
  });

  test("docker commit: the new image has the file, the changed CMD, the author and the comment", async () => {
    await ok(["run", "--name", "cfs-commit", ...RUN_OPTS, "busybox", "sh", "-c", "echo committed > /x"]);
    const id = (await ok(["commit", "-m", "my message", "-a", "me <me@example.com>", "--change", 'CMD ["cat","/x"]', "cfs-commit", "berth-test/committed:1"])).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(await ok(["run", "--rm", ...RUN_OPTS, "berth-test/committed:1"]), "committed\n");
    assert.equal((await ok(["history", "--format", "{{.Comment}}", "berth-test/committed:1"])).split("\n")[0], "my message");
    assert.equal((await ok(["inspect", "-f", "{{.Author}} {{json .Config.Cmd}}", "berth-test/committed:1"])).trim(), 'me <me@example.com> ["cat","/x"]');
  });

  test("docker commit of a running container pauses it only while committing", async () => {
    await ok(["run", "-d", "--name", "cfs-live", ...RUN_OPTS, "busybox", "sh", "-c", "echo live > /live; exec sleep 60"]);
    for (let i = 0; i < 50 && (await docker(["exec", "cfs-live", "test", "-f", "/live"])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    await ok(["commit", "cfs-live", "berth-test/live:1"]);
    assert.equal((await ok(["inspect", "-f", "{{.State.Status}}", "cfs-live"])).trim(), "running");
    assert.equal(await ok(["run", "--rm", ...RUN_OPTS, "berth-test/live:1", "cat", "/live"]), "live\n");
  });

  test("docker cp into a created container, then start: the file is there", async () => {
    const src = path.join(tmp, "cpfile");
    await fs.writeFile(src, "copied before start\n");
    await ok(["cp", src, "cfs-cp:/cpfile"]);
    assert.equal(await ok(["start", "-a", "cfs-cp"]), "copied before start\n");
  });

  test("docker cp from a stopped container", async () => {
    const dst = path.join(tmp, "passwd-out");
    await ok(["cp", "cfs-diff:/etc/passwd", dst]);
    assert.match(await fs.readFile(dst, "utf8"), /^root:.*\nx\n$/s);
    const missing = await docker(["cp", "cfs-diff:/bin/ls", path.join(tmp, "ls-out")]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Could not find the file \/bin\/ls in container cfs-diff/);
  });

  test("an upload to a missing directory of a created container: the error after the whole body", async () => {
    await ok(["create", "--name", "cfs-put", ...RUN_OPTS, "busybox", "true"]);
    const body = Buffer.alloc(4 << 20, 0x61); // not even a tar: dockerd reads it all the same
    const socketPath = new URL(host).pathname;
    const status = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({ socketPath, method: "PUT", path: "/containers/cfs-put/archive?path=/no/such/dir", headers: { "Content-Type": "application/x-tar", "Content-Length": body.length } }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.end(body);
    });
    assert.equal(status.status, 404, status.text);
    assert.match(status.text, /Could not find the file \/no\/such\/dir in container cfs-put/);
  });

  test("testcontainers: copy content and files before start, exec, commit()", async () => {
    lockExisted = existsSync(TC_LOCK);
    // testcontainers reads its configuration when it first builds its client.
    process.env.DOCKER_HOST = host;
    process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
    process.env.TESTCONTAINERS_HOST_OVERRIDE = "127.0.0.1";
    const tc = await import("testcontainers");
    const src = path.join(tmp, "tc-file.txt");
    await fs.writeFile(src, "a file\n");
    const c = await new tc.GenericContainer("busybox")
      .withNetworkMode("none")
      .withCommand(["sleep", "60"])
      .withCopyContentToContainer([{ content: "some content\n", target: "/tc/content.txt" }])
      .withCopyFilesToContainer([{ source: src, target: "/tc/file.txt" }])
      .start();
    try {
      const r = await c.exec(["cat", "/tc/content.txt", "/tc/file.txt"]);
      assert.equal(r.exitCode, 0);
      assert.equal(r.output, "some content\na file\n");
      const image = await c.commit({ repo: "berth-test/tc", tag: "1", changes: ['CMD ["cat","/tc/content.txt"]'], deleteOnExit: false });
      assert.match(image, /^(sha256:)?[0-9a-f]{64}$/);
    } finally {
      await c.stop();
    }
    assert.equal(await ok(["run", "--rm", ...RUN_OPTS, "berth-test/tc:1"]), "some content\n");
  });
});
