/**
 * The container-filesystem operations of the engine — docker cp (stat, get, put), export and
 * changes — over one rootfs view, for running, created and stopped containers alike. The engine
 * decides, under the container's lock, where the filesystem is (`FsTarget`); these functions do
 * the rest without RPCs: a running container's rootfs is the task's bundle rootfs (mounted by
 * the shim), any other is mounted from the snapshot's recorded mounts (rootfs-view.ts).
 *
 * docker cp sees the container's volumes and binds, as dockerd mounts them for it (`binds`);
 * export and changes are the snapshot alone, as dockerd's layer mount is. (On a running
 * container, cp reaches the bundle rootfs only: its volumes are in its own mount namespace.)
 */
import { PassThrough, type Readable } from "node:stream";

import { BerthError, errNotImplemented, isNotFound } from "../base/errors.js";
import type { RootfsRecord } from "../container/index.js";
import { archiveOps } from "./archive.js";
import { putArchive as extractInto } from "./archive-put.js";
import { overlayChanges, type FilesystemChange } from "./rootfs-changes.js";
import { exportRootfs } from "./rootfs-export.js";
import { overlayDirs } from "../base/overlay-mount.js";
import type { RootfsSource, RootfsViews, ViewBind } from "./rootfs-view.js";
import type { PathStat } from "./types.js";
import type { ShiftMaps } from "./userns-shift.js";

export interface FsTarget {
  id: string;
  /** The container as the client named it, for dockerd's messages ("... in container web"). */
  ref: string;
  rootfs: RootfsRecord | undefined;
  /** The task's bundle rootfs while a task exists (running or paused). */
  taskRootfs: string | undefined;
  /** The container's volumes and binds, mounted into a view of its snapshot when it has no task. */
  binds?: readonly ViewBind[];
  /** The container's user-namespace mappings (--userns-remap): cp shows and writes its ids. */
  maps?: ShiftMaps;
}

/**
 * Paths dockerd puts in a container's init layer (below its writable layer), so that they never
 * show as changes; berth's runtime creates the missing ones as mount points in the snapshot.
 */
export const RUNTIME_MOUNT_POINTS: ReadonlySet<string> = new Set([
  "/.dockerenv", "/dev", "/dev/console", "/dev/pts", "/dev/shm", "/etc/hostname", "/etc/hosts", "/etc/mtab", "/etc/resolv.conf", "/proc", "/sys",
]);

function sourceOf(t: FsTarget): RootfsSource {
  if (t.taskRootfs) return { kind: "path", path: t.taskRootfs };
  const r = t.rootfs;
  if (!r) throw errNotImplemented(`container ${t.id} has no root filesystem berth can open`);
  return r.kind === "path" ? { kind: "path", path: r.path } : { kind: "snapshot", mounts: r.mounts, ...(t.binds ? { binds: t.binds } : {}) };
}

/**
 * A readable that releases its view when it ends, fails or is dropped by its reader. Its end
 * comes after the release: a reader that saw the whole tar finds the snapshot unmounted.
 */
function releasing(stream: Readable, release: () => Promise<void>): Readable {
  const out = new PassThrough();
  let released: Promise<void> | undefined;
  const finish = () => (released ??= release());
  stream.on("error", (err) => {
    out.destroy(err);
    void finish().catch(() => {});
  });
  stream.on("end", () => {
    finish().then(() => out.end(), (err: Error) => out.destroy(err));
  });
  out.on("close", () => {
    stream.destroy();
    void finish().catch(() => {});
  });
  stream.pipe(out, { end: false });
  return out;
}

/** dockerd names the container in a missing path's message: "... in container <ref>". */
async function naming<T>(t: FsTarget, op: Promise<T>): Promise<T> {
  try {
    return await op;
  } catch (e) {
    if (isNotFound(e) && e.message.endsWith(" in container")) throw new BerthError("not-found", `${e.message} ${t.ref}`, { cause: e });
    throw e;
  }
}

export function containerFs(views: RootfsViews) {
  return {
    statPath(t: FsTarget, p: string): Promise<PathStat> {
      return naming(t, views.use(t.id, sourceOf(t), (root) => archiveOps(root, t.maps).stat(p)));
    },

    async getArchive(t: FsTarget, p: string): Promise<{ stat: PathStat; tar: Readable }> {
      const v = await views.open(t.id, sourceOf(t));
      try {
        const { stat, tar } = await naming(t, archiveOps(v.root, t.maps).get(p));
        return { stat, tar: releasing(tar, v.release) };
      } catch (e) {
        await v.release();
        throw e;
      }
    },

    putArchive(t: FsTarget, p: string, tar: Readable, o: { noOverwriteDirNonDir?: boolean } = {}): Promise<void> {
      return naming(t, views.use(t.id, sourceOf(t), (root) => extractInto(root, p, tar, { ...o, ...(t.maps ? { maps: t.maps } : {}) })));
    },

    async exportRootfs(t: FsTarget, o: { signal?: AbortSignal } = {}): Promise<Readable> {
      // The same view as cp's (shared while both are open); the tar leaves its volumes out.
      const v = await views.open(t.id, sourceOf(t));
      return releasing(exportRootfs(v.root, { ...o, ...(t.maps ? { maps: t.maps } : {}) }), v.release);
    },

    /** dockerd's /changes: read from the snapshot's directories, never mounted. */
    async changes(t: FsTarget): Promise<FilesystemChange[]> {
      const r = t.rootfs;
      if (r?.kind !== "snapshot" || r.mounts.length !== 1) throw errNotImplemented(`the changes of container ${t.id} cannot be listed: its filesystem is not a snapshot`);
      const m = r.mounts[0]!;
      if (m.type === "bind" || m.options.includes("bind") || m.options.includes("rbind")) {
        return overlayChanges({ upper: m.source, lowers: [] }, { runtimeMountPoints: RUNTIME_MOUNT_POINTS });
      }
      const { upper, lowers } = overlayDirs(m);
      if (m.type !== "overlay" || !upper) throw errNotImplemented(`the changes of container ${t.id} cannot be listed from a ${m.type} mount`);
      return overlayChanges({ upper, lowers }, { runtimeMountPoints: RUNTIME_MOUNT_POINTS });
    },
  };
}

export type ContainerFs = ReturnType<typeof containerFs>;
