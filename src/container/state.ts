import { errConflict, errInternal } from "./errors.js";
import type { ContainerHandle, TaskHandle } from "./handles.js";
import {
  applyProbeResult,
  isWithinStartPeriod,
  startingHealth,
  type Health,
  type HealthStatus,
  type ProbeResult,
} from "./health.js";
import {
  fromSnapshot,
  initialStateData,
  reduceState,
  toSnapshot,
  type ExitStatus,
  type RunPhase,
  type StateData,
  type StateEvent,
  type StateSnapshot,
} from "./state-reducer.js";
import { humanStatus, stateStatus, type StateStatus } from "./status.js";

/**
 * not-running: met while the container is not running (restarting counts as running).
 * next-exit: met by the next stop or restart, never at once.
 * removed: met once the container has been removed.
 */
export type WaitCondition = "not-running" | "next-exit" | "removed";

export const WAIT_CONDITIONS: readonly WaitCondition[] = ["not-running", "next-exit", "removed"];

export interface WaitResult {
  /** -1 when the wait was aborted. */
  readonly exitCode: number;
  /** The container's error message, or the abort reason; absent when there is none. */
  readonly error?: string;
}

export interface WaitOptions {
  readonly signal?: AbortSignal;
}

export interface ProbeSettings {
  /** Consecutive failures before "unhealthy"; <= 0 means 3. */
  readonly retries: number;
  /** Failures of a still-starting container within this long after start do not count. */
  readonly startPeriodMs: number;
}

/**
 * A container's run state (moby container/state.go) with the retained libcontainerd handles.
 *
 * JavaScript runs one transition at a time, so there is no lock here; a daemon operation that
 * spans several awaits (start, kill) still needs its own per-container serialisation.
 */
export interface ContainerState<C extends ContainerHandle = ContainerHandle, T extends TaskHandle = TaskHandle> {
  readonly id: string;

  /** Everything at once, immutable: switch on `phase.kind` to handle each case. */
  readonly data: StateData<C, T>;
  readonly phase: RunPhase<T>;
  /** moby's Running: true while running, paused or restarting. */
  readonly isRunning: boolean;
  readonly isPaused: boolean;
  readonly isRestarting: boolean;
  readonly isRemovalInProgress: boolean;
  readonly isDead: boolean;
  readonly isRemoved: boolean;
  readonly isOOMKilled: boolean;
  /** The init process's pid while running, else 0. */
  readonly pid: number;
  readonly exitCode: number;
  readonly error: string | undefined;
  readonly startedAt: Date | undefined;
  readonly finishedAt: Date | undefined;
  readonly health: Health | undefined;
  /** "none" when the container has no health state. */
  readonly healthStatus: HealthStatus;

  /** `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`. */
  status(): StateStatus;
  /** The STATUS column of `docker ps`, e.g. "Up 3 minutes (Paused)", at the injected now(). */
  humanStatus(): string;

  /**
   * The task of a running container. Throws conflict "container <id> is not running" when
   * stopped, conflict "container <id> is restarting, ..." while restarting (moby handed back the
   * stale exited task and relied on each caller checking Restarting), and internal when running
   * without a task (restored from disk and not yet re-attached).
   */
  runningTask(): T;
  /** The retained libcontainerd container, if any. */
  readonly container: C | undefined;
  /**
   * Hands the retained container over and forgets it, so that exactly one Cleanup deletes it
   * from containerd (moby kept the handle and a later Cleanup deleted "whatever has this ID").
   */
  releaseContainer(): C | undefined;
  /** Holds the retained containerd container of a created or restored container; no state change. */
  attachContainer(container: C): void;

  /**
   * Started (initial) or found running (initial=false, e.g. a start containerd reported). Clears
   * error, exit code, paused and OOM flag; sets startedAt only when initial. Wakes nobody.
   */
  setRunning(container: C | undefined, task: T | undefined, initial: boolean): void;
  /** The process exited and will not be restarted. Drops the task handle. Wakes not-running and next-exit waiters. */
  setStopped(exit: ExitStatus): void;
  /** The process exited and the restart manager will start it again. Wakes not-running and next-exit waiters. */
  setRestarting(exit: ExitStatus): void;
  /** Returns whether anything changed. Throws conflict unless running (and not restarting). */
  setPaused(): boolean;
  /** Returns whether anything changed. Throws conflict unless running. */
  setUnpaused(): boolean;
  setOOMKilled(): void;
  /** Records why the last start or run failed; undefined or "" clears it. */
  setError(err: Error | string | undefined): void;
  /** For start failures, which choose 126/127/128 themselves. */
  setExitCode(exitCode: number): void;
  /** Test-and-set: returns true if removal was already in progress (and changes nothing). */
  setRemovalInProgress(): boolean;
  resetRemovalInProgress(): void;
  setDead(): void;
  /** Wakes every waiter. */
  setRemoved(): void;
  /** Removed, but removal reported an error. Wakes every waiter with it. */
  setRemovalError(err: Error | string): void;

