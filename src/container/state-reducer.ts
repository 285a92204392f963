import type { ContainerHandle, TaskHandle } from "./handles.js";
import { healthFromSnapshot, healthToSnapshot, type Health, type HealthSnapshot } from "./health.js";

/**
 * Whether a process is (meant to be) alive. moby keeps Running/Paused/Restarting as three booleans
 * where only four combinations are legal; here they are one value. "stopped" covers both
 * "created" and "exited": which one is decided by startedAt, exactly as moby does (a container
 * whose first start failed has an exit code and an error but still reads "Created").
 */
export type RunPhase<T extends TaskHandle = TaskHandle> =
  | { readonly kind: "stopped" }
  | {
      readonly kind: "running";
      readonly paused: boolean;
      readonly pid: number;
      /**
       * The retained libcontainerd task. Absent for a container restored from disk until the
       * daemon re-attaches it, or when started with no task (moby allows that in tests).
       */
      readonly task: T | undefined;
    }
  /** Waiting for the restart manager; the old task has exited and is not kept (see docs). */
  | { readonly kind: "restarting" };

export interface StateData<C extends ContainerHandle = ContainerHandle, T extends TaskHandle = TaskHandle> {
  readonly phase: RunPhase<T>;
  /** The retained libcontainerd container; survives stop so Cleanup can delete it once. */
  readonly container: C | undefined;
  readonly exitCode: number;
  /** undefined when there is no error (moby's empty ErrorMsg). */
  readonly error: string | undefined;
  readonly oomKilled: boolean;
  readonly removalInProgress: boolean;
  readonly dead: boolean;
  /** Not persisted: a removed container has no record left to load. */
  readonly removed: boolean;
  readonly startedAt: Date | undefined;
  readonly finishedAt: Date | undefined;
  readonly health: Health | undefined;
}

export interface ExitStatus {
  readonly exitCode: number;
  /** When the process exited; setStopped uses now() when absent. setRestarting always uses now() (moby). */
  readonly exitedAt?: Date;
  /** Sets the error message; absent leaves the current one (moby calls SetError separately). */
  readonly error?: string;
  /** true records an OOM kill; absent or false leaves the flag as the OOM event set it. */
  readonly oomKilled?: boolean;
}

export type StateEvent<C extends ContainerHandle = ContainerHandle, T extends TaskHandle = TaskHandle> =
  | {
      readonly type: "running";
      readonly container: C | undefined;
      readonly task: T | undefined;
      readonly initial: boolean;
    }
  | { readonly type: "stopped"; readonly exit: ExitStatus }
  | { readonly type: "restarting"; readonly exit: ExitStatus }
  | { readonly type: "paused"; readonly paused: boolean }
  | { readonly type: "oom-killed" }
  | { readonly type: "error"; readonly error: string | undefined }
  | { readonly type: "exit-code"; readonly exitCode: number }
  | { readonly type: "removal-in-progress"; readonly value: boolean }
  | { readonly type: "removed"; readonly error: string | undefined }
  | { readonly type: "dead" }
  | { readonly type: "health"; readonly health: Health | undefined }
  | { readonly type: "release-container" }
  /** Holds the containerd container of a created or restored container (no transition). */
  | { readonly type: "attach-container"; readonly container: C };

export function initialStateData<C extends ContainerHandle, T extends TaskHandle>(): StateData<C, T> {
  return {
    phase: { kind: "stopped" },
    container: undefined,
    exitCode: 0,
    error: undefined,
    oomKilled: false,
    removalInProgress: false,
    dead: false,
    removed: false,
    startedAt: undefined,
    finishedAt: undefined,
    health: undefined,
  };
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === "" ? undefined : s);

/**
 * The State transitions as a pure function (moby container/state.go). `now` is the instant the
 * event is applied, used where moby reads the clock. Events that make no sense in the current
 * phase (pausing a stopped container) return the data unchanged; the owning ContainerState
 * rejects them before they get here.
 */
