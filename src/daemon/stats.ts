import fs from "node:fs/promises";

/**
 * Host CPU time in nanoseconds, from the first line of /proc/stat (user … steal, in USER_HZ
 * ticks of 10 ms), as dockerd computes `system_cpu_usage` for the CPU % of docker stats.
 */
export async function readSystemCpuNs(): Promise<number> {
  const text = await fs.readFile("/proc/stat", "utf8");
  return parseSystemCpuNs(text);
}

export function parseSystemCpuNs(procStat: string): number {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return 0;
  const ticks = line.trim().split(/\s+/).slice(1, 8).map(Number).reduce((a, b) => a + b, 0);
  return ticks * 10_000_000;
}
