// A container's run: start (and the containerd container it needs), stop, kill, restart,
// pause, unpause, wait. The exit itself is recorded by the monitor (monitor.ts).
import { setTimeout as sleep } from "node:timers/promises";
import type { WaitCondition } from "../../container/index.js";
import { errConflict, isNotFound } from "../../base/errors.js";
import { StartError, type Container, type Task } from "../../libcontainerd/index.js";
import { activateContainerMounts } from "../../volumes/index.js";
import { networkFilePaths } from "../container-spec.js";
import { probesEnabled } from "../health-probe.js";
import { parseSignal, SIGKILL } from "../signals.js";
import type { StopOptions } from "../types.js";
import {
  attachRequest,
  containerDir,
  DEFAULT_STOP_TIMEOUT,
  emit,
  entryOf,
  ignoreNotFound,
  liveTask,
  mountsOf,
  networked,
  openLog,
  persist,
  reapPending,
  releaseRunResources,
  rootfsArg,
  RUNTIME,
  runcOptionsOf,
  specOf,
  timed,
  type EngineContext,
  type Entry,
} from "./context.js";
import { cancelRestart, startHealth } from "./monitor.js";
import { remove } from "./remove.js";
import { joinsAnother } from "./joined.js";

export async function start(ctx: EngineContext, ref: string): Promise<boolean> {
  const e = entryOf(ctx, ref);
  try {
    return await e.lock.run(async () => {
      if (e.state.isRestarting) return false;
      e.restart.reset();
      return startLocked(ctx, e);
    });
  } catch (err) {
    // dockerd removes an AutoRemove (--rm) container whose start failed: its client waits
    // for the removal (wait?condition=removed) before it reports the error.
    if (e.record.hostConfig.autoRemove && !e.state.isRunning) await removeAfterRun(ctx, e);
    throw err;
  }
}

/** --rm: the removal after a run, timed as a removal of its own (as the API's would be). */
export async function removeAfterRun(ctx: EngineContext, e: Entry): Promise<void> {
  await timed("remove", () => remove(ctx, e.record.id, { force: true, removeVolumes: true })).catch(() => {});
}

/** Starts the container's task; the caller holds its lock. Resolves false if it runs already. */
export async function startLocked(ctx: EngineContext, e: Entry): Promise<boolean> {
  const s = e.state;
  await reapPending(e);
  if (s.isRemovalInProgress || s.isDead) throw errConflict(`container is marked for removal and cannot be started`);
  if (s.isPaused) throw errConflict(`cannot start a paused container, try unpause instead`);
  if (s.isRunning && !s.isRestarting) return false;
  // A copy into or an export of the stopped container has its snapshot mounted (archive.ts): the
  // task must not mount it a second time under it. New views wait for the lock we hold.
  await ctx.views.whenIdle(e.record.id);
  const container = await containerHandle(ctx, e);
  // container:<id> modes join the donors' namespaces as they are now (Containers/Update, only
  // for such containers and only when a donor's PID changed).
  // Legacy links: the linked containers' current addresses in the variables (the same way).
  if (joinsAnother(e.record) || (e.record.hostConfig.links ?? []).length > 0) await container.updateSpec(await specOf(ctx, e.record, { joinedAt: "start" }));
  e.log ??= await openLog(ctx, e);
  e.hub.setSink(e.log);
  let task: Task;
  try {
    await activateContainerMounts(ctx.o.volumes, e.record.id, mountsOf(e.record), { rootfs: e.record.rootfs!, populate: !e.record.hasBeenStartedBefore });
    if (networked(ctx, e.record)) {
      const { hosts, resolvConf } = networkFilePaths(containerDir(ctx, e.record.id));
      await ctx.o.network!.attach(e.record.id, { ...attachRequest(e.record), files: { hosts, resolvConf } });
    }
    task = await container.start({
      withStdin: e.record.config.openStdin,
      terminal: e.record.config.tty,
      attachStdio: e.hub.attachStdio,
    });
  } catch (err) {
    await releaseRunResources(ctx, e);
    if (err instanceof StartError) {
      // dockerd: 127/126 from the translation; otherwise 128 unless an earlier code stands.
      s.setExitCode(err.exitCode !== 128 || s.exitCode === 0 ? err.exitCode : s.exitCode);
      s.setError(err.message);
      await persist(ctx, e).catch(() => {});
    }
    throw err;
  }
  s.setRunning(container, task, true);
  e.record.hasBeenStartedBefore = true;
  e.record.hasBeenManuallyStopped = false;
  e.stopping = false;
  if (probesEnabled(e.record.config.healthcheck)) s.initHealth();
  await persist(ctx, e);
  emit(ctx, e, "start");
  startHealth(ctx, e, task);
  return true;
}