export function reduceState<C extends ContainerHandle, T extends TaskHandle>(
  d: StateData<C, T>,
  e: StateEvent<C, T>,
  now: Date,
): StateData<C, T> {
  switch (e.type) {
    case "running":
      return {
        ...d,
        phase: { kind: "running", paused: false, pid: e.task?.pid ?? 0, task: e.task },
        container: e.container,
        error: undefined,
        exitCode: 0,
        oomKilled: false,
        startedAt: e.initial ? now : d.startedAt,
      };
    case "stopped":
      return {
        ...afterExit(d, e.exit),
        phase: { kind: "stopped" },
        finishedAt: e.exit.exitedAt ?? now,
      };
    case "restarting":
      return { ...afterExit(d, e.exit), phase: { kind: "restarting" }, finishedAt: now };
    case "paused":
      if (d.phase.kind !== "running" || d.phase.paused === e.paused) return d;
      return { ...d, phase: { ...d.phase, paused: e.paused } };
    case "oom-killed":
      return { ...d, oomKilled: true };
    case "error":
      return { ...d, error: nonEmpty(e.error) };
    case "exit-code":
      return { ...d, exitCode: e.exitCode };
    case "removal-in-progress":
      return { ...d, removalInProgress: e.value };
    case "removed":
      return { ...d, removed: true, error: nonEmpty(e.error) };
    case "dead":
      return { ...d, dead: true };
    case "health":
      return { ...d, health: e.health };
    case "attach-container":
      return { ...d, container: e.container };
    case "release-container":
      return { ...d, container: undefined };
  }
}

function afterExit<C extends ContainerHandle, T extends TaskHandle>(
  d: StateData<C, T>,
  exit: ExitStatus,
): StateData<C, T> {
  return {
    ...d,
    exitCode: exit.exitCode,
    error: exit.error !== undefined ? nonEmpty(exit.error) : d.error,
    oomKilled: d.oomKilled || exit.oomKilled === true,
  };
}

// ---- serialisable form ---------------------------------------------------------------------

/**
 * The persisted part of State, in moby's vocabulary of flags so records stay readable and a
 * restored state can be checked against `docker inspect`. Times are ISO-8601 strings, null when
 * unset.
 */
export interface StateSnapshot {
  readonly running: boolean;
  readonly paused: boolean;
  readonly restarting: boolean;
  readonly oomKilled: boolean;
  readonly removalInProgress: boolean;
  readonly dead: boolean;
  readonly pid: number;
  readonly exitCode: number;
  readonly error: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly health: HealthSnapshot | null;
}

export function toSnapshot<C extends ContainerHandle, T extends TaskHandle>(d: StateData<C, T>): StateSnapshot {
  return {
    running: d.phase.kind !== "stopped",
    paused: d.phase.kind === "running" && d.phase.paused,
    restarting: d.phase.kind === "restarting",
    oomKilled: d.oomKilled,
    removalInProgress: d.removalInProgress,
    dead: d.dead,
    pid: d.phase.kind === "running" ? d.phase.pid : 0,
    exitCode: d.exitCode,
    error: d.error ?? "",
    startedAt: d.startedAt?.toISOString() ?? null,
    finishedAt: d.finishedAt?.toISOString() ?? null,
    health: d.health === undefined ? null : healthToSnapshot(d.health),
  };
}

/**
 * A snapshot back into State data, without handles (the daemon re-attaches the task). Running +
 * Paused + Restarting cannot arise from the transitions; if a record says so anyway, paused wins,
 * as it does in moby's String().
 */
export function fromSnapshot<C extends ContainerHandle, T extends TaskHandle>(s: StateSnapshot): StateData<C, T> {
  const phase: RunPhase<T> = !s.running
    ? { kind: "stopped" }
    : s.restarting && !s.paused
      ? { kind: "restarting" }
      : { kind: "running", paused: s.paused, pid: s.pid, task: undefined };
  return {
    phase,
    container: undefined,
    exitCode: s.exitCode,
    error: nonEmpty(s.error),
    oomKilled: s.oomKilled,
    removalInProgress: s.removalInProgress,
    dead: s.dead,
    removed: false,
    startedAt: s.startedAt === null ? undefined : new Date(s.startedAt),
    finishedAt: s.finishedAt === null ? undefined : new Date(s.finishedAt),
    health: s.health === null ? undefined : healthFromSnapshot(s.health),
  };
}
