import type { RestartPolicy } from "../container/index.js";

/** dockerd's restart backoff: 100 ms, doubling, at most a minute; reset after 10 s of running. */
export const RESTART_BACKOFF_START_MS = 100;
export const RESTART_BACKOFF_MAX_MS = 60_000;
export const RESTART_RESET_AFTER_MS = 10_000;

export interface ExitFacts {
  exitCode: number;
  /** Stopped by a user (docker stop / kill), or the daemon is shutting down. */
  manuallyStopped: boolean;
  /** How long the process ran. */
  runDurationMs: number;
}

export type RestartDecision = { restart: false } | { restart: true; delayMs: number; restartCount: number };

/**
 * One container's restart manager (moby restartmanager): pure, no timers, no clock — the
 * caller measures the run duration and schedules the delay. `cancel()` (manual stop, removal,
 * daemon shutdown) makes every later decision "no".
 */
export class RestartManager {
  #policy: RestartPolicy;
  #restartCount: number;
  #timeoutMs = 0;
  #cancelled = false;

  constructor(policy: RestartPolicy, restartCount = 0) {
    this.#policy = policy;
    this.#restartCount = restartCount;
  }

  get restartCount(): number {
    return this.#restartCount;
  }
  get cancelled(): boolean {
    return this.#cancelled;
  }

  setPolicy(policy: RestartPolicy): void {
    this.#policy = policy;
  }

  /** After a start by the user: a new run, decisions are possible again. */
  reset(): void {
    this.#cancelled = false;
  }

  cancel(): void {
    this.#cancelled = true;
  }

  decide(f: ExitFacts): RestartDecision {
    const p = this.#policy;
    if (p.name === "no" || this.#cancelled) return { restart: false };
    if (f.runDurationMs >= RESTART_RESET_AFTER_MS) this.#timeoutMs = 0;
    this.#timeoutMs = this.#timeoutMs === 0 ? RESTART_BACKOFF_START_MS : Math.min(this.#timeoutMs * 2, RESTART_BACKOFF_MAX_MS);
    let restart = false;
    switch (p.name) {
      case "always":
        restart = true;
        break;
      case "unless-stopped":
        restart = !f.manuallyStopped;
        break;
      case "on-failure":
        // 0 retries means no limit.
        restart = f.exitCode !== 0 && (p.maximumRetryCount === 0 || this.#restartCount < p.maximumRetryCount);
        break;
    }
    // moby: a manual stop cancels the manager, so "always" does not restart either.
    if (f.manuallyStopped) restart = false;
    if (!restart) return { restart: false };
    this.#restartCount++;
    return { restart: true, delayMs: this.#timeoutMs, restartCount: this.#restartCount };
  }
}

/** Whether a container is started when the daemon starts (moby Container.ShouldRestart). */
export function startsWithDaemon(policy: RestartPolicy, o: { manuallyStopped: boolean; exitCode: number }): boolean {
  return (
    policy.name === "always" ||
    (policy.name === "unless-stopped" && !o.manuallyStopped) ||
    (policy.name === "on-failure" && o.exitCode !== 0)
  );
}
