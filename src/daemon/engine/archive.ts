// The rootfs view: where a container's root filesystem is on the host, and what reads or writes
// it whole — docker cp (stat, read as tar, extract a tar), export and changes — on running,
// created and stopped containers alike (../container-fs.ts, ../rootfs-view.ts). No RPC: a
// running container's rootfs is the task's bundle rootfs; any other is its snapshot, mounted by
// berthd from the mounts its record keeps. cp runs under the container's lock, as dockerd's
// does, so a start waits for it (and for an export's view: lifecycle.ts).
import path from "node:path";
import type { Readable } from "node:stream";
import { errConflict } from "../../base/errors.js";
import { remapOf } from "../container-spec.js";
import { ociMounts } from "../../volumes/index.js";
import { containerFs, type FsTarget } from "../container-fs.js";
import type { FilesystemChange } from "../rootfs-changes.js";
import type { PathStat } from "../types.js";
import { entryOf, mountsOf, type EngineContext, type Entry } from "./context.js";

/** The rootfs on the host: a directory rootfs always; a snapshot only while its task runs. */
export function rootfsPath(ctx: EngineContext, e: Entry): string | undefined {
  const fsr = e.record.rootfs;
  if (!fsr) return undefined;
  if (fsr.kind === "path") return fsr.path;
  // While a task runs, the shim has the snapshot mounted in the task's bundle.
  if (!e.state.isRunning) return undefined;
  return taskRootfs(ctx, e);
}

function taskRootfs(ctx: EngineContext, e: Entry): string {
  const stateDir = ctx.o.containerdStateDir ?? "/run/containerd";
  return path.join(stateDir, "io.containerd.runtime.v2.task", ctx.o.containerd.namespace, e.record.id, "rootfs");
}

/** Where the container's files are now; read under its lock. */
function target(ctx: EngineContext, e: Entry, ref: string): FsTarget {
  // A task exists while running or paused (not between the runs of a restarting container).
  // cp shows and writes the ids the container sees when it runs in a user namespace.
  const maps = remapOf(e.record, ctx.o.security);
  const hasTask = e.state.phase.kind === "running" && e.record.rootfs?.kind === "snapshot";
  return {
    id: e.record.id,
    ref,
    rootfs: e.record.rootfs,
    taskRootfs: hasTask ? taskRootfs(ctx, e) : undefined,
    binds: ociMounts(mountsOf(e.record)).binds.map((m) => ({ source: m.source ?? "", destination: m.destination, readonly: !!m.options?.includes("ro") })),
    ...(maps ? { maps } : {}),
  };
}

const fsOf = (ctx: EngineContext) => containerFs(ctx.views);

export async function statPath(ctx: EngineContext, ref: string, p: string): Promise<PathStat> {
  const e = entryOf(ctx, ref);
  return e.lock.run(() => fsOf(ctx).statPath(target(ctx, e, ref), p));
}

export async function getArchive(ctx: EngineContext, ref: string, p: string, o: { signal?: AbortSignal } = {}): Promise<{ stat: PathStat; tar: Readable }> {
  const e = entryOf(ctx, ref);
  o.signal?.throwIfAborted();
  const r = await e.lock.run(() => fsOf(ctx).getArchive(target(ctx, e, ref), p));
  // The tar is produced as the client reads it: a client that leaves ends its production.
  if (o.signal) {
    const stop = () => r.tar.destroy();
    if (o.signal.aborted) stop();
    else {
      o.signal.addEventListener("abort", stop, { once: true });
      r.tar.once("close", () => o.signal!.removeEventListener("abort", stop));
    }
  }
  return r;
}

export async function putArchive(ctx: EngineContext, ref: string, p: string, tar: Readable, o: { noOverwriteDirNonDir?: boolean; signal?: AbortSignal } = {}): Promise<void> {
  const e = entryOf(ctx, ref);
  if (e.record.hostConfig.readonlyRootfs) throw errConflict("container rootfs is marked read-only");
  await e.lock.run(() => fsOf(ctx).putArchive(target(ctx, e, ref), p, tar, { ...(o.noOverwriteDirNonDir !== undefined ? { noOverwriteDirNonDir: o.noOverwriteDirNonDir } : {}) }));
}

/** docker diff: read from the snapshot's directories (running or not), no lock, no RPC. */
export async function changes(ctx: EngineContext, ref: string): Promise<FilesystemChange[]> {
  const e = entryOf(ctx, ref);
  return fsOf(ctx).changes(target(ctx, e, ref));
}

/** docker export: the view is opened under the lock; the tar streams after it. */
export async function exportContainer(ctx: EngineContext, ref: string, o: { signal?: AbortSignal } = {}): Promise<Readable> {
  const e = entryOf(ctx, ref);
  return e.lock.run(() => fsOf(ctx).exportRootfs(target(ctx, e, ref), o));
}
