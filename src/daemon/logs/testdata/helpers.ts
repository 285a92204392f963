/** Helpers shared by the logs tests; under testdata/ so the build leaves them out. */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh directory under the OS temp dir; `cleanup()` removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "berth-logs-test-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A clock that moves one second per call from `2026-11-29T05:36:00.123Z`, with a monotonic
 * clock that stands still: every timestamp is `…:SS.123Z`, 24 characters, so every record of a
 * given line has the same size.
 */
export function steppingClock(start = "2026-11-29T05:36:00.123Z"): { now: () => Date; monotonicNs: () => number } {
  let t = Date.parse(start) - 1000;
  return { now: () => new Date((t += 1000)), monotonicNs: () => 0 };
}

/** The record docker writes for a whole line (`log` ends with \n), for plain ASCII lines. */
export function dockerRecord(line: string, stream: "stdout" | "stderr", time: string): string {
  return `{"log":${JSON.stringify(line + "\n")},"stream":"${stream}","time":"${time}"}\n`;
}

/** The file's lines parsed as JSON, or [] when it does not exist. */
export async function records(path: string): Promise<{ log: string; stream: string; time: string }[]> {
  if (!existsSync(path)) return [];
  const text = await readFile(path, "utf8");
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { log: string; stream: string; time: string });
}

/** Polls `check` until it returns true, for up to `ms`; fails with `what` otherwise. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
