/**
 * A container's volumes through its life, in the engine's order (docs/volumes.md):
 *
 *   create  → planMounts + createContainerMounts: volumes created or found, referenced by the
 *             container; the resolved list goes into the container record.
 *   start   → activateContainerMounts: devices of volumes with mount options mounted, then, on
 *             the first start, copy-up of image content into empty volumes.
 *   stop    → deactivateContainerMounts: the last container out unmounts a volume's device.
 *   remove  → releaseContainerMounts: references dropped; anonymous volumes removed with
 *             `docker rm -v` and `--rm` (named volumes never).
 *   restore → restoreContainerMounts: references (and, for running containers, mounts) re-taken
 *             from the records after a berthd restart.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

import { errInternal, isConflict, isNotFound } from "../base/errors.js";
import { copyImageContent, isEmptyDir, openRootfsView, type RootfsSource, type RootfsView } from "./copy-up.js";
import { messageOf } from "../base/durable-fs.js";
import type { PlannedMount } from "./mount-plan.js";
import { volumeNamesOf } from "./resolved-mounts.js";
import type { VolumeStore } from "./store.js";
import { COPYUP } from "./volume-record.js";
import type { ResolvedMount } from "./types.js";

/**
 * Creates (or finds) the plan's volumes with a reference for `containerId` and resolves every
 * mount to host paths. On failure, what this call referenced is released and the anonymous
 * volumes it created are removed.
 */
export async function createContainerMounts(
  store: VolumeStore,
  containerId: string,
  plan: readonly PlannedMount[],
  o: { signal?: AbortSignal } = {},
): Promise<ResolvedMount[]> {
  const resolved: ResolvedMount[] = [];
  try {
    for (const m of plan) {
      switch (m.type) {
        case "bind":
          resolved.push({
            type: "bind",
            source: m.source,
            destination: m.destination,
            readonly: m.readonly,
            propagation: m.propagation,
            copyUp: false,
            mode: m.mode,
            ...(m.nonRecursive ? { nonRecursive: true } : {}),
            ...(m.createMountpoint ? { createMountpoint: true } : {}),
          });
          break;
        case "tmpfs":
          resolved.push({ type: "tmpfs", source: "", destination: m.destination, readonly: m.readonly, propagation: "", copyUp: false, mode: "", tmpfsOptions: m.tmpfsOptions });
          break;
        case "volume": {
          const v = await store.create({
            ...(m.name !== undefined ? { name: m.name } : {}),
            driver: m.driver,
            ...(m.driverOptions ? { driverOptions: m.driverOptions } : {}),
            ...(m.labels ? { labels: m.labels } : {}),
            reference: containerId,
            ...(o.signal ? { signal: o.signal } : {}),
          });
          resolved.push({
            type: "volume",
            source: v.mountpoint,
            destination: m.destination,
            readonly: m.readonly,
            propagation: "",
            volumeName: v.name,
            anonymous: m.name === undefined,
            copyUp: m.copyUp,
            mode: m.mode,
          });
          break;
        }
      }
    }
  } catch (e) {
    await releaseContainerMounts(store, containerId, resolved, { removeAnonymous: true }).catch(() => {});
    throw e;
  }
  return resolved;
}

export interface ActivateOptions {
  /** The container's image filesystem, for copy-up. */
  rootfs?: RootfsSource;
  /**
   * Copy image content into empty volumes (mounts with copyUp). dockerd does it once, when the
   * container is created; the engine passes true on the container's first start.
   */
  populate?: boolean;
  signal?: AbortSignal;
}

/**
 * Before the task is created: mounts the devices of volumes with mount options, creates missing
 * bind sources that asked for it, and copies image content into empty volumes. Returns the
 * destinations that were populated. On failure, the volumes this call mounted are unmounted.
 */
export async function activateContainerMounts(
  store: VolumeStore,
  containerId: string,
  mounts: readonly ResolvedMount[],
  o: ActivateOptions = {},
): Promise<{ populated: string[] }> {
  const populated: string[] = [];
  try {
    for (const m of mounts) {
      if (m.type === "volume" && m.volumeName) {
        await store.mount(m.volumeName, containerId, o.signal ? { signal: o.signal } : {});
      } else if (m.type === "bind" && m.createMountpoint) {
        await mkdir(m.source, { recursive: true, mode: 0o755 });
      }
    }
    if (o.populate && o.rootfs) {
      const candidates: ResolvedMount[] = [];
      for (const m of mounts) if (m.type === "volume" && m.copyUp && (await isEmptyDir(m.source))) candidates.push(m);
      if (candidates.length > 0) {
        const view: RootfsView = await openRootfsView(o.rootfs, {
          tempDir: (suffix) => join(store.dir, COPYUP + suffix),
          ...(o.signal ? { signal: o.signal } : {}),
        });
        try {
          for (const m of candidates) {
            if (await copyImageContent(view.root, m.destination, m.source, o.signal ? { signal: o.signal } : {})) populated.push(m.destination);
          }
        } finally {
          await view.close();
        }
      }
    }
  } catch (e) {
    await deactivateContainerMounts(store, containerId, mounts).catch(() => {});
    throw e;
  }
  return { populated };
}

/** After the task is gone for good (not between restarts): the last user unmounts a device. */
export async function deactivateContainerMounts(store: VolumeStore, containerId: string, mounts: readonly ResolvedMount[]): Promise<void> {
  let first: unknown;
  for (const name of new Set(volumeNamesOf(mounts))) {
    try {
      await store.unmount(name, containerId);
    } catch (e) {
      first ??= e;
    }
  }
  if (first !== undefined) throw first;
}

/**
 * When the container is removed: drops its references and, with `removeAnonymous` (`rm -v`,
 * AutoRemove), removes its anonymous volumes unless another container still uses them (as
 * dockerd: not an error). Returns the removed names; other failures are reported together,
 * after every volume was tried, as dockerd's "Error removing volumes:".
 */
export async function releaseContainerMounts(
  store: VolumeStore,
  containerId: string,
  mounts: readonly ResolvedMount[],
  o: { removeAnonymous?: boolean } = {},
): Promise<string[]> {
  const removed: string[] = [];
  const errors: string[] = [];
  for (const m of mounts) {
    if (m.type !== "volume" || !m.volumeName) continue;
    await store.unmount(m.volumeName, containerId).catch((e: unknown) => errors.push(messageOf(e)));
    store.release(m.volumeName, containerId);
    if (!o.removeAnonymous || !m.anonymous) continue;
    try {
      await store.remove(m.volumeName);
      removed.push(m.volumeName);
    } catch (e) {
      if (!isConflict(e) && !isNotFound(e)) errors.push(messageOf(e));
    }
  }
  if (errors.length > 0) throw errInternal(`Error removing volumes:\n${errors.join("\n")}`);
  return removed;
}

/**
 * At engine restore, per container record: re-takes the references, and for a running
 * container its mounts (a device still mounted from before is reused). Returns problems (a
 * volume that no longer exists) instead of throwing, so one container does not stop the rest.
 */
export async function restoreContainerMounts(
  store: VolumeStore,
  containerId: string,
  mounts: readonly ResolvedMount[],
  o: { running: boolean },
): Promise<string[]> {
  const problems: string[] = [];
  for (const name of new Set(volumeNamesOf(mounts))) {
    try {
      store.acquire(name, containerId);
      if (o.running) await store.mount(name, containerId);
    } catch (e) {
      problems.push(messageOf(e));
    }
  }
  return problems;
}
