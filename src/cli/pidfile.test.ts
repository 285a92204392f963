import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { writePidFile } from "./pidfile.js";

test("written with our pid, no temp file left, removed by the returned function", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "berth-pid-"));
  try {
    const f = path.join(dir, "sub", "berthd.pid");
    const remove = writePidFile(f);
    assert.equal(readFileSync(f, "utf8"), `${process.pid}\n`);
    assert.deepEqual(readdirSync(path.dirname(f)), ["berthd.pid"]);
    remove();
    assert.equal(existsSync(f), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a live holder is refused; a stale file is taken over; another's file is not removed", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "berth-pid-"));
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    const f = path.join(dir, "berthd.pid");
    writeFileSync(f, `${child.pid}\n`);
    assert.throws(() => writePidFile(f), new RegExp(`pid file found, ensure berthd is not running or delete ${f} \\(process ${child.pid} holds it\\)`));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const remove = writePidFile(f);
    writeFileSync(f, "999999\n");
    remove();
    assert.equal(readFileSync(f, "utf8"), "999999\n");
  } finally {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
