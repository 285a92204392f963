import { randomBytes } from "node:crypto";
import type { HealthcheckConfig, ProbeResult } from "../container/index.js";
import type { Process as OciProcess } from "../containerd/index.js";
import type { Task } from "../libcontainerd/index.js";

/** dockerd's defaults for unset healthcheck durations. */
export const DEFAULT_PROBE_INTERVAL_MS = 30_000;
export const DEFAULT_PROBE_TIMEOUT_MS = 30_000;
const OUTPUT_CAP = 4096;

/** Whether a healthcheck config asks for probes at all (NONE or empty: no). */
export function probesEnabled(hc: HealthcheckConfig | undefined): hc is HealthcheckConfig {
  return !!hc && hc.test.length > 0 && hc.test[0] !== "NONE";
}

/** CMD → argv as given; CMD-SHELL → /bin/sh -c; anything else is invalid (checked at create). */
export function probeArgs(test: string[]): string[] {
  const [kind, ...rest] = test;
  if (kind === "CMD") return rest;
  if (kind === "CMD-SHELL") return ["/bin/sh", "-c", rest.join(" ")];
  throw new Error(`unknown healthcheck type ${JSON.stringify(kind)}`);
}

export function validateHealthcheck(hc: HealthcheckConfig | undefined): string | undefined {
  if (!hc || hc.test.length === 0) return undefined;
  const kind = hc.test[0];
  if (kind !== "NONE" && kind !== "CMD" && kind !== "CMD-SHELL") return `unknown healthcheck type ${JSON.stringify(kind)}: use NONE, CMD or CMD-SHELL`;
  if (kind !== "NONE" && hc.test.length < 2) return "healthcheck command is empty";
  for (const [name, v] of [["Interval", hc.interval], ["Timeout", hc.timeout], ["StartPeriod", hc.startPeriod]] as const) {
    if (v !== 0 && v < 1) return `${name} in Healthcheck cannot be less than 1ms`;
  }
  if (hc.retries < 0) return "Retries in Healthcheck cannot be negative";
  return undefined;
}

/**
 * One probe: an exec in the container (Tasks/Exec + Tasks/Start, then Tasks/DeleteProcess — the
 * RPC floor of an exec), output captured up to 4 KiB, killed when it runs past the timeout.
 */
export async function runProbe(task: Task, base: OciProcess, hc: HealthcheckConfig, now: () => Date): Promise<ProbeResult> {
  const start = now();
  const timeoutMs = hc.timeout || DEFAULT_PROBE_TIMEOUT_MS;
  let out = Buffer.alloc(0);
  const take = (b: Buffer) => {
    if (out.length < OUTPUT_CAP) out = Buffer.concat([out, b.subarray(0, OUTPUT_CAP - out.length)]);
  };
  const id = "health-" + randomBytes(8).toString("hex");
  let p;
  try {
    p = await task.exec(id, { ...base, args: probeArgs(hc.test), terminal: false }, {
      attachStdio: (io) => {
        io.stdout?.on("data", take);
        io.stderr?.on("data", take);
      },
    });
  } catch (e) {
    return { start, end: now(), exitCode: -1, output: e instanceof Error ? e.message : String(e) };
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
  const r = await Promise.race([p.exited, timedOut]);
  clearTimeout(timer);
  if (r === "timeout") {
    await p.kill(9).catch(() => {});
    await p.exited;
    await p.delete().catch(() => {});
    return { start, end: now(), exitCode: -1, output: `Health check exceeded timeout (${formatGoDuration(timeoutMs)})` };
  }
  const st = await p.delete().catch(() => r);
  return { start, end: now(), exitCode: st.exitCode, output: out.toString("utf8") };
}

/** Go's time.Duration String for whole milliseconds: "1s", "1.5s", "500ms", "1m30s". */
export function formatGoDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? h + "h" : ""}${h || m ? m + "m" : ""}${s}s`;
}
