// docker rm, rename and update: the operations that change or end a container's record.
import { removeLink } from "./links.js";
import { errConflict, errInvalidArgument, isBerthError } from "../../base/errors.js";
import type { PreparedRootfs } from "../image-source.js";
import { releaseContainerMounts } from "../../volumes/index.js";
import { SIGKILL } from "../signals.js";
import type { RemoveOptions, UpdateOptions } from "../types.js";
import { emit, entryOf, hasLiveTask, ignoreNotFound, mountsOf, persist, reapPending, specOf, type EngineContext } from "./context.js";
import { killAll } from "./lifecycle.js";
import { cancelRestart } from "./monitor.js";
import { checkContainerName } from "./names.js";

export async function remove(ctx: EngineContext, ref: string, o: RemoveOptions = {}): Promise<void> {
  if (o.link) return removeLink(ctx, ref);
  const e = entryOf(ctx, ref);
  const id = e.record.id;
  if ((e.state.isRunning || e.state.isPaused) && !o.force) {
    const what = e.state.isPaused ? "paused" : "running";
    throw errConflict(`You cannot remove a ${what} container ${id}. ${e.state.isPaused ? "Unpause and then stop" : "Stop"} the container before attempting removal or force remove`);
  }
  if (e.state.setRemovalInProgress()) throw errConflict(`removal of container ${id} is already in progress`);
  try {
    // Persisted first: a removal cut short by a crash is finished by the next restore.
    await e.lock.run(() => persist(ctx, e));
    e.restart.cancel();
    await e.lock.run(() => cancelRestart(ctx, e));
    if (e.state.isRunning) {
      e.stopping = true;
      const stopped = e.state.wait("not-running");
      await killAll(e);
      emit(ctx, e, "kill", { signal: String(SIGKILL) });
      await stopped;
    }
    await e.lock.run(async () => {
      await reapPending(e);
      const c = e.state.releaseContainer();
      if (c) await c.delete().catch(ignoreNotFound);
      else await ctx.o.containerd.containers.delete(id).catch(ignoreNotFound);
      await ctx.views.whenIdle(id);
      if (e.record.rootfs) await ctx.o.images.removeRootfs(id, e.record.rootfs as PreparedRootfs);
      await ctx.o.network?.detach(id).catch(() => {});
      await releaseContainerMounts(ctx.o.volumes, id, mountsOf(e.record), { removeAnonymous: !!o.removeVolumes });
      await e.log?.close();
      e.log = undefined;
      await ctx.store.delete(id);
      for (const x of ctx.execs.ofContainer(id)) ctx.execs.delete(x.id);
      ctx.names.releaseAll(id);
      ctx.shimGroups?.release(id);
      ctx.index.delete(id);
      e.hub.endPending();
      e.state.setRemoved();
    });
    emit(ctx, e, "destroy");
  } catch (err) {
    e.state.resetRemovalInProgress();
    // The record on disk said "removal in progress": a restore would finish a removal that
    // failed and was reported as failed.
    await e.lock.run(() => persist(ctx, e)).catch(() => {});
    throw err;
  }
}

export async function rename(ctx: EngineContext, ref: string, newName: string): Promise<void> {
  const e = entryOf(ctx, ref);
  if (!newName) throw errInvalidArgument("Neither old nor new names may be empty");
  checkContainerName(newName);
  const oldName = e.record.name;
  await e.lock.run(async () => {
    const canonical = ctx.names.rename(oldName, newName);
    if (canonical === oldName) throw errConflict(`Renaming a container with the same name as its current name`);
    e.record.name = canonical;
    await ctx.o.network?.rename(e.record.id, canonical.slice(1)).catch(() => {});
    try {
      await persist(ctx, e);
    } catch (err) {
      ctx.names.rename(canonical, oldName);
      e.record.name = oldName;
      throw err;
    }
  });
  emit(ctx, e, "rename", { oldName });
}

export async function update(ctx: EngineContext, ref: string, o: UpdateOptions): Promise<{ warnings: string[] }> {
  const e = entryOf(ctx, ref);
  const warnings: string[] = [];
  await e.lock.run(async () => {
    const before = structuredClone(e.record.hostConfig);
    const hc = e.record.hostConfig;
    if (o.resources) {
      const r = { ...hc.resources };
      for (const [k, v] of Object.entries(o.resources)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
      // dockerd: a new memory limit above the old memory+swap needs a new memory+swap too.
      if (o.resources.memory && !o.resources.memorySwap && hc.resources.memorySwap > 0 && o.resources.memory > hc.resources.memorySwap) {
        throw errConflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time");
      }
      hc.resources = r;
    }
    if (o.restartPolicy) {
      if (o.restartPolicy.name !== "no" && hc.autoRemove) throw errInvalidArgument("Restart policy cannot be updated because AutoRemove is enabled for the container");
      hc.restartPolicy = o.restartPolicy;
      e.restart.setPolicy(o.restartPolicy);
    }
    try {
      const spec = await specOf(ctx, e.record);
      if (hasLiveTask(e) && o.resources) {
        await e.state.runningTask().updateResources(spec.linux?.resources ?? {}).catch((err: unknown) => {
          // The kernel refused a cgroup value (runc: `failed to write "…": … invalid argument`):
          // the client's input, in dockerd's words, not a daemon failure.
          if (isBerthError(err) && /failed to write .*(invalid argument|numerical result out of range)/i.test(err.message)) {
            throw errInvalidArgument(`Cannot update container ${e.record.id}: ${err.message}`, { cause: err });
          }
          throw err;
        });
      }
      const c = e.state.container;
      if (c) await c.updateSpec(spec);
      await persist(ctx, e);
    } catch (err) {
      e.record.hostConfig = before;
      throw err;
    }
  });
  emit(ctx, e, "update");
  return { warnings };
}
