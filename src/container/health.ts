/**
 * Health of a container with a healthcheck. "none" is what a container *without* one reports
 * (and what `docker ps --filter health=none` asks for); a stored Health never holds it, the
 * absence of a Health value means "none".
 */
export type HealthStatus = "starting" | "healthy" | "unhealthy" | "none";
export type ProbedHealthStatus = Exclude<HealthStatus, "none">;

export const HEALTH_STATUSES: readonly HealthStatus[] = ["starting", "healthy", "unhealthy", "none"];

export function isValidHealthStatus(s: string): s is HealthStatus {
  return (HEALTH_STATUSES as readonly string[]).includes(s);
}

export interface ProbeResult {
  readonly start: Date;
  readonly end: Date;
  readonly exitCode: number;
  readonly output: string;
}

export interface Health {
  readonly status: ProbedHealthStatus;
  readonly failingStreak: number;
  /** Oldest first, at most MAX_HEALTH_LOG_ENTRIES. */
  readonly log: readonly ProbeResult[];
}

export const MAX_HEALTH_LOG_ENTRIES = 5;
export const MAX_PROBE_OUTPUT_BYTES = 4096;
export const DEFAULT_PROBE_RETRIES = 3;
/** Exit code by which a probe reports healthy; anything else (including -1 for a timed-out probe) fails. */
export const PROBE_EXIT_HEALTHY = 0;

/**
 * The health a (re)started container begins with: "starting" with a clean streak. The previous
 * log is kept so `docker inspect` still shows why the last run ended unhealthy (moby
 * initHealthMonitor does the same).
 */
export function startingHealth(previous?: Health): Health {
  return { status: "starting", failingStreak: 0, log: previous?.log ?? [] };
}

/**
 * Caps probe output at MAX_PROBE_OUTPUT_BYTES of UTF-8, cutting at a character boundary, and
 * marks a cut with "..." as moby's limitedBuffer does (so a capped output is up to 4096 + 3 bytes).
 */
export function capProbeOutput(output: string): string {
  if (Buffer.byteLength(output, "utf8") <= MAX_PROBE_OUTPUT_BYTES) return output;
  const bytes = Buffer.from(output, "utf8");
  let cut = MAX_PROBE_OUTPUT_BYTES;
  // A byte 10xxxxxx continues a multibyte character: cutting before it would split that character.
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut).toString("utf8") + "...";
}

/** Whether a probe that began at `probeStart` falls inside the start period of a run begun at `startedAt`. */
export function isWithinStartPeriod(
  startedAt: Date | undefined,
  probeStart: Date,
  startPeriodMs: number,
): boolean {
  if (startedAt === undefined) return false;
  return probeStart.getTime() - startedAt.getTime() < startPeriodMs;
}

export interface ProbeContext {
  /** Consecutive failures that make the container unhealthy; <= 0 means the default (3). */
  readonly retries: number;
  /** Whether the probe started within the healthcheck's start period (see isWithinStartPeriod). */
  readonly inStartPeriod: boolean;
}

/**
 * The health after one probe (moby handleProbeResult): success resets the streak and makes the
 * container healthy; a failure counts towards the streak unless the container is still "starting"
 * and inside its start period, and the streak reaching `retries` makes it unhealthy. A failure
 * below the threshold leaves the status as it was (starting or healthy).
 */
export function applyProbeResult(health: Health, result: ProbeResult, ctx: ProbeContext): Health {
  const entry: ProbeResult = { ...result, output: capProbeOutput(result.output) };
  const log = [...health.log, entry].slice(-MAX_HEALTH_LOG_ENTRIES);
  if (result.exitCode === PROBE_EXIT_HEALTHY) {
    return { status: "healthy", failingStreak: 0, log };
  }
  if (health.status === "starting" && ctx.inStartPeriod) {
    return { status: health.status, failingStreak: health.failingStreak, log };
  }
  const retries = ctx.retries > 0 ? ctx.retries : DEFAULT_PROBE_RETRIES;
  const failingStreak = health.failingStreak + 1;
  return { status: failingStreak >= retries ? "unhealthy" : health.status, failingStreak, log };
}

/** How Health appears inside `docker ps`'s status, e.g. "Up 5 seconds (health: starting)". */
export function healthSuffix(status: ProbedHealthStatus): string {
  return status === "starting" ? "health: starting" : status;
}

// ---- serialisable form ---------------------------------------------------------------------

export interface ProbeResultSnapshot {
  readonly start: string;
  readonly end: string;
  readonly exitCode: number;
  readonly output: string;
}

export interface HealthSnapshot {
  readonly status: ProbedHealthStatus;
  readonly failingStreak: number;
  readonly log: readonly ProbeResultSnapshot[];
}

export function healthToSnapshot(h: Health): HealthSnapshot {
  return {
    status: h.status,
    failingStreak: h.failingStreak,
    log: h.log.map((r) => ({
      start: r.start.toISOString(),
      end: r.end.toISOString(),
      exitCode: r.exitCode,
      output: r.output,
    })),
  };
}

export function healthFromSnapshot(s: HealthSnapshot): Health {
  return {
    status: s.status,
    failingStreak: s.failingStreak,
    log: s.log.map((r) => ({
      start: new Date(r.start),
      end: new Date(r.end),
      exitCode: r.exitCode,
      output: r.output,
    })),
  };
}
