// The engine: the operations of ./*.ts over one shared context (context.ts), assembled into the
// `Engine` the API serves. This file only wires: where an operation is timed for metrics is the
// TIMED table; a new operation is a function in its concern's module plus one line here.
import { defaultCgroupParent, hostCgroups } from "../cgroups.js";
import fs from "node:fs/promises";
import path from "node:path";
import { createContainerIndex, createContainerStore, createNameRegistry } from "../../container/index.js";
import { createClient, type LibcontainerdClient } from "../../libcontainerd/index.js";
import { EventBus } from "../event-bus.js";
import { ExecStore } from "../exec-store.js";
import type { Engine, EventQuery, RestoreReport } from "../types.js";
import { timed, type EngineContext, type EngineOptions, type Entry } from "./context.js";
import { create } from "./create.js";
import { kill, pause, restart, start, stop, unpause, wait } from "./lifecycle.js";
import { MONITORED_EVENTS, processEvent } from "./monitor.js";
import { execCreate, execInspect, execResize, execStart } from "./exec.js";
import { remove, rename, update } from "./remove.js";
import { attach, counts, inspect, list, logs, resize, statsBatcher, top } from "./views.js";
import { changes, exportContainer, getArchive, putArchive, statPath } from "./archive.js";
import { commit } from "./commit.js";
import { RootfsViews } from "../rootfs-view.js";
import { shimGroupsFor } from "../shim-groups.js";
import { connectNetwork, disconnectNetwork, networkInUse } from "./network.js";
import { cleanupsDone, restore } from "./restore.js";

export { engineOpChannel, type EngineOptions } from "./context.js";
export { cleanupChannel } from "./restore.js";

export interface EngineInternals {
  restore(): Promise<RestoreReport>;
  readonly libcontainerd: LibcontainerdClient;
  /** Engine events: the API publishes image, volume and network events here too. */
  readonly eventBus: EventBus;
  /** Whether any container, running or not, is configured on the network. */
  networkInUse(name: string): boolean;
  /** Resolves when the restore's background cleanups (what a crash left) are done. */
  cleanupsDone(): Promise<void>;
}

/** The operations published on engineOpChannel (duration, outcome), under these names. */
const TIMED = { create, start, stop, restart, kill, pause, unpause, remove, rename, update, execStart, commit };

/** The other operations: reads, streams, and what the daemon calls at start. */
const UNTIMED = {
  wait, inspect, list, counts, top, resize, attach, logs,
  execCreate, execInspect, execResize,
  statPath, getArchive, putArchive, changes, exportContainer,
  connectNetwork, disconnectNetwork, networkInUse,
  restore, cleanupsDone,
};

type Op = (ctx: EngineContext, ...args: never[]) => unknown;
type Bound<T extends Record<string, Op>> = {
  [K in keyof T]: T[K] extends (ctx: EngineContext, ...args: infer A) => infer R ? (...args: A) => R : never;
};

function bind<T extends Record<string, Op>>(ctx: EngineContext, ops: T, wrap?: (name: string, run: () => Promise<unknown>) => Promise<unknown>): Bound<T> {
  const out: Record<string, unknown> = {};
  for (const [name, op] of Object.entries(ops)) {
    const f = op as (ctx: EngineContext, ...args: unknown[]) => unknown;
    out[name] = wrap
      ? (...args: unknown[]) => wrap(name, () => f(ctx, ...args) as Promise<unknown>)
      : (...args: unknown[]) => f(ctx, ...args);
  }
  return out as Bound<T>;
}

export async function createEngine(o: EngineOptions): Promise<Engine & EngineInternals> {
  await fs.mkdir(o.root, { recursive: true, mode: 0o710 });
  const names = createNameRegistry();
  const cgroups = o.cgroups ?? hostCgroups();
  const ctx: EngineContext = {
    o,
    now: o.now ?? (() => new Date()),
    store: createContainerStore({ root: o.root }),
    names,
    index: createContainerIndex<Entry>(names),
    execs: new ExecStore(),
    events: o.events ?? new EventBus(),
    cgroupParent: o.cgroupParent ?? defaultCgroupParent(cgroups.driver, o.containerd.namespace),
    cgroups,
    closed: false,
    cleanups: new Set(),
    shimGroups: shimGroupsFor(o.shimGroupSize),
    views: new RootfsViews({ dir: path.join(o.root, "rootfs") }),
    // The monitor receives containerd's events for the containers of this context.
    lcd: await (o.libcontainerd ?? ((backend) => createClient({ containerd: o.containerd, stateDir: path.join(o.root, "fifo"), backend, eventTypes: MONITORED_EVENTS })))({
      processEvent: (id, type, info) => processEvent(ctx, id, type, info),
    }),
  };
  return {
    ...bind(ctx, TIMED, timed),
    ...bind(ctx, UNTIMED),
    stats: statsBatcher(ctx),
    events: (q: EventQuery) => ctx.events.subscribe(q),
    eventBus: ctx.events,
    libcontainerd: ctx.lcd,
    close: () => close(ctx),
  };
}

async function close(ctx: EngineContext): Promise<void> {
  if (ctx.closed) return;
  ctx.closed = true;
  for (const e of ctx.index.values()) {
    clearTimeout(e.restartTimer);
    e.healthStop?.abort();
  }
  // Live restore: containers keep running; only our ends of their stdio and logs close.
  await ctx.lcd.close();
  for (const e of ctx.index.values()) await e.log?.close().catch(() => {});
}
