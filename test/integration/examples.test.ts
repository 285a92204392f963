// examples/ as a user runs them: built package, imported by its name (self-reference through
// package.json's exports), run by plain node against a private containerd (the harness's, or one
// the example starts itself), output and exit codes asserted.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";

const pexec = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;
const pkg = createRequire(import.meta.url)("../../package.json") as { name: string; exports: Record<string, unknown> };

async function example(file: string, args: string[] = [], env: Record<string, string> = {}) {
  try {
    const r = await pexec(process.execPath, [path.join(ROOT, "examples", file), ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 90_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof x.code !== "number") throw e;
    return { code: x.code, stdout: x.stdout ?? "", stderr: x.stderr ?? "" };
  }
}

let ctd: TestContainerd;
before(async () => {
  // The package as published: dist/ from `npm run build` (prepublishOnly does the same).
  await pexec(path.join(ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], { cwd: ROOT, timeout: 300_000 });
  ctd = await startTestContainerd("examples");
});
after(async () => {
  await ctd?.stop();
});

describe("examples/", () => {
  test("the package resolves by its name: every subpath of exports to a built file", async () => {
    for (const sub of Object.keys(pkg.exports).filter((s) => s !== "./package.json")) {
      const spec = sub === "." ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
      const { stdout } = await pexec(process.execPath, ["--input-type=module", "-e", `const m = await import(${JSON.stringify(spec)}); console.log(Object.keys(m).length)`], { cwd: ROOT });
      assert.ok(Number(stdout) > 0, `${spec} exports nothing`);
    }
  });

  const harness = () => ({ CONTAINERD_ADDRESS: ctd.address, CONTAINERD_NAMESPACE: ctd.namespace, CONTAINERD_STATE: ctd.proc.state });

  test("run-container: a container with the library alone; its output and exit code; five containerd calls", async () => {
    const r = await example("run-container.mjs", [], harness());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from berth\n");
    assert.match(r.stderr, /^exit code 0; 5 containerd calls: \{"Containers\/Delete":1,"Tasks\/Create":1,"Tasks\/Delete":1,"Tasks\/Start":1,"Tasks\/Wait":1\}$/m);
    const failing = await example("run-container.mjs", ["sh", "-c", "hostname; exit 3"], harness());
    assert.equal(failing.code, 3);
    assert.equal(failing.stdout, "berth\n");
  });

  test("run-container with its own private containerd (no harness)", async () => {
    const r = await example("run-container.mjs", ["echo", "standalone"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "standalone\n");
  });

  test("embed-engine: the Docker API served in-process, a container run through it, its events watched", async () => {
    const r = await example("embed-engine.mjs", [], harness());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^serving the Docker API on unix:\/\/\S+\/docker\.sock$/m);
    assert.match(r.stdout, /^exit code 0; output: hello from an embedded berth$/m);
    assert.match(r.stdout, /^container events: create start die destroy$/m);
    const left = await ctd.leftovers();
    assert.deepEqual([left.containers, left.tasks], [[], []]);
  });
});
