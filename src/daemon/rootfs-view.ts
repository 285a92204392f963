/**
 * A container's root filesystem as a directory berthd can read and write, whether or not the
 * container runs (docker cp, export, the changes of a stopped container). dockerd gets this from
 * its graph driver's refcounted Get/Put; containerd mounts a snapshot only inside a task's bundle,
 * so for a container without a task berth mounts the snapshot itself:
 *
 *  - a running container: the task's bundle rootfs (the caller passes it as a path);
 *  - a directory rootfs, or a bind snapshot (a snapshot without a parent): its directory;
 *  - an overlay snapshot: `mount -t overlay` with the snapshot's own options (lowerdirs,
 *    upperdir, workdir) on `<dir>/<id>`, read-write, exactly the view the container gets.
 *
 * The mounts come from the container's record (Snapshots/Prepare returned them at create and they
 * never change), so a view costs no RPC. Concurrent users of one container share one mount,
 * counted; the last one out unmounts, on success or error. Mount and unmount of one container
 * are serialized by a keyed lock. `whenIdle(id)` lets start and remove wait until no view holds
 * the snapshot (two read-write overlay mounts of one upperdir are undefined behaviour), and
 * `cleanup()` unmounts whatever a crash left under `<dir>` (berthd start).
 */
import fs from "node:fs/promises";
import path from "node:path";

import { errInternal, errInvalidArgument } from "../base/errors.js";
import { KeyedLock } from "../base/lock.js";
import { commonDir, MAX_MOUNT_DATA, overlayDirs } from "../base/overlay-mount.js";
import { resolveInRoot } from "./archive.js";
import { mountFilesystem, mountsAtOrUnder, readMountInfo, unmountFilesystem, type MountRequest } from "../volumes/host-mount.js";

/** One mount of a snapshot, as Snapshots/Prepare or Snapshots/Mounts returns it. */
export interface SnapshotMount {
  type: string;
  source: string;
  options: readonly string[];
}

/** A volume or bind of the container, mounted into a snapshot view as dockerd mounts them for cp. */
export interface ViewBind {
  source: string;
  /** Absolute in the container. */
  destination: string;
  readonly: boolean;
}

export type RootfsSource =
  | { kind: "path"; path: string }
  | { kind: "snapshot"; mounts: readonly SnapshotMount[]; binds?: readonly ViewBind[] };

export interface RootfsViewsOptions {
  /** Where the mount points live (`<berth root>/rootfs`); berth owns everything under it. */
  dir: string;
  /** Test hooks: the mount and unmount calls. */
  mount?: (r: MountRequest) => Promise<void>;
  unmount?: (target: string) => Promise<void>;
}

const PATH_OPTIONS = ["lowerdir", "upperdir", "workdir"] as const;

const isBind = (m: SnapshotMount) => m.type === "bind" || m.type === "rbind" || m.options.includes("bind") || m.options.includes("rbind");

/**
 * mount(8)'s -o for an overlay snapshot mount, and the directory to run it in when the paths had
 * to be made relative to fit in one page (containerd does the same for long lowerdir lists).
 */
export function overlayMountOptions(options: readonly string[], maxData = MAX_MOUNT_DATA): { options: string; cwd?: string } {
  const joined = options.join(",");
  if (joined.length <= maxData) return { options: joined };
  const dirs = options.flatMap((o) => {
    const key = PATH_OPTIONS.find((k) => o.startsWith(k + "="));
    return key ? o.slice(key.length + 1).split(":") : [];
  });
  const cwd = commonDir(dirs);
  const relative = options.map((o) => {
    const key = PATH_OPTIONS.find((k) => o.startsWith(k + "="));
    if (!key) return o;
    return `${key}=${o.slice(key.length + 1).split(":").map((d) => path.posix.relative(cwd, d) || ".").join(":")}`;
  }).join(",");
  if (relative.length > maxData) throw errInvalidArgument(`too many layers to mount the container's filesystem (${dirs.length} directories)`);
  return { options: relative, cwd };
}

interface Held {
  root: string;
  refs: number;
  /** Set when this view mounted something that the last user must unmount. */
  mounted: string | undefined;
}

export class RootfsViews {
  readonly #o: RootfsViewsOptions;
  readonly #lock = new KeyedLock();
  readonly #held = new Map<string, Held>();
  readonly #idle = new Map<string, (() => void)[]>();

  constructor(o: RootfsViewsOptions) {
    this.#o = o;
  }

