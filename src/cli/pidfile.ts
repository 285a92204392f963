// --pidfile as dockerd keeps it: refused while a live process holds it, written atomically
// (a reader never sees a partial number), removed at exit when it still names this process.
import { readFileSync, renameSync, rmSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { errFailedPrecondition } from "../base/errors.js";

export function writePidFile(file: string, pid = process.pid): () => void {
  const held = Number((() => { try { return readFileSync(file, "utf8").trim(); } catch { return ""; } })());
  if (Number.isInteger(held) && held > 0 && held !== pid && existsSync(`/proc/${held}`)) {
    throw errFailedPrecondition(`pid file found, ensure berthd is not running or delete ${file} (process ${held} holds it)`);
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${pid}.tmp`;
  writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
  renameSync(tmp, file);
  return () => {
    try {
      if (readFileSync(file, "utf8").trim() === String(pid)) rmSync(file, { force: true });
    } catch { /* already gone */ }
  };
}
