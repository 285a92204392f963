/**
 * Volumes of the local driver, on disk under `<root>/volumes`, laid out as dockerd lays them out:
 *
 *     <root>/volumes/<name>/_data         the data (a container's bind source)
 *     <root>/volumes/<name>/volume.json   name, driver, labels, options, createdAt
 *
 * Create and remove are atomic on disk: a volume is built under a temporary dot-name (never a
 * valid volume name) and renamed into place; removal renames it away before deleting. What a
 * crash leaves under a dot-name is cleaned when the store opens, so a half-created volume never
 * shows. References (which containers use a volume) live in memory: the engine re-acquires them
 * from its container records when it restores (docs/volumes.md).
 *
 * Volumes with mount options (`type=tmpfs,device=tmpfs,o=size=100m`, `type=none,o=bind,
 * device=/host/dir`) have their device mounted on `_data` while at least one container has them
 * mounted (`mount` / `unmount`, keyed by container ID), as dockerd's local driver does.
 */
import { randomBytes } from "node:crypto";
import { chmod, chown, lstat, mkdir, readdir, readFile, rename, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";

import {
  errConflict,
  errInternal,
  errInvalidArgument,
  errNotFound,
  isBerthError,
} from "../base/errors.js";
import { localMountOptions, LOCAL_DRIVER, redactMountOptions, validateLocalOptions } from "./driver-options.js";
import { errnoOf, messageOf, syncDir, writeNewFileDurably } from "../base/durable-fs.js";
import { listFilter, pruneFilter, type FilterSubject, type VolumeFilters } from "./filters.js";
import { mountFilesystem, mountsAtOrUnder, readMountInfo, unmountFilesystem, isMountPoint } from "./host-mount.js";
import { ANONYMOUS_LABEL, generateVolumeName, isValidVolumeName, validateVolumeName } from "./names.js";
import type { VolumeInfo } from "./types.js";
import { KeyedLock } from "../base/lock.js";
import {
  COPYUP,
  CREATING,
  DATA_DIR,
  decodeRecord,
  directorySize,
  formatRfc3339,
  RECORD_FILE,
  REMOVING,
  SCHEMA_VERSION,
  VOLUMES_DIR,
  type VolumeRecord,
} from "./volume-record.js";

export interface VolumeEvent {
  action: "create" | "destroy" | "prune";
  /** "" for prune. */
  name: string;
  attributes: Record<string, string>;
}

export interface VolumeStoreOptions {
  /** berth's root directory; volumes live in `<root>/volumes`. */
  root: string;
  now?: () => Date;
  /** Names anonymous volumes; injectable for tests. */
  randomName?: () => string;
  /** Told of created and destroyed volumes and prunes, for the engine's event stream. */
  onEvent?: (e: VolumeEvent) => void;
  /** Owner of a new volume's `_data` (dockerd's remapped root under --userns-remap); root when absent. */
  dataOwner?: { uid: number; gid: number };
}

export interface CreateVolumeOptions {
  /** Absent or "": an anonymous volume with a random 64-hex name and the anonymous label. */
  name?: string;
  /** "" or "local". */
  driver?: string;
  driverOptions?: Readonly<Record<string, string>>;
  labels?: Readonly<Record<string, string>>;
  /** A container ID to reference the volume in the same step (no prune can slip in between). */
  reference?: string;
  signal?: AbortSignal;
}

export interface RemoveVolumeOptions {
  /**
   * As `docker volume rm -f`: a missing volume is not an error. A volume in use is still
   * refused, as dockerd refuses it.
   */
  force?: boolean;
  signal?: AbortSignal;
}

export interface ListVolumesOptions {
  filters?: VolumeFilters;
  /** Compute `usageData` (size walks the data directory). */
  usage?: boolean;
}

export interface PruneVolumesOptions {
  filters?: VolumeFilters;
  signal?: AbortSignal;
}

export interface PruneReport {
  volumesDeleted: string[];
  /** Bytes. */
  spaceReclaimed: number;
}

export type VolumeLoadProblemReason =
  /** volume.json unreadable or not a record; left in place, the volume is not loaded. */
  | "corrupt"
  /** A volume directory without volume.json (e.g. copied from dockerd): left in place. */
  | "missing"
  /** Something in the volumes directory that is neither a volume nor berth's leftover. */
  | "unexpected-entry"
  /** A crash leftover that could not be cleaned (a mount still under it). */
  | "leftover";

export interface VolumeLoadProblem {
  reason: VolumeLoadProblemReason;
  path: string;
  message: string;
}

export interface VolumeStore {
  /** `<root>/volumes`. */
  readonly dir: string;
  /** What opening the store found wrong (nothing is logged: the daemon decides). */
  readonly loadProblems: readonly VolumeLoadProblem[];
  /**
   * Creates a volume, or returns the existing one of that name (its labels and options as they
   * are, as dockerd). With `reference`, the container references it on return.
   */
  create(o?: CreateVolumeOptions): Promise<VolumeInfo>;
  /** Throws not-found "get <name>: no such volume". */
  get(name: string): VolumeInfo;
  has(name: string): boolean;
  /** Sorted by name. */
  list(o?: ListVolumesOptions): Promise<VolumeInfo[]>;
  /** Refused with conflict "remove <name>: volume is in use - [<ids>]" while referenced. */
  remove(name: string, o?: RemoveVolumeOptions): Promise<void>;
  /**
   * Removes unused volumes without driver options (dockerd never prunes those): only anonymous
   * ones unless the filters say `all=true`; `label` / `label!` filters narrow it.
   */
  prune(o?: PruneVolumesOptions): Promise<PruneReport>;
  /** Records that a container uses the volume (from create to removal); not-found if absent. */
  acquire(name: string, containerId: string): VolumeInfo;
  /** Drops a container's reference; nothing if it had none. */
  release(name: string, containerId: string): void;
  /** IDs of the containers referencing the volume, sorted. */
  usedBy(name: string): string[];
  /**
   * Makes the volume's data available for a running container and returns its host path: for a
   * volume with mount options, the device is mounted on `_data` by the first user.
   */
  mount(name: string, containerId: string, o?: { signal?: AbortSignal }): Promise<string>;
  /** The container no longer has it mounted; the last one out unmounts the device. */
  unmount(name: string, containerId: string): Promise<void>;
  /**
   * Unmounts devices of volumes nobody has mounted, e.g. after a restore found a tmpfs volume
   * still mounted from before a berthd restart but none of its containers running.
   */
  unmountIdle(): Promise<void>;
  /** Bytes used by the volume's data (hard links counted once, directories not counted). */
  size(name: string): Promise<number>;
}

interface Entry {
  record: VolumeRecord;
  refs: Set<string>;
  /** Containers that have the volume mounted (mount/unmount). */
  mountedBy: Set<string>;
  /** The device is mounted on _data. */
  deviceMounted: boolean;
  removing: boolean;
}

const noSuchVolume = (name: string) => errNotFound(`get ${name}: no such volume`);

/** Opens the volume store: creates `<root>/volumes` if needed, loads records, cleans leftovers. */
export async function createVolumeStore(options: VolumeStoreOptions): Promise<VolumeStore> {
  const store = new Store(options);
  await store.load();
  return store;
}

class Store implements VolumeStore {
  readonly dir: string;
  loadProblems: VolumeLoadProblem[] = [];
  readonly #now: () => Date;
  readonly #randomName: () => string;
  readonly #onEvent: ((e: VolumeEvent) => void) | undefined;
  readonly #dataOwner: { uid: number; gid: number } | undefined;
  readonly #entries = new Map<string, Entry>();
  readonly #locks = new KeyedLock();
  #pruning = false;

  constructor(o: VolumeStoreOptions) {
    this.dir = join(o.root, VOLUMES_DIR);
    this.#now = o.now ?? (() => new Date());
    this.#randomName = o.randomName ?? (() => generateVolumeName());
    this.#onEvent = o.onEvent;
    this.#dataOwner = o.dataOwner;
  }

  #volumeDir(name: string): string {
    return join(this.dir, name);
  }

  #dataDir(name: string): string {
    return join(this.dir, name, DATA_DIR);
  }

  #info(e: Entry): VolumeInfo {
    const r = e.record;
    return {
      name: r.name,
      driver: r.driver,
      mountpoint: this.#dataDir(r.name),
      createdAt: r.createdAt,
      labels: { ...r.labels },
      options: { ...r.options },
      scope: "local",
    };
  }

  #emit(action: VolumeEvent["action"], name: string, attributes: Record<string, string>): void {
    this.#onEvent?.({ action, name, attributes });
  }

  #live(name: string): Entry | undefined {
    const e = this.#entries.get(name);
    return e === undefined || e.removing ? undefined : e;
  }

  // ---- load --------------------------------------------------------------------------------

  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    // dockerd's mode: others may traverse to a bind source, not list volume names.
    await chmod(this.dir, 0o701);
    const mounts = await readMountInfo();
    for (const name of (await readdir(this.dir)).sort()) {
      const path = join(this.dir, name);
      if (name.startsWith(CREATING) || name.startsWith(REMOVING)) {
        await this.#cleanLeftover(path, mounts, true);
      } else if (name.startsWith(COPYUP)) {
        await this.#cleanLeftover(path, mounts, false);
      } else if (!isValidVolumeName(name)) {
        this.loadProblems.push({ reason: "unexpected-entry", path, message: "not a volume name" });
      } else if (!(await lstat(path)).isDirectory()) {
        this.loadProblems.push({ reason: "unexpected-entry", path, message: "not a directory" });
      } else {
        await this.#loadVolume(name, mounts);
      }
    }
  }

  /** Unmounts what a crash left mounted under `path`, then deletes it (or only rmdir). */
  async #cleanLeftover(path: string, mounts: Awaited<ReturnType<typeof readMountInfo>>, recursive: boolean): Promise<void> {
    try {
      for (const m of mountsAtOrUnder(mounts, path)) await unmountFilesystem(m);
      // Never delete across a mount point: it would delete the mounted device's files.
      const left = mountsAtOrUnder(await readMountInfo(), path);
      if (left.length > 0) throw new Error(`still mounted: ${left.join(", ")}`);
      if (recursive) await rm(path, { recursive: true, force: true });
      else await rmdir(path);
    } catch (e) {
      this.loadProblems.push({ reason: "leftover", path, message: messageOf(e) });
    }
  }

  async #loadVolume(name: string, mounts: Awaited<ReturnType<typeof readMountInfo>>): Promise<void> {
    const file = join(this.dir, name, RECORD_FILE);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      const code = errnoOf(e);
      this.loadProblems.push(
        code === "ENOENT" || code === "ENOTDIR"
          ? { reason: "missing", path: join(this.dir, name), message: `no ${RECORD_FILE}` }
          : { reason: "corrupt", path: file, message: messageOf(e) },
      );
      return;
    }
    let record: VolumeRecord;
    try {
      record = decodeRecord(text, name);
    } catch (e) {
      this.loadProblems.push({ reason: "corrupt", path: file, message: messageOf(e) });
      return;
    }
    const data = this.#dataDir(name);
    // dockerd's restoreIfMounted: a device still mounted from before a restart stays known.
    const deviceMounted = localMountOptions(record.options) !== undefined && mounts.some((m) => m.mountPoint === data);
    this.#entries.set(name, { record, refs: new Set(), mountedBy: new Set(), deviceMounted, removing: false });
  }

  // ---- create / get / list -----------------------------------------------------------------

  async create(o: CreateVolumeOptions = {}): Promise<VolumeInfo> {
    const driver = o.driver ?? "";
    if (driver !== "" && driver !== LOCAL_DRIVER) {
      throw errNotFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    }
    const anonymous = o.name === undefined || o.name === "";
    const name = anonymous ? this.#randomName() : (o.name as string);
    const labels = { ...(o.labels ?? {}), ...(anonymous ? { [ANONYMOUS_LABEL]: "" } : {}) };
    const options = { ...(o.driverOptions ?? {}) };
    return this.#locks.run(name, async () => {
      const existing = this.#live(name);
      if (existing !== undefined) {
        // dockerd returns the existing volume; the labels and options asked for are ignored.
        if (o.reference !== undefined) existing.refs.add(o.reference);
        return this.#info(existing);
      }
      validateVolumeName(name);
      try {
        validateLocalOptions(options);
      } catch (e) {
        if (isBerthError(e)) throw errInvalidArgument(`create ${name}: ${e.message}`);
        throw e;
      }
      o.signal?.throwIfAborted();
      const record: VolumeRecord = { name, driver: LOCAL_DRIVER, labels, options, createdAt: formatRfc3339(this.#now()) };
      await this.#writeVolume(record);
      const entry: Entry = { record, refs: new Set(), mountedBy: new Set(), deviceMounted: false, removing: false };
      if (o.reference !== undefined) entry.refs.add(o.reference);
      this.#entries.set(name, entry);
      this.#emit("create", name, { driver: LOCAL_DRIVER });
      return this.#info(entry);
    });
  }

  /** Builds the volume under a temporary name, then renames it into place. */
  async #writeVolume(record: VolumeRecord): Promise<void> {
    const temp = join(this.dir, `${CREATING}${randomBytes(8).toString("hex")}`);
    try {
      await mkdir(temp);
      await chmod(temp, 0o701);
      const data = join(temp, DATA_DIR);
      await mkdir(data);
      await chmod(data, 0o755);
      if (this.#dataOwner) await chown(data, this.#dataOwner.uid, this.#dataOwner.gid);
      await writeNewFileDurably(join(temp, RECORD_FILE), JSON.stringify({ schemaVersion: SCHEMA_VERSION, volume: record }) + "\n");
      await syncDir(temp);
      try {
        await rename(temp, this.#volumeDir(record.name));
      } catch (e) {
        const code = errnoOf(e);
        if (code === "ENOTEMPTY" || code === "EEXIST") {
          // A directory of that name the store did not load (see loadProblems).
          throw errConflict(`create ${record.name}: volume already exists under ${this.dir}`);
        }
        throw e;
      }
    } catch (e) {
      await rm(temp, { recursive: true, force: true }).catch(() => {});
      throw e;
    }
    await syncDir(this.dir);
  }

  get(name: string): VolumeInfo {
    const e = this.#live(name);
    if (e === undefined) throw noSuchVolume(name);
    return this.#info(e);
  }

  has(name: string): boolean {
    return this.#live(name) !== undefined;
  }

  #subject(e: Entry): FilterSubject {
    return { name: e.record.name, driver: e.record.driver, labels: e.record.labels, inUse: e.refs.size > 0 };
  }

  #sorted(): Entry[] {
    return [...this.#entries.values()].filter((e) => !e.removing).sort((a, b) => (a.record.name < b.record.name ? -1 : 1));
  }

  async list(o: ListVolumesOptions = {}): Promise<VolumeInfo[]> {
    const keep = listFilter(o.filters ?? {});
    const out: VolumeInfo[] = [];
    for (const e of this.#sorted()) {
      if (!keep(this.#subject(e))) continue;
      const info = this.#info(e);
      if (o.usage) {
        // dockerd reports no size for volumes with mount options: their data is elsewhere.
        const size = Object.keys(e.record.options).length > 0 ? -1 : await directorySize(info.mountpoint).catch(() => -1);
        info.usageData = { size, refCount: e.refs.size };
      }
      out.push(info);
    }
    return out;
  }

  async size(name: string): Promise<number> {
    return directorySize(this.get(name).mountpoint);
  }

  // ---- references --------------------------------------------------------------------------

  acquire(name: string, containerId: string): VolumeInfo {
    const e = this.#live(name);
    if (e === undefined) throw noSuchVolume(name);
    e.refs.add(containerId);
    return this.#info(e);
  }

  release(name: string, containerId: string): void {
    this.#entries.get(name)?.refs.delete(containerId);
  }

  usedBy(name: string): string[] {
    return [...(this.#entries.get(name)?.refs ?? [])].sort();
  }

  // ---- remove / prune ----------------------------------------------------------------------

  async remove(name: string, o: RemoveVolumeOptions = {}): Promise<void> {
    await this.#locks.run(name, async () => {
      const e = this.#live(name);
      if (e === undefined) {
        if (o.force) return;
        throw noSuchVolume(name);
      }
      if (e.refs.size > 0) {
        throw errConflict(`remove ${name}: volume is in use - [${[...e.refs].sort().join(", ")}]`);
      }
      if (e.mountedBy.size > 0) throw errConflict(`remove ${name}: volume has active mounts`);
      o.signal?.throwIfAborted();
      e.removing = true;
      try {
        await this.#deleteVolume(name, e);
      } catch (err) {
        e.removing = false;
        throw err;
      }
      this.#entries.delete(name);
      this.#emit("destroy", name, { driver: e.record.driver });
    });
  }

  /** Unmounts, renames the volume away (the atomic step), then deletes the renamed tree. */
  async #deleteVolume(name: string, e: Entry): Promise<void> {
    const dir = this.#volumeDir(name);
    if (e.deviceMounted || localMountOptions(e.record.options) !== undefined) {
      await unmountFilesystem(this.#dataDir(name)).catch((err: unknown) => {
        throw errInternal(`remove ${name}: ${messageOf(err)}`, { cause: err });
      });
      e.deviceMounted = false;
    }
    // Deleting across a mount point would delete the mounted device's files (a bind-style
    // volume's host directory): refuse rather than guess.
    const mounted = mountsAtOrUnder(await readMountInfo(), dir);
    if (mounted.length > 0) throw errInternal(`remove ${name}: still mounted: ${mounted.join(", ")}`);
    const trash = join(this.dir, `${REMOVING}${randomBytes(8).toString("hex")}`);
    try {
      await rename(dir, trash);
    } catch (err) {
      if (errnoOf(err) !== "ENOENT") throw err;
      return;
    }
    await syncDir(this.dir);
    // The volume is gone; a failure from here on leaves a leftover the next load deletes.
    await rm(trash, { recursive: true, force: true }).catch(() => {});
  }

  async prune(o: PruneVolumesOptions = {}): Promise<PruneReport> {
    if (this.#pruning) throw errConflict("a prune operation is already running");
    const keep = pruneFilter(o.filters ?? {});
    this.#pruning = true;
    try {
      const report: PruneReport = { volumesDeleted: [], spaceReclaimed: 0 };
      for (const e of this.#sorted()) {
        if (o.signal?.aborted) break;
        if (e.refs.size > 0 || e.mountedBy.size > 0) continue;
        // dockerd: volumes with mount options hold no local data worth reclaiming; never pruned.
        if (Object.keys(e.record.options).length > 0) continue;
        if (!keep(this.#subject(e))) continue;
        const name = e.record.name;
        const size = await directorySize(this.#dataDir(name)).catch(() => 0);
        try {
          await this.remove(name);
        } catch {
          // As dockerd: a volume that could not be removed (taken meanwhile) is skipped.
          continue;
        }
        report.volumesDeleted.push(name);
        report.spaceReclaimed += size;
      }
      this.#emit("prune", "", { reclaimed: String(report.spaceReclaimed) });
      return report;
    } finally {
      this.#pruning = false;
    }
  }

  // ---- mount / unmount ---------------------------------------------------------------------

  async mount(name: string, containerId: string, o: { signal?: AbortSignal } = {}): Promise<string> {
    return this.#locks.run(name, async () => {
      const e = this.#live(name);
      if (e === undefined) throw noSuchVolume(name);
      const data = this.#dataDir(name);
      const device = localMountOptions(e.record.options);
      if (device !== undefined && !e.deviceMounted) {
        // A mount left from an earlier berthd (e.g. found by load) is reused, not stacked.
        if (!(await isMountPoint(data))) {
          try {
            await mountFilesystem({ type: device.type, device: device.device, options: device.options, target: data, ...(o.signal ? { signal: o.signal } : {}) });
          } catch (err) {
            throw errInternal(redactMountOptions(`error while mounting volume '${data}': failed to mount local volume: ${messageOf(err)}`, device.options), { cause: err });
          }
        }
        e.deviceMounted = true;
      }
      e.mountedBy.add(containerId);
      return data;
    });
  }

  async unmount(name: string, containerId: string): Promise<void> {
    await this.#locks.run(name, async () => {
      const e = this.#entries.get(name);
      if (e === undefined) return;
      e.mountedBy.delete(containerId);
      if (e.mountedBy.size > 0 || !e.deviceMounted) return;
      await unmountFilesystem(this.#dataDir(name));
      e.deviceMounted = false;
    });
  }

  async unmountIdle(): Promise<void> {
    for (const e of this.#sorted()) {
      if (!e.deviceMounted || e.mountedBy.size > 0) continue;
      await this.#locks.run(e.record.name, async () => {
        if (!e.deviceMounted || e.mountedBy.size > 0) return;
        await unmountFilesystem(this.#dataDir(e.record.name));
        e.deviceMounted = false;
      });
    }
  }
}
