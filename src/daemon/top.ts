import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { errInvalidArgument } from "../base/errors.js";
import type { TopResult } from "./types.js";

const run = promisify(execFile);

/**
 * docker top: the host's `ps` (default `-ef`) filtered to the container's pids, as dockerd does.
 * The PID column is found in the header; rows of other processes are dropped.
 */
export async function topOf(pids: number[], psArgs = "-ef"): Promise<TopResult> {
  const args = psArgs.trim() === "" ? ["-ef"] : psArgs.trim().split(/\s+/);
  let stdout: string;
  try {
    ({ stdout } = await run("ps", args, { maxBuffer: 64 << 20 }));
  } catch (e) {
    throw errInvalidArgument(`ps: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`);
  }
  return parsePs(stdout, pids);
}

export function parsePs(out: string, pids: number[]): TopResult {
  const lines = out.split("\n").filter((l) => l.trim() !== "");
  const titles = (lines[0] ?? "").trim().split(/\s+/);
  const pidIndex = titles.indexOf("PID");
  if (pidIndex < 0) throw errInvalidArgument(`Couldn't find PID field in ps output`);
  const want = new Set(pids);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const pid = Number(fields[pidIndex]);
    if (!want.has(pid)) continue;
    // The last column (CMD/COMMAND) may contain spaces: keep it whole.
    const head = fields.slice(0, titles.length - 1);
    const rest = fields.slice(titles.length - 1).join(" ");
    processes.push([...head, rest]);
  }
  return { titles, processes };
}