  /** Health "starting" with a clean streak, for a (re)start with a healthcheck. */
  initHealth(): void;
  /** Applies one probe result; returns the new health. Throws if health was never initialised. */
  recordProbeResult(result: ProbeResult, settings: ProbeSettings): Health;

  /**
   * Resolves when `condition` holds: at once if it already does (except next-exit), else on the
   * transition that meets it, with the exit code and error as of that transition. An abort
   * resolves with exitCode -1 and the abort reason, and unregisters the waiter.
   */
  wait(condition: WaitCondition, options?: WaitOptions): Promise<WaitResult>;
  /** Waiters registered and not yet woken or aborted. */
  pendingWaiters(): number;

  /** The persisted part. */
  snapshot(): StateSnapshot;
}

export interface StateOptions {
  readonly id: string;
  readonly now: () => Date;
  /** Restores a persisted state (without handles). */
  readonly snapshot?: StateSnapshot;
}

export function createState<C extends ContainerHandle = ContainerHandle, T extends TaskHandle = TaskHandle>(
  options: StateOptions,
): ContainerState<C, T> {
  return new State<C, T>(options);
}

interface Waiter {
  wake(result: WaitResult): void;
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  if (reason === undefined) return "aborted";
  return String(reason);
}

class State<C extends ContainerHandle, T extends TaskHandle> implements ContainerState<C, T> {
  readonly id: string;
  readonly #now: () => Date;
  #data: StateData<C, T>;
  // Two lists, as in moby: removal wakes both, a stop wakes only the first.
  readonly #stopWaiters = new Set<Waiter>();
  readonly #removedWaiters = new Set<Waiter>();

  constructor(options: StateOptions) {
    this.id = options.id;
    this.#now = options.now;
    this.#data = options.snapshot === undefined ? initialStateData() : fromSnapshot(options.snapshot);
  }

  get data(): StateData<C, T> {
    return this.#data;
  }
  get phase(): RunPhase<T> {
    return this.#data.phase;
  }
  get isRunning(): boolean {
    return this.#data.phase.kind !== "stopped";
  }
  get isPaused(): boolean {
    return this.#data.phase.kind === "running" && this.#data.phase.paused;
  }
  get isRestarting(): boolean {
    return this.#data.phase.kind === "restarting";
  }
  get isRemovalInProgress(): boolean {
    return this.#data.removalInProgress;
  }
  get isDead(): boolean {
    return this.#data.dead;
  }
  get isRemoved(): boolean {
    return this.#data.removed;
  }
  get isOOMKilled(): boolean {
    return this.#data.oomKilled;
  }
  get pid(): number {
    return this.#data.phase.kind === "running" ? this.#data.phase.pid : 0;
  }
  get exitCode(): number {
    return this.#data.exitCode;
  }
  get error(): string | undefined {
    return this.#data.error;
  }
  get startedAt(): Date | undefined {
    return this.#data.startedAt;
  }
  get finishedAt(): Date | undefined {
    return this.#data.finishedAt;
  }
  get health(): Health | undefined {
    return this.#data.health;
  }
  get healthStatus(): HealthStatus {
    return this.#data.health?.status ?? "none";
  }
  get container(): C | undefined {
    return this.#data.container;
  }