  /** Views open now (a container ID, or ID NUL path for one in place) and their users. */
  get users(): ReadonlyMap<string, number> {
    return new Map([...this.#held].map(([key, h]) => [key, h.refs]));
  }

  /** Runs `fn` with the container's filesystem at a host path; the view is released after. */
  async use<T>(id: string, source: RootfsSource, fn: (root: string) => Promise<T>): Promise<T> {
    const root = await this.#acquire(id, source);
    try {
      return await fn(root);
    } finally {
      await this.#release(this.#keyOf(id, source));
    }
  }

  /**
   * Opens a view that outlives a call (a streamed export): `release` must be called once, when
   * the last byte is read or the reader went away.
   */
  async open(id: string, source: RootfsSource): Promise<{ root: string; release: () => Promise<void> }> {
    const root = await this.#acquire(id, source);
    let released = false;
    return {
      root,
      release: async () => {
        if (released) return;
        released = true;
        await this.#release(this.#keyOf(id, source));
      },
    };
  }

  /** Resolves once no snapshot view of `id` is mounted (start and remove wait for this). */
  whenIdle(id: string): Promise<void> {
    if (!this.#held.has(id)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.#idle.get(id) ?? [];
      list.push(resolve);
      this.#idle.set(id, list);
    });
  }

  /**
   * Views share by container and source: a snapshot view under the container's ID (the one
   * start and remove wait for), a directory in place under its path, so a view opened on a
   * running container's bundle is never handed to a reader after the container stopped.
   */
  #keyOf(id: string, source: RootfsSource): string {
    return source.kind === "path" ? `${id}\0${source.path}` : id;
  }

  #acquire(id: string, source: RootfsSource): Promise<string> {
    const key = this.#keyOf(id, source);
    return this.#lock.run(key, async () => {
      const held = this.#held.get(key);
      if (held) {
        held.refs++;
        return held.root;
      }
      const { root, mounted } = await this.#open(id, source);
      this.#held.set(key, { root, refs: 1, mounted });
      return root;
    });
  }

  #release(key: string): Promise<void> {
    return this.#lock.run(key, async () => {
      const held = this.#held.get(key);
      if (!held || --held.refs > 0) return;
      try {
        if (held.mounted) await this.#unmount(held.mounted);
      } finally {
        this.#held.delete(key);
        for (const w of this.#idle.get(key) ?? []) w();
        this.#idle.delete(key);
      }
    });
  }

  async #open(id: string, source: RootfsSource): Promise<{ root: string; mounted: string | undefined }> {
    if (source.kind === "path") return { root: source.path, mounted: undefined };
    if (source.mounts.length !== 1) throw errInvalidArgument(`cannot open a container filesystem of ${source.mounts.length} mounts`);
    const m = source.mounts[0]!;
    if (isBind(m)) return { root: m.source, mounted: undefined };
    if (m.type !== "overlay") throw errInvalidArgument(`cannot open a container filesystem mount of type ${JSON.stringify(m.type)}`);
    const { options, cwd } = overlayMountOptions(m.options);
    const target = path.join(this.#o.dir, id);
    await fs.mkdir(target, { recursive: true, mode: 0o700 });
    const mount = this.#o.mount ?? mountFilesystem;
    try {
      await mount({ type: "overlay", device: "overlay", target, options, ...(cwd ? { cwd } : {}) });
    } catch (e) {
      await fs.rmdir(target).catch(() => {});
      throw e;
    }
    try {
      await this.#mountBinds(target, source.binds ?? []);
    } catch (e) {
      await this.#unmount(target).catch(() => {});
      throw e;
    }
    return { root: target, mounted: target };
  }

  /**
   * The container's volumes and binds over the view, parents first, each destination resolved
   * inside the view (symlinks cannot lead out) and created when missing, as dockerd's
   * mountVolumes does for docker cp. Unmounting the view detaches them with it.
   */
  async #mountBinds(root: string, binds: readonly ViewBind[]): Promise<void> {
    const mount = this.#o.mount ?? mountFilesystem;
    const ordered = [...binds].sort((a, b) => a.destination.split("/").length - b.destination.split("/").length);
    for (const b of ordered) {
      const dest = await resolveInRoot(root, b.destination);
      const isDir = (await fs.stat(b.source)).isDirectory();
      if (isDir) await fs.mkdir(dest, { recursive: true, mode: 0o755 });
      else {
        await fs.mkdir(path.dirname(dest), { recursive: true, mode: 0o755 });
        await (await fs.open(dest, "a", 0o644)).close();
      }
      await mount({ type: "none", device: b.source, target: dest, options: "rbind" });
      if (b.readonly) await mount({ type: "none", device: "none", target: dest, options: "remount,bind,ro" });
    }
  }

  async #unmount(target: string): Promise<void> {
    await (this.#o.unmount ?? unmountFilesystem)(target);
    // rmdir, never rm -r: if the unmount did not happen, the container's files stay untouched.
    await fs.rmdir(target);
  }

  /**
   * After a crash: unmounts every mount under `dir` and removes the empty mount points. Only at
   * berthd start, before any view opens. Returns the mount points it unmounted.
   */
  async cleanup(): Promise<string[]> {
    const stale = mountsAtOrUnder(await readMountInfo(), this.#o.dir).filter((p) => p !== this.#o.dir);
    for (const p of stale) await (this.#o.unmount ?? unmountFilesystem)(p);
    let names: string[] = [];
    try {
      names = await fs.readdir(this.#o.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    for (const n of names) {
      await fs.rmdir(path.join(this.#o.dir, n)).catch((e: NodeJS.ErrnoException) => {
        throw errInternal(`cannot remove the stale container filesystem view ${path.join(this.#o.dir, n)}: ${e.code ?? e.message}`, { cause: e });
      });
    }
    return stale;
  }
}

export function createRootfsViews(o: RootfsViewsOptions): RootfsViews {
  return new RootfsViews(o);
}
