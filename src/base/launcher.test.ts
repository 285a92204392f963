import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { launch, launcherPid, LaunchError, setLauncherRecycle } from "./launcher.js";

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

test("stdin, stdout, stderr, exit status and exactly the given environment, through one helper", async () => {
  const r = await launch("sh", ["-c", 'cat; echo "err $X" >&2; env | cut -d= -f1 | sort | tr "\\n" " "; exit 3', "it's"], { env: { PATH, X: "a 'quoted' $value" }, stdin: '{"json": "in"}' });
  assert.equal(r.code, 3);
  assert.match(r.stdout, /^\{"json": "in"\}/);
  assert.equal(r.stderr, "err a 'quoted' $value\n");
  // Only what was given (sh adds PWD; nothing of this process's environment).
  const vars = r.stdout.slice('{"json": "in"}'.length).trim().split(" ").map((l) => l.split("=")[0]).filter((k) => k !== "PWD" && k !== "SHLVL" && k !== "_");
  assert.deepEqual(vars.sort(), ["PATH", "X"]);
  const pid = launcherPid();
  assert.ok(pid && existsSync(`/proc/${pid}`), "the helper runs");
  const again = await launch("true", [], { env: { PATH } });
  assert.equal(again.code, 0);
  assert.equal(launcherPid(), pid, "one helper for every command");
});

test("many at once each get their own output", async () => {
  const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => launch("sh", ["-c", `sleep 0.0${i % 5}; echo ${i}`], { env: { PATH } })));
  assert.deepEqual(rs.map((r) => r.stdout), Array.from({ length: 40 }, (_, i) => `${i}\n`));
});

test("a missing command is ENOENT; an abort kills the command", async () => {
  await assert.rejects(launch("/nonexistent/berth-nothing", [], { env: { PATH } }), (e: unknown) => e instanceof LaunchError && e.code === "ENOENT");
  const ac = new AbortController();
  const t0 = Date.now();
  const p = launch("sleep", ["30"], { env: { PATH }, signal: ac.signal });
  setTimeout(() => ac.abort(new Error("stop")), 200);
  await assert.rejects(p, /stop/);
  assert.ok(Date.now() - t0 < 10_000, "the sleep was killed, not waited for");
});

test("after its quota a helper hands over and ends once its last request is read", async () => {
  setLauncherRecycle(5);
  try {
    await launch("true", [], { env: { PATH } });
    const first = launcherPid()!;
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => launch("sh", ["-c", `echo ${i}`], { env: { PATH } })));
    assert.deepEqual(rs.map((r) => r.stdout), Array.from({ length: 12 }, (_, i) => `${i}\n`));
    assert.notEqual(launcherPid(), first, "a new helper serves");
    for (let i = 0; i < 50 && existsSync(`/proc/${first}`); i++) await sleep(100);
    assert.equal(existsSync(`/proc/${first}`) && !/State:\s+Z/.test(await import("node:fs").then((f) => f.readFileSync(`/proc/${first}/status`, "utf8"))), false, "the old helper ended");
  } finally {
    setLauncherRecycle(10_000);
  }
});
