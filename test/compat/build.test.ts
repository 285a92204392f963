// docker build with the classic builder (DOCKER_BUILDKIT=0) and dockerode's buildImage against
// berthd. The same scenarios run against dockerd 20.10 with COMPAT_DOCKER_HOST=unix:///path.sock
// (busybox:latest loaded).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import type { Berthd } from "../helpers/berthd.js";
import { startCompatBerthd } from "../helpers/compat.js";
import { DOCKER, runDocker } from "../helpers/docker-cli.js";

const pexec = promisify(execFile);
const HAVE_CLI = existsSync(DOCKER);
let b: Berthd | undefined;
let host = process.env.COMPAT_DOCKER_HOST ?? "";
let tmp: string;
const CLASSIC = { DOCKER_BUILDKIT: "0" };

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-build-"));
  if (!host) {
    ({ berthd: b, host } = await startCompatBerthd("build", tmp));
  }
});
after(async () => {
  for (const t of ["berth-ms:1", "berth-ms:2", "berth-fail", "berth-dockerode:1", "berth-tc:1"]) await docker(["rmi", "-f", t]).catch(() => {});
  await b?.destroy();
  await fs.rm(tmp, { recursive: true, force: true });
});

function docker(args: string[], o: { input?: string; env?: Record<string, string> } = {}) {
  return runDocker(host, args, o);
}
async function ok(args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
  const r = await docker(args, o);
  assert.equal(r.code, 0, `docker ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const MULTI_STAGE = `# a comment
ARG BASE=busybox
FROM \${BASE} AS gen
ARG MSG=hello
RUN echo "$MSG from the gen stage" > /out.txt && \\
    echo built
FROM busybox
ENV GREETING=hi APP=/app
WORKDIR $APP
COPY --from=gen /out.txt ./out.txt
COPY data/ ./data/
USER nobody
HEALTHCHECK --interval=5s CMD true
CMD ["sh", "-c", "cat /app/out.txt /app/data/f.txt; echo $GREETING; id -u; pwd"]
`;

async function writeContext(dir: string, files: Record<string, string>) {
  for (const [name, body] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), body);
  }
}

describe("classic build", { skip: HAVE_CLI ? false : `no docker CLI at ${DOCKER}` }, () => {
  test("multi-stage build: run output, history, a second build all from cache", async () => {
    const ctx = path.join(tmp, "ms");
    await writeContext(ctx, { Dockerfile: MULTI_STAGE, "data/f.txt": "data v1\n", "ignored.log": "x", ".dockerignore": "*.log\n" });
    const first = await ok(["build", "--no-cache", "-t", "berth-ms:1", "-t", "berth-ms:2", "--build-arg", "MSG=howdy", ctx], { env: CLASSIC });
    // The ARG before FROM is a step of its own.
    assert.match(first, /^Step 1\/12 : ARG BASE=busybox\nStep 2\/12 : FROM \$\{BASE\} AS gen$/m);
    assert.match(first, /^Step 4\/12 : RUN echo "\$MSG from the gen stage" > \/out.txt && {5}echo built$/m);
    assert.match(first, /^ ---> Running in [0-9a-f]{12}$/m);
    assert.match(first, /^built$/m);
    assert.match(first, /^Successfully built [0-9a-f]{12}$/m);
    assert.match(first, /^Successfully tagged berth-ms:1$/m);
    assert.match(first, /^Successfully tagged berth-ms:2$/m);
    assert.doesNotMatch(first, /Using cache/);

    assert.equal(await ok(["run", "--rm", "--network", "none", "berth-ms:1"]), "howdy from the gen stage\ndata v1\nhi\n65534\n/app\n");
    const inspect = JSON.parse(await ok(["image", "inspect", "berth-ms:1"]))[0];
    assert.deepEqual(inspect.Config.Healthcheck, { Test: ["CMD-SHELL", "true"], Interval: 5e9 });
    assert.equal(inspect.Config.WorkingDir, "/app");
    assert.equal(inspect.Config.User, "nobody");
    assert.ok(inspect.Config.Env.includes("GREETING=hi"));
    // busybox + WORKDIR (it creates /app) + the two COPY layers; the metadata steps add none.
    assert.equal(inspect.RootFS.Layers.length, 4);

    const history = (await ok(["history", "--no-trunc", "--format", "{{.CreatedBy}}", "berth-ms:1"])).trim().split("\n");
    assert.deepEqual(history.slice(0, 7).map((l) => l.replace(/(file|dir):[0-9a-f]{64}/, "$1:SUM")), [
      `/bin/sh -c #(nop)  CMD ["sh" "-c" "cat /app/out.txt /app/data/f.txt; echo $GREETING; id -u; pwd"]`,
      `/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "0s" "0s" '\\x00'}`,
      "/bin/sh -c #(nop)  USER nobody",
      "/bin/sh -c #(nop) COPY dir:SUM in ./data/ ",
      "/bin/sh -c #(nop) COPY file:SUM in ./out.txt ",
      "/bin/sh -c #(nop) WORKDIR /app",
      "/bin/sh -c #(nop)  ENV GREETING=hi APP=/app",
    ]);

    const again = await ok(["build", "-t", "berth-ms:1", "--build-arg", "MSG=howdy", ctx], { env: CLASSIC });
    assert.equal((again.match(/ ---> Using cache/g) ?? []).length, 9, again);
    assert.doesNotMatch(again, /Running in/);
    assert.equal((await ok(["image", "inspect", "-f", "{{.Id}}", "berth-ms:1"])).trim(), inspect.Id);

    // A changed copied file invalidates its step and the ones after it, not the ones before.
    await fs.writeFile(path.join(ctx, "data/f.txt"), "data v2\n");
    const changed = await ok(["build", "-t", "berth-ms:1", "--build-arg", "MSG=howdy", ctx], { env: CLASSIC });
    assert.equal((changed.match(/ ---> Using cache/g) ?? []).length, 5, changed);
    assert.match(await ok(["run", "--rm", "--network", "none", "berth-ms:1"]), /^howdy from the gen stage\ndata v2\n/);
  });

  test("a failing RUN fails the build with its exit code and output", async () => {
    const ctx = path.join(tmp, "fail");
    await writeContext(ctx, { Dockerfile: "FROM busybox\nRUN echo to-stdout; echo to-stderr >&2; exit 7\n" });
    const r = await docker(["build", "--force-rm", "-t", "berth-fail", ctx], { env: CLASSIC });
    // The CLI exits with the RUN's code (errorDetail.code).
    assert.equal(r.code, 7);
    assert.match(r.stdout, /to-stdout/);
    assert.match(r.stderr + r.stdout, /to-stderr/);
    assert.match(r.stderr, /The command '\/bin\/sh -c echo to-stdout; echo to-stderr >&2; exit 7' returned a non-zero code: 7/);
    // --force-rm: nothing of the failed step is left.
    assert.equal((await ok(["ps", "-a", "-q", "--filter", "status=exited"])).trim(), "");
  });

  test("dockerode buildImage: the JSON stream, aux ID, target, labels, nocache", async () => {
    const ctx = path.join(tmp, "dockerode");
    await writeContext(ctx, { Dockerfile: "FROM busybox AS one\nRUN echo one > /one\nFROM one AS two\nRUN echo two > /two\n" });
    const client = new Docker({ socketPath: host.replace(/^unix:\/\//, "") });
    const stream = await client.buildImage({ context: ctx, src: ["Dockerfile"] }, { t: "berth-dockerode:1", target: "one", labels: { "com.example": "yes" }, nocache: true });
    const messages = await new Promise<Record<string, unknown>[]>((resolve, reject) => {
      client.modem.followProgress(stream, (err: Error | null, res: Record<string, unknown>[]) => (err ? reject(err) : resolve(res)));
    });
    const text = messages.map((m) => m.stream ?? "").join("");
    assert.match(text, /^Step 1\/3 : FROM busybox AS one$/m);
    assert.match(text, /^Step 3\/3 : LABEL com.example=yes$/m);
    assert.doesNotMatch(text, /two/);
    const aux = messages.filter((m) => m.aux).map((m) => (m.aux as { ID: string }).ID);
    const inspect = await client.getImage("berth-dockerode:1").inspect();
    assert.equal(aux.at(-1), inspect.Id);
    assert.equal(inspect.Config.Labels["com.example"], "yes");
  });

  test("testcontainers GenericContainer.fromDockerfile builds an image docker runs", async () => {
    const ctx = path.join(tmp, "tc");
    await writeContext(ctx, {
      Dockerfile: "FROM busybox\nARG WHO\nCOPY greeting.txt /\nRUN echo \"for $WHO\" >> /greeting.txt\nCMD [\"cat\", \"/greeting.txt\"]\n",
      "greeting.txt": "hello\n", ".dockerignore": "secret.txt\n", "secret.txt": "do not send",
    });
    process.env.DOCKER_HOST = host;
    process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
    // No bridge network here (--bridge none): the host is given, not looked up from its gateway.
    process.env.TESTCONTAINERS_HOST_OVERRIDE = "127.0.0.1";
    const { GenericContainer } = await import("testcontainers");
    await GenericContainer.fromDockerfile(ctx).withBuildArgs({ WHO: "testcontainers" }).build("berth-tc:1", { deleteOnExit: false });
    assert.equal(await ok(["run", "--rm", "--network", "none", "berth-tc:1"]), "hello\nfor testcontainers\n");
    assert.equal((await docker(["run", "--rm", "--network", "none", "berth-tc:1", "cat", "/secret.txt"])).code, 1);
  });

  test("a client that goes away stops the build: its RUN container is gone", async () => {
    const ctx = path.join(tmp, "cancel");
    await writeContext(ctx, { Dockerfile: "FROM busybox\nRUN echo started; sleep 60; echo never\n" });
    const { stdout: tar } = await pexec("tar", ["cf", "-", "-C", ctx, "."], { encoding: "buffer" });
    const before = (await ok(["ps", "-aq"])).trim();
    const sock = host.replace(/^unix:\/\//, "");
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ socketPath: sock, method: "POST", path: "/v1.41/build?nocache=1", headers: { "Content-Type": "application/x-tar" } }, (res) => {
        let seen = "";
        res.on("data", (c: Buffer) => {
          seen += c.toString();
          // The RUN is running: hang up.
          if (seen.includes("started")) { req.destroy(); resolve(); }
        });
        res.on("error", () => {});
      });
      req.on("error", (e) => { if (!req.destroyed) reject(e); });
      req.end(tar);
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const now = (await ok(["ps", "-aq"])).trim();
      if (now === before) break;
      assert.ok(Date.now() < deadline, `the RUN container is still there: ${now}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  test("bad requests: unknown instruction, platform, missing Dockerfile", async () => {
    const ctx = path.join(tmp, "bad");
    await writeContext(ctx, { Dockerfile: "FROM busybox\nFOO bar\n" });
    const r = await docker(["build", ctx], { env: CLASSIC });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /dockerfile parse error line 2: unknown instruction: FOO/);
    const missing = await docker(["build", "-f", path.join(ctx, "nope"), ctx], { env: CLASSIC });
    assert.notEqual(missing.code, 0);
  });
});
