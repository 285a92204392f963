// berthd start: the containers of the records, reconciled with what containerd still has, and
// the background cleanup of what a crash left.
import fs from "node:fs/promises";
import path from "node:path";
import diagnosticsChannel from "node:diagnostics_channel";
import { setTimeout as sleep } from "node:timers/promises";
import { isNotFound } from "../../base/errors.js";
import { TaskStatus } from "../../containerd/index.js";
import type { Container, LoadedContainer } from "../../libcontainerd/index.js";
import type { ContainerRecord } from "../../container/index.js";
import { runAll } from "../../base/pool.js";
import { releaseContainerMounts, restoreContainerMounts } from "../../volumes/index.js";
import type { PreparedRootfs } from "../image-source.js";
import { startsWithDaemon } from "../restart-policy.js";
import type { RestoreReport } from "../types.js";
import { containerDir, emit, hasLiveTask, ignoreNotFound, mountsOf, newEntry, openLog, persist, type EngineContext, type Entry } from "./context.js";
import { createIntent } from "./create.js";
import { startLocked } from "./lifecycle.js";
import { cancelRestart, startHealth } from "./monitor.js";

/** Published when a restore cleanup attempt fails: `{ id, attempt, error }` (it is retried). */
export const cleanupChannel = diagnosticsChannel.channel("berth:engine:cleanup");

/** Containers restored at once (each mostly waits on the disk and containerd). */
const RESTORE_CONCURRENCY = 16;

/** How long restore waits to reap one task before it reports it and goes on. */
const RESTORE_REAP_TIMEOUT_MS = 5_000;

function problem(ctx: EngineContext, id: string, message: string): RestoreReport["problems"][number] {
  return { path: containerDir(ctx, id), reason: "unreadable", message } as RestoreReport["problems"][number];
}

/**
 * Every record from the store, then ONE Containers/List and ONE Tasks/List for the whole
 * namespace. Running tasks are re-attached (state, stdio, logs); an exit that happened while
 * berthd was down is recorded with its real code; containerd objects without a record are removed.
 */
export async function restore(ctx: EngineContext): Promise<RestoreReport> {
  // Views of stopped containers' snapshots a crash left mounted (docker cp, export).
  await ctx.views.cleanup();
  const { records, problems } = await ctx.store.loadAll();
  const loaded = await ctx.lcd.loadAll();
  const byId = new Map(loaded.map((l) => [l.container.id, l]));
  const report: RestoreReport = { containers: 0, running: 0, exitedWhileDown: 0, orphansRemoved: [], problems };
  const recordIds = new Set(records.map((r) => r.id));
  // Creates a crash cut short: remove what they made (the client never got an ID).
  const intents = await fs.readdir(path.join(ctx.o.root, "creating")).catch(() => [] as string[]);
  for (const id of intents) {
    if (!recordIds.has(id)) {
      const l = byId.get(id);
      byId.delete(id);
      if (l) report.orphansRemoved.push(id);
      cleanUp(ctx, id, async () => {
        if (l) await removeContainerdObjects(l);
        await ctx.o.images.removeRootfsOf(id);
        await fs.rm(path.join(ctx.o.root, "containers", id), { recursive: true, force: true });
        await createIntent(ctx, id, "remove");
      });
      continue;
    }
    await createIntent(ctx, id, "remove");
  }
  const jobs: (() => Promise<void>)[] = [];
  for (const record of records) {
    if (record.state.removalInProgress) {
      // A removal a crash cut short: finish it.
      const l = byId.get(record.id);
      byId.delete(record.id);
      report.orphansRemoved.push(record.id);
      cleanUp(ctx, record.id, async () => {
        if (l) await removeContainerdObjects(l);
        if (record.rootfs) await ctx.o.images.removeRootfs(record.id, record.rootfs as PreparedRootfs);
        await releaseContainerMounts(ctx.o.volumes, record.id, mountsOf(record), { removeAnonymous: false });
        await ctx.store.delete(record.id);
      });
      continue;
    }
    try {
      ctx.names.reserve(record.name, record.id);
    } catch {
      record.name = ctx.names.reserveGenerated(record.id);
    }
    const e = newEntry(ctx, record);
    ctx.index.add(record.id, e);
    // Its shared shim's slot, so that groups go on filling where they were (whatever size now).
    if (record.shimGroup) ctx.shimGroups?.adopt(record.id, record.shimGroup);
    report.containers++;
    const l = byId.get(record.id);
    byId.delete(record.id);
    jobs.push(() => restoreOne(ctx, report, record, e, l));
  }
  // Each container's own work (its log file, stdio FIFOs, volumes, record; a reap for a task that
  // ended) is mostly waiting on the disk and on containerd: several at once, not one by one.
  await runAll(jobs, RESTORE_CONCURRENCY);
  // Networks and mounts of containers that are gone or not running (CNI DEL, netns, leases).
  if (ctx.o.network) {
    const liveIds = [...ctx.index.values()].filter(hasLiveTask).map((e) => e.record.id);
    await ctx.o.network.reconcile(liveIds);
  }
  await ctx.o.volumes.unmountIdle();
  // Containers whose policy says so start with the daemon (a restarting one, too).
  for (const e of ctx.index.values()) {
    if (hasLiveTask(e)) continue;
    if (!startsWithDaemon(e.record.hostConfig.restartPolicy, { manuallyStopped: e.record.hasBeenManuallyStopped, exitCode: e.state.exitCode })) {
      if (e.state.isRestarting) await e.lock.run(() => cancelRestart(ctx, e));
      continue;
    }
    await e.lock.run(async () => {
      try {
        await startLocked(ctx, e);
        report.restarted = (report.restarted ?? 0) + 1;
      } catch (err) {
        e.state.setStopped({ exitCode: e.state.exitCode, error: err instanceof Error ? err.message : String(err) });
        await persist(ctx, e).catch(() => {});
      }
    });
  }
  // containerd objects in berth's namespace that no record explains.
  for (const [id, l] of byId) {
    report.orphansRemoved.push(id);
    cleanUp(ctx, id, async () => {
      await removeContainerdObjects(l);
      if (l.container.record.snapshotKey) {
        await ctx.o.containerd.snapshots.rpc.remove({ snapshotter: l.container.record.snapshotter, key: l.container.record.snapshotKey }).catch(ignoreNotFound);
      }
    });
  }
  return report;
}