  status(): StateStatus {
    return stateStatus(this.#data);
  }
  humanStatus(): string {
    return humanStatus(this.#data, this.#now());
  }

  runningTask(): T {
    const phase = this.#data.phase;
    switch (phase.kind) {
      case "stopped":
        throw errConflict(`container ${this.id} is not running`);
      case "restarting":
        throw errConflict(`container ${this.id} is restarting, wait until the container is running`);
      case "running":
        if (phase.task === undefined) {
          throw errInternal(`container ${this.id} is in Running state but has no containerd Task set`);
        }
        return phase.task;
    }
  }

  attachContainer(container: C): void {
    this.#apply({ type: "attach-container", container });
  }

  releaseContainer(): C | undefined {
    const c = this.#data.container;
    this.#apply({ type: "release-container" });
    return c;
  }

  setRunning(container: C | undefined, task: T | undefined, initial: boolean): void {
    this.#apply({ type: "running", container, task, initial });
  }
  setStopped(exit: ExitStatus): void {
    this.#apply({ type: "stopped", exit });
    this.#wake(this.#stopWaiters);
  }
  setRestarting(exit: ExitStatus): void {
    this.#apply({ type: "restarting", exit });
    this.#wake(this.#stopWaiters);
  }
  setPaused(): boolean {
    this.#requireRunning();
    if (this.isRestarting) {
      throw errConflict(`container ${this.id} is restarting, wait until the container is running`);
    }
    const before = this.#data;
    this.#apply({ type: "paused", paused: true });
    return before !== this.#data;
  }
  setUnpaused(): boolean {
    this.#requireRunning();
    const before = this.#data;
    this.#apply({ type: "paused", paused: false });
    return before !== this.#data;
  }
  setOOMKilled(): void {
    this.#apply({ type: "oom-killed" });
  }
  setError(err: Error | string | undefined): void {
    this.#apply({ type: "error", error: err instanceof Error ? err.message : err });
  }
  setExitCode(exitCode: number): void {
    this.#apply({ type: "exit-code", exitCode });
  }
  setRemovalInProgress(): boolean {
    if (this.#data.removalInProgress) return true;
    this.#apply({ type: "removal-in-progress", value: true });
    return false;
  }
  resetRemovalInProgress(): void {
    this.#apply({ type: "removal-in-progress", value: false });
  }
  setDead(): void {
    this.#apply({ type: "dead" });
  }
  setRemoved(): void {
    this.#removed(undefined);
  }
  setRemovalError(err: Error | string): void {
    this.#removed(err instanceof Error ? err.message : err);
  }

  initHealth(): void {
    this.#apply({ type: "health", health: startingHealth(this.#data.health) });
  }
  recordProbeResult(result: ProbeResult, settings: ProbeSettings): Health {
    const current = this.#data.health;
    if (current === undefined) {
      throw errInternal(`container ${this.id} has no health state; initHealth() must run before probes`);
    }
    const health = applyProbeResult(current, result, {
      retries: settings.retries,
      inStartPeriod: isWithinStartPeriod(this.#data.startedAt, result.start, settings.startPeriodMs),
    });
    this.#apply({ type: "health", health });
    return health;
  }

  wait(condition: WaitCondition, options: WaitOptions = {}): Promise<WaitResult> {
    const { signal } = options;
    const met =
      condition === "not-running" ? !this.isRunning : condition === "removed" ? this.#data.removed : false;
    if (met) return Promise.resolve(this.#result());
    if (signal?.aborted) return Promise.resolve({ exitCode: -1, error: reasonText(signal.reason) });

    const list = condition === "removed" ? this.#removedWaiters : this.#stopWaiters;
    return new Promise<WaitResult>((resolve) => {
      const onAbort = () => waiter.wake({ exitCode: -1, error: reasonText(signal?.reason) });
      const waiter: Waiter = {
        wake: (result) => {
          // Unregister on every path so that neither an abort nor a wake leaves anything behind
          // (moby leaves aborted waiters in its list until the next notify).
          list.delete(waiter);
          signal?.removeEventListener("abort", onAbort);
          resolve(result);
        },
      };
      list.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  pendingWaiters(): number {
    return this.#stopWaiters.size + this.#removedWaiters.size;
  }

  snapshot(): StateSnapshot {
    return toSnapshot(this.#data);
  }

  #apply(event: StateEvent<C, T>): void {
    this.#data = reduceState(this.#data, event, this.#now());
  }

  #removed(error: string | undefined): void {
    this.#apply({ type: "removed", error });
    this.#wake(this.#removedWaiters);
    this.#wake(this.#stopWaiters);
  }

  #requireRunning(): void {
    if (!this.isRunning) throw errConflict(`container ${this.id} is not running`);
  }

  #result(): WaitResult {
    const { exitCode, error } = this.#data;
    return error === undefined ? { exitCode } : { exitCode, error };
  }

  #wake(list: Set<Waiter>): void {
    // One result for all, taken after the transition, as moby's notifyAndClear does.
    const result = this.#result();
    for (const waiter of [...list]) waiter.wake(result);
  }
}
