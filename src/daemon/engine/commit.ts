// docker commit: a new image from the container's snapshot changes (the image source computes
// the layer with containerd's Diff service: ../../images/commit.ts). A running container is
// paused during the diff, as dockerd does, best effort: one that exits meanwhile is committed as
// it is. RPCs: the image source's (9, or 6 without changes) plus Tasks/Pause and Tasks/Resume.
import { errNotImplemented } from "../../base/errors.js";
import type { PreparedRootfs } from "../image-source.js";
import { remapOf } from "../container-spec.js";
import type { CommitOptions } from "../types.js";
import { entryOf, type EngineContext } from "./context.js";
import { pause, unpause } from "./lifecycle.js";

export async function commit(ctx: EngineContext, ref: string, o: CommitOptions): Promise<{ id: string }> {
  const e = entryOf(ctx, ref);
  const images = ctx.o.images;
  if (!images.commit) throw errNotImplemented("commit needs an image store");
  const rootfs = e.record.rootfs;
  if (rootfs?.kind !== "snapshot") throw errNotImplemented(`container ${e.record.id} has no snapshot to commit`);
  // containerd's diff would write the host's shifted ids into the layer (dockerd maps them back):
  // refused rather than make an image whose files belong to the subordinate ids.
  if (remapOf(e.record, ctx.o.security)) throw errNotImplemented(`container ${e.record.id} runs in a user namespace (--userns-remap): docker commit of it is not supported by berth yet`);
  const s = e.state;
  const paused = o.pause && s.isRunning && !s.isPaused && !s.isRestarting
    && (await pause(ctx, e.record.id).then(() => true, () => false));
  try {
    return await images.commit({
      containerId: e.record.id, imageId: e.record.imageId, rootfs: rootfs as PreparedRootfs, containerConfig: o.containerConfig,
      ...(o.config ? { config: o.config } : {}), ...(o.changes ? { changes: o.changes } : {}),
      ...(o.author ? { author: o.author } : {}), ...(o.comment ? { comment: o.comment } : {}),
      ...(o.reference ? { reference: o.reference } : {}),
    });
  } finally {
    if (paused) await unpause(ctx, e.record.id).catch(() => {});
  }
}