/** The retained containerd container; recreated if containerd lost it (record without object). */
async function containerHandle(ctx: EngineContext, e: Entry): Promise<Container> {
  const held = e.state.container;
  if (held) return held;
  try {
    const c = await ctx.lcd.loadContainer(e.record.id, {
      ...(e.record.rootfs?.kind === "snapshot" ? { rootfsMounts: e.record.rootfs.mounts } : {}),
    });
    e.state.attachContainer(c);
    return c;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    const c = await ctx.lcd.newContainer(e.record.id, {
      spec: await specOf(ctx, e.record),
      rootfs: rootfsArg(e.record),
      runtime: RUNTIME,
      ...runcOptionsOf(ctx),
      labels: { "berth.name": e.record.name.slice(1) },
    });
    e.state.attachContainer(c);
    return c;
  }
}

export async function stop(ctx: EngineContext, ref: string, o: StopOptions = {}): Promise<boolean> {
  const e = entryOf(ctx, ref);
  if (!e.state.isRunning) return false;
  e.record.hasBeenManuallyStopped = true;
  e.restart.cancel();
  if (await e.lock.run(() => cancelRestart(ctx, e))) {
    emit(ctx, e, "stop");
    return true;
  }
  await stopEntry(ctx, e, o);
  return true;
}

/** The stop signal, then SIGKILL after the timeout; resolves when the monitor recorded the exit. */
async function stopEntry(ctx: EngineContext, e: Entry, o: StopOptions): Promise<void> {
  const sig = parseSignal(o.signal ?? e.record.config.stopSignal ?? "SIGTERM");
  const timeout = o.timeout ?? e.record.config.stopTimeout ?? DEFAULT_STOP_TIMEOUT;
  e.stopping = true;
  const stopped = e.state.wait("not-running");
  await e.lock.run(async () => {
    if (!e.state.isRunning) return;
    const t = e.state.runningTask();
    // A paused process cannot act on SIGTERM: dockerd sends it, the kill after the timeout ends it.
    await t.kill(sig).catch(ignoreNotFound);
  });
  emit(ctx, e, "kill", { signal: String(sig) });
  if (timeout >= 0) {
    const timedOut = await Promise.race([stopped.then(() => false), sleep(timeout * 1000).then(() => true)]);
    if (timedOut && e.state.isRunning) {
      await killAll(e);
      emit(ctx, e, "kill", { signal: String(SIGKILL) });
    }
  }
  await stopped;
  emit(ctx, e, "stop");
}

/** SIGKILL to every process of a running container (stop's timeout, rm -f). */
export async function killAll(e: Entry): Promise<void> {
  await e.lock.run(async () => {
    if (!e.state.isRunning) return;
    await e.state.runningTask().kill(SIGKILL, { all: true }).catch(ignoreNotFound);
  });
}

export async function kill(ctx: EngineContext, ref: string, signal = "SIGKILL"): Promise<void> {
  const e = entryOf(ctx, ref);
  const sig = parseSignal(signal);
  await e.lock.run(async () => {
    if (e.state.isRestarting) {
      // dockerd: killing a restarting container only stops its restarts.
      await cancelRestart(ctx, e);
      return;
    }
    const task = liveTask(e);
    // A kill is a manual stop for the restart policy, as in dockerd.
    e.record.hasBeenManuallyStopped = true;
    e.restart.cancel();
    if (sig === SIGKILL) e.stopping = true;
    await task.kill(sig, sig === SIGKILL ? { all: true } : {});
  });
  emit(ctx, e, "kill", { signal: String(sig) });
  if (sig === SIGKILL && e.state.isRunning) await e.state.wait("not-running");
}

export async function restart(ctx: EngineContext, ref: string, o: StopOptions = {}): Promise<void> {
  const e = entryOf(ctx, ref);
  e.restart.cancel();
  await e.lock.run(() => cancelRestart(ctx, e));
  if (e.state.isRunning) await stopEntry(ctx, e, o);
  await e.lock.run(async () => {
    e.restart.reset();
    await startLocked(ctx, e);
  });
  emit(ctx, e, "restart");
}

export async function pause(ctx: EngineContext, ref: string): Promise<void> {
  const e = entryOf(ctx, ref);
  await e.lock.run(async () => {
    const task = liveTask(e);
    if (e.state.isPaused) throw errConflict(`Container ${e.record.id} is already paused`);
    await task.pause();
    e.state.setPaused();
    await persist(ctx, e);
  });
  emit(ctx, e, "pause");
}

export async function unpause(ctx: EngineContext, ref: string): Promise<void> {
  const e = entryOf(ctx, ref);
  await e.lock.run(async () => {
    if (!e.state.isPaused) throw errConflict(`Container ${e.record.id} is not paused`);
    await e.state.runningTask().resume();
    e.state.setUnpaused();
    await persist(ctx, e);
  });
  emit(ctx, e, "unpause");
}

export async function wait(ctx: EngineContext, ref: string, condition: WaitCondition, o: { signal?: AbortSignal } = {}) {
  const e = entryOf(ctx, ref);
  return e.state.wait(condition, o.signal ? { signal: o.signal } : {});
}
