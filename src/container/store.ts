import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { errnoOf, messageOf, syncDir, TEMP_MARK, writeFileAtomic } from "../base/durable-fs.js";
import { errInvalidArgument, errNotFound } from "./errors.js";
import { decodeContainerRecord } from "./record-decode.js";
import { isValidContainerId, type ContainerRecord } from "./record.js";

/** The file that holds a container's record inside its directory. */
export const RECORD_FILE = "config.json";
const SCHEMA_VERSION = 1;

/** What is written: the record, wrapped so a future layout can be told apart. */
interface RecordFile {
  schemaVersion: number;
  record: ContainerRecord;
}

export type LoadProblemReason =
  /** Not JSON, or not a record: set aside. */
  | "corrupt"
  /** The file could not be read for a lasting reason (EACCES, EIO, ...): set aside. */
  | "unreadable"
  /** Written by a newer berth: left in place, not loaded. */
  | "unsupported-version"
  /** A container directory without a record (e.g. set aside earlier): left in place. */
  | "missing"
  /** Something in the containers directory that is not a container ID: left in place. */
  | "unexpected-entry";

export interface LoadProblem {
  readonly reason: LoadProblemReason;
  /** The file or directory concerned. */
  readonly path: string;
  readonly message: string;
  /** Where a corrupt or unreadable file was moved to, when moving it worked. */
  readonly setAsideTo?: string;
}

export interface LoadResult {
  readonly records: ContainerRecord[];
  readonly problems: LoadProblem[];
}

export interface SaveOptions {
  readonly signal?: AbortSignal;
}

/**
 * Container records on disk: `<root>/containers/<id>/config.json`, one directory per container
 * (other per-container files can live next to the record and go with it on delete).
 */
export interface ContainerStore {
  readonly root: string;
  containerDir(id: string): string;
  /**
   * Writes the record atomically: a reader, or the next start after a crash at any instant, sees
   * either the previous complete record or this one, never a mix.
   */
  save(record: ContainerRecord, options?: SaveOptions): Promise<void>;
  /** Throws not-found when there is no record, or the decode error for a bad one. */
  load(id: string): Promise<ContainerRecord>;
  /**
   * Every record, for daemon startup; call it before the first save. One bad container never
   * stops the others from loading: it is reported in `problems` (corrupt and unreadable files are
   * renamed to `config.json.corrupt-<epoch ms>` so the next start does not trip on them again).
   * Temp files left by a crash mid-save are deleted.
   */
  loadAll(): Promise<LoadResult>;
  /** Removes the container's directory and everything in it; no error if already gone. */
  delete(id: string): Promise<void>;
}

export interface StoreOptions {
  readonly root: string;
  /** Names set-aside files; injectable for tests. */
  readonly now?: () => Date;
}

export function createContainerStore(options: StoreOptions): ContainerStore {
  return new Store(options.root, options.now ?? (() => new Date()));
}

// Errors that say nothing about the file itself: retrying later may well succeed, so the file is
// reported but not set aside.
const TRANSIENT_ERRNOS = new Set(["EMFILE", "ENFILE", "EAGAIN", "ENOMEM", "EINTR", "EBUSY"]);
// Bounds open files during loadAll so a large store cannot run out of descriptors (which would be
// misreported as unreadable records).
const LOAD_CONCURRENCY = 16;




class Store implements ContainerStore {
  readonly root: string;
  readonly #containers: string;
  readonly #now: () => Date;
  /**
   * The digest of each record file as this store last read or wrote it: a save that would write
   * the same bytes again (a restore re-persisting 200 unchanged running containers cost 200
   * fsyncs, most of berthd's restart) is skipped. An entry lives as long as its container.
   */
  readonly #onDisk = new Map<string, string | object>();

  constructor(root: string, now: () => Date) {
    this.root = root;
    this.#containers = join(root, "containers");
    this.#now = now;
  }

