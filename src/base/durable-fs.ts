// Durable writes, shared by every store that keeps state on disk (containers, networks,
// volumes): data before name (write, fsync the file), then the name (rename), then the
// directory entry (fsync the directory), so a crash at any instant leaves the old state or the
// new one, never an empty or half-written file.
import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import path from "node:path";

/** Marks a temporary file of an atomic write: `<file>.tmp-<pid>-<random>` (startup deletes them). */
export const TEMP_MARK = ".tmp-";

/** fsync a directory so that a rename or a new entry in it survives power loss. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates `file` (it must not exist) with `body`, fsynced. */
export async function writeNewFileDurably(file: string, body: string, mode = 0o600): Promise<void> {
  const fh = await open(file, "wx", mode);
  try {
    await fh.writeFile(body, "utf8");
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `file` with `body` atomically and durably. The temp name is unique, so concurrent
 * writers of one file never write into each other's temp file: the last rename wins and every
 * candidate is complete. The directory must exist.
 */
export async function writeFileAtomic(file: string, body: string, o: { signal?: AbortSignal; mode?: number } = {}): Promise<void> {
  const temp = `${file}${TEMP_MARK}${process.pid}-${randomBytes(6).toString("hex")}`;
  try {
    o.signal?.throwIfAborted();
    await writeNewFileDurably(temp, body, o.mode ?? 0o600);
    o.signal?.throwIfAborted();
    await rename(temp, file);
  } catch (e) {
    await unlink(temp).catch(() => {});
    throw e;
  }
  await syncDir(path.dirname(file));
}

/**
 * Removes a file; nothing when it is already gone. One unlink, where fs.rm({ force: true }) walks
 * rimraf's lstat-then-unlink (a difference on the create and removal paths, per container).
 */
export async function unlinkIfExists(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (e) {
    if (errnoOf(e) !== "ENOENT") throw e;
  }
}

export function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
