// The runc v2 shims one containerd started, found in /proc by their command line
// (`containerd-shim-runc-v2 -namespace NS -id ID -address SOCKET`): a test or benchmark counts,
// measures or kills only the shims of its own containerd, never another's.
import { readFileSync, readdirSync } from "node:fs";

export interface ShimProcess {
  pid: number;
  /** The `-id` it was started for: the first container of its group. */
  id: string;
  namespace: string;
}

/** Shims whose `-address` is `address` (and whose `-namespace` is `namespace`, when given). */
export function shimsOf(address: string, namespace?: string): ShimProcess[] {
  const out: ShimProcess[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    let argv: string[];
    try { argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0"); } catch { continue; }
    if (!argv[0]?.endsWith("containerd-shim-runc-v2")) continue;
    // containerd also runs the binary for one-shot commands ("start", which spawns or reuses the
    // serving shim, and "delete", the clean-up after a shim died): those serve no task.
    const verb = argv.filter(Boolean).at(-1);
    if (verb === "start" || verb === "delete") continue;
    const arg = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] ?? "" : ""; };
    if (arg("-address") !== address) continue;
    if (namespace !== undefined && arg("-namespace") !== namespace) continue;
    out.push({ pid: Number(p), id: arg("-id"), namespace: arg("-namespace") });
  }
  return out;
}

/** The parent PID of a process (a container's init: the shim that started it). */
export function ppidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces and parentheses: the fields after the last ")" are fixed.
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** VmRSS of a process in KiB (0 when it is gone). */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Whether the process runs (a zombie that nobody reaped yet has ended). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