  containerDir(id: string): string {
    // The ID becomes a path component: anything but 64 hex digits could escape the root.
    if (!isValidContainerId(id)) throw errInvalidArgument(`invalid container ID: ${JSON.stringify(id)}`);
    return join(this.#containers, id);
  }

  async save(record: ContainerRecord, options: SaveOptions = {}): Promise<void> {
    const { signal } = options;
    const dir = this.containerDir(record.id);
    signal?.throwIfAborted();
    const body = JSON.stringify({ schemaVersion: SCHEMA_VERSION, record } satisfies RecordFile) + "\n";
    const digest = digestOf(body);
    if (this.#onDisk.get(record.id) === digest) return;
    // Unknown until the write succeeds (a failed write may have left either version), and then
    // known only if no other save of the record started meanwhile.
    const writing = {};
    this.#onDisk.set(record.id, writing);
    const created = await mkdir(dir, { recursive: true });
    if (created !== undefined) {
      // New directory entries must be durable too, or a crash could lose the whole container:
      // sync the parent of every directory mkdir created.
      for (let d = dirname(dir); ; d = dirname(d)) {
        await syncDir(d);
        if (d === dirname(created) || d === dirname(d)) break;
      }
    }
    await writeFileAtomic(join(dir, RECORD_FILE), body, signal ? { signal } : {});
    if (this.#onDisk.get(record.id) === writing) this.#onDisk.set(record.id, digest);
  }

  async load(id: string): Promise<ContainerRecord> {
    const file = join(this.containerDir(id), RECORD_FILE);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if (errnoOf(e) === "ENOENT") throw errNotFound(`no record for container ${id}`);
      throw e;
    }
    const parsed = parseRecordFile(text);
    if (parsed.kind === "newer") {
      throw new Error(`${file}: schema version ${parsed.version} is newer than ${SCHEMA_VERSION}`);
    }
    const { record } = parsed;
    if (record.id !== id) throw new Error(`record.id: expected ${id}, found ${record.id}`);
    return record;
  }

  async loadAll(): Promise<LoadResult> {
    let entries: string[];
    try {
      entries = await readdir(this.#containers);
    } catch (e) {
      if (errnoOf(e) === "ENOENT") return { records: [], problems: [] };
      throw e;
    }
    const records: ContainerRecord[] = [];
    const problems: LoadProblem[] = [];
    const queue = entries.sort();
    const worker = async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const outcome = await this.#loadEntry(name);
        if ("record" in outcome) records.push(outcome.record);
        else problems.push(outcome.problem);
      }
    };
    await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
    records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { records, problems };
  }

  async delete(id: string): Promise<void> {
    this.#onDisk.delete(id);
    await rm(this.containerDir(id), { recursive: true, force: true });
    await syncDir(this.#containers).catch(() => {});
  }

  async #loadEntry(name: string): Promise<{ record: ContainerRecord } | { problem: LoadProblem }> {
    const dir = join(this.#containers, name);
    if (!isValidContainerId(name)) {
      return { problem: { reason: "unexpected-entry", path: dir, message: "not a container ID" } };
    }
    let files: string[];
    try {
      files = await readdir(dir);
    } catch (e) {
      return { problem: { reason: "unexpected-entry", path: dir, message: messageOf(e) } };
    }
    // Leftovers of a crash between creating a temp file and renaming it; nobody else writes yet.
    await Promise.all(
      files.filter((f) => f.startsWith(RECORD_FILE + TEMP_MARK)).map((f) => unlink(join(dir, f)).catch(() => {})),
    );

    const file = join(dir, RECORD_FILE);
    if (!files.includes(RECORD_FILE)) {
      return { problem: { reason: "missing", path: file, message: `no ${RECORD_FILE}` } };
    }
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if (TRANSIENT_ERRNOS.has(errnoOf(e) ?? "")) {
        return { problem: { reason: "unreadable", path: file, message: messageOf(e) } };
      }
      return { problem: await this.#setAside(file, "unreadable", messageOf(e)) };
    }
    let record: ContainerRecord;
    try {
      const parsed = parseRecordFile(text);
      if (parsed.kind === "newer") {
        return {
          problem: {
            reason: "unsupported-version",
            path: file,
            message: `schema version ${parsed.version} is newer than ${SCHEMA_VERSION}`,
          },
        };
      }
      record = parsed.record;
      if (record.id !== name) throw new Error(`record.id: expected ${name} (the directory), found ${record.id}`);
    } catch (e) {
      return { problem: await this.#setAside(file, "corrupt", messageOf(e)) };
    }
    this.#onDisk.set(name, digestOf(text));
    return { record };
  }

  async #setAside(file: string, reason: LoadProblemReason, message: string): Promise<LoadProblem> {
    const target = `${file}.corrupt-${this.#now().getTime()}`;
    try {
      await rename(file, target);
    } catch (e) {
      return { reason, path: file, message: `${message} (could not set it aside: ${messageOf(e)})` };
    }
    return { reason, path: file, message, setAsideTo: target };
  }
}

function digestOf(body: string): string {
  return createHash("sha256").update(body).digest("base64");
}

type ParsedFile = { kind: "record"; record: ContainerRecord } | { kind: "newer"; version: number };

function parseRecordFile(text: string): ParsedFile {
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("not a record file: expected a JSON object");
  }
  const { schemaVersion, record } = parsed as Partial<RecordFile>;
  if (typeof schemaVersion === "number" && schemaVersion > SCHEMA_VERSION) {
    return { kind: "newer", version: schemaVersion };
  }
  if (schemaVersion !== SCHEMA_VERSION) {
    throw new Error(`schemaVersion: expected ${SCHEMA_VERSION}, found ${JSON.stringify(schemaVersion)}`);
  }
  return { kind: "record", record: decodeContainerRecord(record) };
}
