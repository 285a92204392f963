// What clients read of containers: inspect, list, counts, top, stats (batched), resize, attach
// and logs.
import os from "node:os";
import { errConflict, errInvalidArgument } from "../../base/errors.js";
import { memoryLimitOrMachine, statsFromMetrics } from "../../libcontainerd/index.js";
import { inspectMounts } from "../../volumes/index.js";
import { readSystemCpuNs } from "../stats.js";
import { topOf } from "../top.js";
import type { AttachOptions, ContainerView, ListOptions, LogEntry, LogOptions, StatsSample, TopResult } from "../types.js";
import { rootfsPath } from "./archive.js";
import { entryOf, hasLiveTask, liveTask, logPath, mountsOf, errNotRunning, type EngineContext, type Entry } from "./context.js";

/** How long stats requests gather before their one Tasks/Metrics call. */
const STATS_BATCH_MS = 15;

function view(ctx: EngineContext, e: Entry): ContainerView {
  const s = e.state;
  const r = e.record;
  return {
    id: r.id,
    name: r.name,
    created: new Date(r.created),
    path: r.path,
    args: [...r.args],
    image: r.config.image,
    imageId: r.imageId,
    config: structuredClone(r.config),
    hostConfig: structuredClone(r.hostConfig),
    restartCount: r.restartCount,
    driver: r.driver,
    state: {
      status: s.status(),
      running: s.isRunning,
      paused: s.isPaused,
      restarting: s.isRestarting,
      oomKilled: s.isOOMKilled,
      dead: s.isDead,
      removing: s.isRemovalInProgress,
      pid: s.pid,
      exitCode: s.exitCode,
      error: s.error ?? "",
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
      health: s.health,
    },
    humanStatus: s.humanStatus(),
    rootfsPath: rootfsPath(ctx, e),
    logPath: r.hostConfig.logConfig.type === "none" ? "" : logPath(ctx, r.id),
    execIds: ctx.execs.ofContainer(r.id).filter((x) => x.running).map((x) => x.id),
    mounts: inspectMounts(mountsOf(r)),
    networks: structuredClone(r.networks ?? {}),
    networkSettings: ctx.o.network?.settings(r.id),
  };
}

export function inspect(ctx: EngineContext, ref: string): ContainerView {
  return view(ctx, entryOf(ctx, ref));
}

export function list(ctx: EngineContext, o: ListOptions = {}): ContainerView[] {
  const out: ContainerView[] = [];
  for (const e of ctx.index.values()) if (o.all || e.state.isRunning) out.push(view(ctx, e));
  return out.sort((a, b) => b.created.getTime() - a.created.getTime() || (a.id < b.id ? -1 : 1));
}

export function counts(ctx: EngineContext) {
  let running = 0, paused = 0, stopped = 0;
  for (const e of ctx.index.values()) {
    if (e.state.isPaused) paused++;
    else if (e.state.isRunning) running++;
    else stopped++;
  }
  return { total: ctx.index.size, running, paused, stopped };
}

export async function top(ctx: EngineContext, ref: string, psArgs?: string): Promise<TopResult> {
  const e = entryOf(ctx, ref);
  const t = await e.lock.run(() => liveTask(e));
  const pids = (await t.pids()).map((p) => p.pid);
  return topOf(pids, psArgs);
}

export async function resize(ctx: EngineContext, ref: string, width: number, height: number): Promise<void> {
  await liveTask(entryOf(ctx, ref)).resize(width, height);
}

interface StatsWaiter {
  resolve: (s: StatsSample) => void;
  reject: (e: unknown) => void;
}

/**
 * Stats requests that arrive together (docker stats of many containers sends one request per
 * container) are answered by ONE Tasks/Metrics call with a filter per container.
 */
export function statsBatcher(ctx: EngineContext) {
  const batch = new Map<string, StatsWaiter[]>();
  let timer: NodeJS.Timeout | undefined;

  async function flush(): Promise<void> {
    timer = undefined;
    const taken = new Map(batch);
    batch.clear();
    try {
      const [metrics, systemCpuNs] = await Promise.all([
        ctx.o.containerd.tasks.metrics([...taken.keys()].map((id) => `id==${id}`)),
        readSystemCpuNs(),
      ]);
      const read = ctx.now();
      const total = os.totalmem();
      const onlineCpus = os.availableParallelism();
      for (const [id, waiters] of taken) {
        const m = metrics.get(id);
        if (!m) {
          for (const w of waiters) w.reject(errConflict(`Container ${id} is not running`));
          continue;
        }
        const stats = statsFromMetrics(m, read);
        stats.memory.limit = memoryLimitOrMachine(stats.memory.limit, total);
        for (const w of waiters) w.resolve({ read, previous: undefined, stats, systemCpuNs, onlineCpus });
      }
    } catch (err) {
      for (const waiters of taken.values()) for (const w of waiters) w.reject(err);
    }
  }

  return async function stats(ref: string, o: { signal?: AbortSignal } = {}): Promise<StatsSample> {
    const e = entryOf(ctx, ref);
    if (!hasLiveTask(e)) throw errNotRunning(e);
    o.signal?.throwIfAborted();
    const id = e.record.id;
    const sample = await new Promise<StatsSample>((resolve, reject) => {
      let waiters = batch.get(id);
      if (!waiters) batch.set(id, (waiters = []));
      const w: StatsWaiter = { resolve, reject };
      waiters.push(w);
      // A client that leaves stops waiting; the batch's one call goes on for the others.
      o.signal?.addEventListener("abort", () => {
        const i = waiters.indexOf(w);
        if (i >= 0) waiters.splice(i, 1);
        reject(o.signal!.reason);
      }, { once: true });
      timer ??= setTimeout(() => void flush(), STATS_BATCH_MS);
    });
    const prev = e.lastStats;
    e.lastStats = { ...sample, previous: undefined };
    return { ...sample, previous: prev };
  };
}

export async function attach(ctx: EngineContext, ref: string, o: AttachOptions): Promise<void> {
  const e = entryOf(ctx, ref);
  if (o.logs) {
    for await (const rec of logs(ctx, ref, { stdout: !!o.stdout, stderr: !!o.stderr, ...(o.signal ? { signal: o.signal } : {}) })) {
      (rec.stream === "stdout" ? o.stdout : o.stderr)?.(rec.line);
    }
  }
  if (o.stream === false) return;
  if (e.state.isRemovalInProgress) throw errConflict(`container ${e.record.id} is being removed`);
  await e.hub.attach(
    { ...(o.stdin ? { stdin: o.stdin } : {}), ...(o.stdout ? { stdout: o.stdout } : {}), ...(o.stderr ? { stderr: o.stderr } : {}) },
    o.signal,
  );
}

export async function* logs(ctx: EngineContext, ref: string, o: LogOptions): AsyncIterable<LogEntry> {
  const e = entryOf(ctx, ref);
  if (e.record.hostConfig.logConfig.type === "none") {
    throw errInvalidArgument(`configured logging driver does not support reading`);
  }
  const done = e.state.isRunning ? e.state.wait("not-running").then(() => undefined) : Promise.resolve();
  yield* ctx.o.logs.read(logPath(ctx, e.record.id), e.record.hostConfig.logConfig.config, { ...o, done });
}