/** Task first, then the container: containerd would delete a container under a live task. */
async function removeContainerdObjects(l: { container: Container; task: unknown }): Promise<void> {
  if (l.task) {
    try {
      await (await l.container.task()).forceDelete({ timeoutMs: RESTORE_REAP_TIMEOUT_MS });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  await l.container.delete().catch(ignoreNotFound);
}

/**
 * Cleanup of what a crash left (restore): in the background, so a shim that does not answer
 * never holds the daemon's start-up, retried with backoff until it succeeds (about 2 minutes).
 */
function cleanUp(ctx: EngineContext, id: string, job: () => Promise<void>): void {
  const p = (async () => {
    for (let attempt = 0, delay = 500; attempt < 12 && !ctx.closed; attempt++, delay = Math.min(delay * 2, 15_000)) {
      try {
        await job();
        return;
      } catch (err) {
        cleanupChannel.publish({ id, attempt, error: err });
        await sleep(delay);
      }
    }
  })();
  ctx.cleanups.add(p);
  void p.finally(() => ctx.cleanups.delete(p));
}

/** Resolves when the restore's background cleanups are done (tests, shutdown). */
export async function cleanupsDone(ctx: EngineContext): Promise<void> {
  while (ctx.cleanups.size > 0) await Promise.all([...ctx.cleanups]);
}

/** One container's restore, after its entry is in the index (restore runs several at once). */
async function restoreOne(ctx: EngineContext, report: RestoreReport, record: ContainerRecord, e: Entry, l: LoadedContainer | undefined): Promise<void> {
  if (!l) {
    // containerd lost it (its state wiped): the record stays; start recreates the object.
    if (e.state.isRunning) {
      e.state.setStopped({ exitCode: 255, error: "the container's task was lost while berthd was down" });
      await persist(ctx, e);
    }
    return;
  }
  const t = l.task;
  const live = !!t && (t.status === TaskStatus.RUNNING || t.status === TaskStatus.PAUSED || t.status === TaskStatus.PAUSING);
  // Volume references come back from the records (dockerd keeps them in memory only).
  for (const p of await restoreContainerMounts(ctx.o.volumes, record.id, mountsOf(record), { running: live })) {
    report.problems.push(problem(ctx, record.id, `volumes: ${p}`));
  }
  if (live) {
    e.log = await openLog(ctx, e);
    e.hub.setSink(e.log);
    const task = await l.container.attachTask({ attachStdio: e.hub.attachStdio });
    e.state.setRunning(l.container, task, !record.state.startedAt);
    if (t.status !== TaskStatus.RUNNING) e.state.setPaused();
    report.running++;
    await persist(ctx, e);
    startHealth(ctx, e, task);
  } else {
    const wasRunning = record.state.running;
    // Keep the handle (so rm deletes it) and reap a stopped task for its real exit code.
    e.state.attachContainer(l.container);
    let exitCode = record.state.exitCode;
    let exitedAt: Date | undefined = record.state.finishedAt ? new Date(record.state.finishedAt) : undefined;
    if (t) {
      const task = await l.container.task();
      try {
        // Bounded: a task whose shim does not answer (status unknown, e.g. its creation was
        // cut short) must not hold the whole daemon's start-up.
        const st = await task.delete({ timeoutMs: RESTORE_REAP_TIMEOUT_MS });
        exitCode = t.status === TaskStatus.STOPPED ? t.exitStatus : st.exitCode;
        exitedAt = t.exitedAt ?? st.exitedAt;
      } catch (err) {
        if (!isNotFound(err)) {
          report.problems.push(problem(ctx, record.id, `task could not be reaped: ${err instanceof Error ? err.message : String(err)}`));
          if (wasRunning) exitCode = 255;
          e.pendingReap = task;
        }
      }
    } else if (wasRunning) {
      exitCode = 255;
    }
    if (wasRunning) {
      e.state.setStopped({ exitCode, ...(exitedAt ? { exitedAt } : {}) });
      report.exitedWhileDown++;
      await persist(ctx, e);
      emit(ctx, e, "die", { exitCode: String(exitCode) });
    }
  }
}
