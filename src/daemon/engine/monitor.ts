// The monitor: containerd's events turned into State. A task's exit (reap, release the run's
// resources, decide the restart policy, --rm), an exec's exit, an OOM; the restart timers of
// containers in "Restarting", and the health probe loop of each run.
import { setTimeout as sleep } from "node:timers/promises";
import { isNotFound } from "../../base/errors.js";
import type { EventInfo, EventType, Task } from "../../libcontainerd/index.js";
import { DEFAULT_PROBE_INTERVAL_MS, probesEnabled, runProbe } from "../health-probe.js";
import { emit, persist, releaseRunResources, type EngineContext, type Entry } from "./context.js";
import { removeAfterRun, startLocked } from "./lifecycle.js";

/** The event types processEvent acts on: the client subscribes to these topics only. */
export const MONITORED_EVENTS: readonly EventType[] = ["exit", "oom"];

export async function processEvent(ctx: EngineContext, containerId: string, type: EventType, info: EventInfo): Promise<void> {
  const e = ctx.index.get(containerId);
  if (!e) return;
  switch (type) {
    case "exit":
      if (info.processId === containerId) await handleExit(ctx, e, info);
      else await handleExecExit(ctx, e, info);
      return;
    case "oom":
      await e.lock.run(async () => {
        e.state.setOOMKilled();
        await persist(ctx, e);
      });
      emit(ctx, e, "oom");
      return;
    default:
      return;
  }
}

async function handleExit(ctx: EngineContext, e: Entry, info: EventInfo): Promise<void> {
  let removeAfter = false;
  await e.lock.run(async () => {
    const phase = e.state.data.phase;
    if (phase.kind !== "running" || !phase.task) return;
    // An exit of an earlier task of this container (same ID, other pid) is stale.
    if (info.pid !== 0 && phase.task.pid !== info.pid) return;
    const task = phase.task;
    e.healthStop?.abort();
    e.healthStop = undefined;
    let exitCode = info.exitCode;
    let exitedAt = info.exitedAt;
    // The one call an exit costs: reap the task (its stdio drains before this settles). It
    // runs while the exit is recorded: waiters (docker wait, kill, stop) learn of the exit
    // once the output is in the log, as dockerd's do, not after containerd's delete (runc
    // delete, shim shutdown, unmount: most of a kill's time). The lock is held until the
    // delete is done, so whatever needs the container next (start, rm, cp) waits for it.
    const reaped = task.delete().catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (info.synthesized && exitCode === 255) {
      // A made-up exit (the event was lost): the real code is the delete's.
      const st = await reaped;
      if (st) { exitCode = st.exitCode; exitedAt = st.exitedAt ?? exitedAt; }
    } else {
      // The output's EOF normally came before the exit; processes still holding the pipes (a
      // shared pid namespace) are cut off by the delete.
      await Promise.race([e.hub.outputDone(), reaped.then(noop, noop)]);
    }
    for (const x of ctx.execs.ofContainer(e.record.id)) ctx.execs.markExited(x.id, 137);
    const startedAt = e.state.startedAt?.getTime() ?? 0;
    const decision = e.state.isRemovalInProgress || ctx.closed
      ? { restart: false as const }
      : e.restart.decide({
          exitCode,
          manuallyStopped: e.record.hasBeenManuallyStopped || e.stopping,
          runDurationMs: (exitedAt ?? ctx.now()).getTime() - startedAt,
        });
    if (decision.restart) {
      e.state.setRestarting({ exitCode, ...(exitedAt ? { exitedAt } : {}) });
      e.record.restartCount = decision.restartCount;
    } else {
      e.state.setStopped({ exitCode, ...(exitedAt ? { exitedAt } : {}) });
    }
    emit(ctx, e, "die", { exitCode: String(exitCode) });
    try {
      await reaped;
    } catch {
      // The exit is known from the event, so it stays recorded whatever the reap says. A reap
      // that failed otherwise than not-found (e.g. containerd asked a shim that had just died,
      // before its clean-up dropped the task: "ttrpc: closed") is done again before the next
      // start or rm (reapPending).
      e.pendingReap = task;
    } finally {
      await releaseRunResources(ctx, e);
      await persist(ctx, e);
    }
    if (decision.restart) scheduleRestart(ctx, e, decision.delayMs);
    removeAfter = !decision.restart && e.record.hostConfig.autoRemove && !e.state.isRemovalInProgress;
  });
  if (removeAfter) await removeAfterRun(ctx, e);
}

