import { healthSuffix, type Health } from "./health.js";
import { humanDuration } from "./human-duration.js";

/** `State.Status` as docker prints it (`docker inspect`, `docker ps --filter status=`). */
export type StateStatus = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

export const STATE_STATUSES: readonly StateStatus[] = [
  "created",
  "running",
  "paused",
  "restarting",
  "removing",
  "exited",
  "dead",
];

export function isValidStateStatus(s: string): s is StateStatus {
  return (STATE_STATUSES as readonly string[]).includes(s);
}

/** What the strings are derived from; StateData satisfies it. */
export interface StatusView {
  readonly phase:
    | { readonly kind: "stopped" }
    | { readonly kind: "running"; readonly paused: boolean }
    | { readonly kind: "restarting" };
  readonly removalInProgress: boolean;
  readonly dead: boolean;
  readonly exitCode: number;
  readonly startedAt: Date | undefined;
  readonly finishedAt: Date | undefined;
  readonly health: Health | undefined;
}

/**
 * moby State.StateString. A live process wins over every removal flag: a container being
 * force-removed still reads "running" until it has stopped.
 */
export function stateStatus(s: StatusView): StateStatus {
  switch (s.phase.kind) {
    case "running":
      return s.phase.paused ? "paused" : "running";
    case "restarting":
      return "restarting";
    case "stopped":
      if (s.removalInProgress) return "removing";
      if (s.dead) return "dead";
      if (s.startedAt === undefined) return "created";
      return "exited";
  }
}

/**
 * moby State.String, the STATUS column of `docker ps`. Precedence while running: paused, then
 * restarting, then health; while stopped: removal, dead, never started ("Created"), started but
 * without a finish time (empty string), exited.
 *
 * A running container without a start time (restored from a record that lacks one) reads as
 * "Up Less than a second" rather than Go's "Up 292 years" from the zero time.
 */
export function humanStatus(s: StatusView, now: Date): string {
  const since = (t: Date | undefined) => humanDuration(t === undefined ? 0 : now.getTime() - t.getTime());
  switch (s.phase.kind) {
    case "running":
      if (s.phase.paused) return `Up ${since(s.startedAt)} (Paused)`;
      if (s.health !== undefined) return `Up ${since(s.startedAt)} (${healthSuffix(s.health.status)})`;
      return `Up ${since(s.startedAt)}`;
    case "restarting":
      return `Restarting (${s.exitCode}) ${since(s.finishedAt)} ago`;
    case "stopped":
      if (s.removalInProgress) return "Removal In Progress";
      if (s.dead) return "Dead";
      if (s.startedAt === undefined) return "Created";
      if (s.finishedAt === undefined) return "";
      return `Exited (${s.exitCode}) ${since(s.finishedAt)} ago`;
  }
}
