// The rootfs view: where a container's root filesystem is on the host, and docker cp inside it
// (stat, read as tar, extract a tar). Everything that reads or writes a container's files
// (cp today; commit, export and changes next) gets the rootfs here.
import path from "node:path";
import type { Readable } from "node:stream";
import { errConflict } from "../../base/errors.js";
import { archiveOps } from "../archive.js";
import { remapOf } from "../container-spec.js";
import type { PathStat } from "../types.js";
import { entryOf, type EngineContext, type Entry } from "./context.js";

/** The rootfs on the host: a directory rootfs always; a snapshot only while its task runs. */
export function rootfsPath(ctx: EngineContext, e: Entry): string | undefined {
  const fsr = e.record.rootfs;
  if (!fsr) return undefined;
  if (fsr.kind === "path") return fsr.path;
  // While a task runs, the shim has the snapshot mounted in the task's bundle.
  if (!e.state.isRunning) return undefined;
  const stateDir = ctx.o.containerdStateDir ?? "/run/containerd";
  return path.join(stateDir, "io.containerd.runtime.v2.task", ctx.o.containerd.namespace, e.record.id, "rootfs");
}

function mountedRootfs(ctx: EngineContext, e: Entry): string {
  const p = rootfsPath(ctx, e);
  if (!p) throw errConflict(`container ${e.record.id} is not running: copying files needs a running container for now`);
  return p;
}

/** cp inside the container's rootfs, with its owners mapped when it runs in a user namespace. */
function archiveOpsOf(ctx: EngineContext, e: Entry) {
  const maps = remapOf(e.record, ctx.o.security);
  return archiveOps(mountedRootfs(ctx, e), maps);
}

export async function statPath(ctx: EngineContext, ref: string, p: string): Promise<PathStat> {
  return archiveOpsOf(ctx, entryOf(ctx, ref)).stat(p);
}

export async function getArchive(ctx: EngineContext, ref: string, p: string, o: { signal?: AbortSignal } = {}): Promise<{ stat: PathStat; tar: Readable }> {
  const e = entryOf(ctx, ref);
  o.signal?.throwIfAborted();
  const r = await archiveOpsOf(ctx, e).get(p);
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
  await archiveOpsOf(ctx, e).put(p, tar, { ...(o.noOverwriteDirNonDir !== undefined ? { noOverwriteDirNonDir: o.noOverwriteDirNonDir } : {}), ...(o.signal ? { signal: o.signal } : {}) });
}
