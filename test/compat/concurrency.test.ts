// Concurrency through the real API: 50 parallel `docker run --rm` all succeed; conflicting
// operations on one container at once end consistent, the losers with a 409.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import http from "node:http";
import { startBerthd, type Berthd } from "../helpers/berthd.js";
import { buildBusyboxImage } from "../../src/images/index.js";

const DOCKER = process.env.DOCKER ?? "/usr/local/bin/docker";
let b: Berthd;

before(async () => {
  b = await startBerthd({ label: "conc" });
  const tar = await buildBusyboxImage();
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ socketPath: b.socket, method: "POST", path: "/images/load?quiet=1" }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(String(res.statusCode)))));
    });
    req.on("error", reject);
    req.end(tar);
  });
});
after(async () => {
  await b.destroy();
});

function docker(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(DOCKER, args, { env: { ...process.env, DOCKER_HOST: b.dockerHost }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test("50 parallel docker run --rm all succeed with their own output", { skip: existsSync(DOCKER) ? false : "no docker CLI", timeout: 180_000 }, async () => {
  const runs = await Promise.all(Array.from({ length: 50 }, (_, i) => docker(["run", "--rm", "--network", "none", "busybox", "echo", `run-${i}`])));
  const failed = runs.map((r, i) => ({ i, ...r })).filter((r) => r.code !== 0 || r.stdout !== `run-${r.i}\n`);
  assert.deepEqual(failed, []);
  const left = JSON.parse((await b.request("GET", "/containers/json?all=1")).body) as unknown[];
  assert.equal(left.length, 0, "every --rm container is gone");
});

test("stop, rm, start and rename racing on one container: consistent end, losers get 409", async () => {
  for (let round = 0; round < 5; round++) {
    const created = await b.request("POST", `/containers/create?name=racer${round}`, { Image: "busybox", Cmd: ["sleep", "1000"], HostConfig: { NetworkMode: "none" } });
    assert.equal(created.status, 201);
    const id = (JSON.parse(created.body) as { Id: string }).Id;
    assert.equal((await b.request("POST", `/containers/${id}/start`)).status, 204);
    const ops = await Promise.all([
      b.request("POST", `/containers/${id}/stop?t=1`),
      b.request("DELETE", `/containers/${id}`),
      b.request("POST", `/containers/${id}/start`),
      b.request("POST", `/containers/${id}/rename?name=renamed${round}`),
      b.request("POST", `/containers/${id}/rename?name=renamed${round}`),
      b.request("POST", `/containers/${id}/kill`),
    ]);
    for (const r of ops) {
      // dockerd answers a rename to the current name with 400, as berth does.
      const sameName = r.status === 400 && /same name as its current name/.test(r.body);
      assert.ok([204, 304, 404, 409].includes(r.status) || sameName, `unexpected ${r.status}: ${r.body}`);
      if (r.status >= 400) assert.match(r.body, /"message":/);
    }
    // The two identical renames: one wins at most; the other is told the name is now its own.
    const renames = ops.slice(3, 5).map((r) => r.status);
    assert.ok(renames.filter((s) => s === 204).length <= 1, `renames ${renames}`);
    // berthd's view and containerd's agree.
    const inspect = await b.request("GET", `/containers/${id}/json`);
    const ctd = b.containerd();
    try {
      const exists = (await ctd.containers.list()).some((c) => c.id === id);
      const task = (await ctd.tasks.rpc.list({})).tasks.find((t) => t.id === id);
      if (inspect.status === 404) {
        assert.equal(exists, false, "removed in berthd, removed in containerd");
      } else {
        const v = JSON.parse(inspect.body) as { State: { Running: boolean; Pid: number } };
        assert.equal(exists, true);
        if (v.State.Running) assert.equal(task?.pid, v.State.Pid);
        else assert.ok(!task || task.status !== 2, "not running in berthd, no running task in containerd");
        await b.request("DELETE", `/containers/${id}?force=1`);
      }
    } finally {
      await ctd.close();
    }
  }
});