const noop = () => {};

async function handleExecExit(ctx: EngineContext, e: Entry, info: EventInfo): Promise<void> {
  const x = ctx.execs.get(info.processId);
  if (!x || x.containerId !== e.record.id) return;
  await x.lock.run(async () => {
    const p = x.process;
    // The code first, then the delete, as dockerd: the client reads the code (exec inspect)
    // as soon as its stream ends, and the stream ends with the output's EOF, not the delete.
    ctx.execs.markExited(x.id, info.exitCode);
    if (p) {
      try { await p.delete(); } catch (err) { if (!isNotFound(err)) throw err; }
    }
  });
  emit(ctx, e, "exec_die", { execID: x.id, exitCode: String(info.exitCode) });
}

/** One probe loop per run: each probe an exec (3 calls), results into State, events on change. */
export function startHealth(ctx: EngineContext, e: Entry, task: Task): void {
  const hc = e.record.config.healthcheck;
  e.healthStop?.abort();
  e.healthStop = undefined;
  if (!probesEnabled(hc)) return;
  const stop = new AbortController();
  e.healthStop = stop;
  const interval = hc.interval || DEFAULT_PROBE_INTERVAL_MS;
  void (async () => {
    while (!stop.signal.aborted) {
      await sleep(interval, undefined, { signal: stop.signal }).catch(() => {});
      if (stop.signal.aborted || ctx.closed) return;
      // dockerd probes only a running, unpaused container.
      if (e.state.isPaused) continue;
      const base = e.state.container?.process;
      if (!base) return;
      const result = await runProbe(task, base, hc, ctx.now);
      if (stop.signal.aborted) return;
      await e.lock.run(async () => {
        if (!e.state.isRunning || e.state.isRestarting || e.state.data.phase.kind !== "running" || e.state.data.phase.task !== task) return;
        const before = e.state.healthStatus;
        const h = e.state.recordProbeResult(result, { retries: hc.retries, startPeriodMs: hc.startPeriod });
        await persist(ctx, e);
        if (h.status !== before) emit(ctx, e, `health_status: ${h.status}`);
      });
    }
  })();
}

function scheduleRestart(ctx: EngineContext, e: Entry, delayMs: number): void {
  clearTimeout(e.restartTimer);
  e.restartTimer = setTimeout(() => {
    e.restartTimer = undefined;
    void e.lock.run(async () => {
      if (!e.state.isRestarting || e.restart.cancelled || ctx.closed) return;
      try {
        await startLocked(ctx, e);
      } catch (err) {
        // A restart that fails ends the restarting (dockerd does the same).
        e.state.setStopped({ exitCode: e.state.exitCode, error: err instanceof Error ? err.message : String(err) });
        await persist(ctx, e).catch(() => {});
        emit(ctx, e, "die", { exitCode: String(e.state.exitCode) });
      }
    });
  }, delayMs);
}

/** A container in "Restarting": stop waiting, record it stopped. Caller holds the lock. */
export async function cancelRestart(ctx: EngineContext, e: Entry): Promise<boolean> {
  e.restart.cancel();
  if (!e.state.isRestarting) return false;
  clearTimeout(e.restartTimer);
  e.restartTimer = undefined;
  e.state.setStopped({ exitCode: e.state.exitCode, ...(e.state.finishedAt ? { exitedAt: e.state.finishedAt } : {}) });
  await persist(ctx, e);
  return true;
}
