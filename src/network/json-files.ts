/** Records as JSON files in a directory, written atomically (temp file, fsync, rename, fsync dir). */
import { mkdir, readdir, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { syncDir, TEMP_MARK, unlinkIfExists, writeFileAtomic } from "../base/durable-fs.js";

/** A reader, or the next start after a crash at any instant, sees the old or the new file whole. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const body = JSON.stringify(value, null, 1) + "\n";
  try {
    await writeFileAtomic(file, body);
  } catch (e) {
    // The directory is made on first use only (not a mkdir per write on the start path).
    if ((e as { code?: string }).code !== "ENOENT") throw e;
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, body);
  }
}

export async function removeFile(file: string): Promise<void> {
  await unlinkIfExists(file);
  await syncDir(path.dirname(file)).catch(() => {});
}

export interface JsonLoadProblem {
  path: string;
  message: string;
}

/**
 * Every `*.json` of `dir` decoded by `decode`. Temp files of a crashed write are deleted; a file
 * that does not decode is renamed to `<name>.corrupt` and reported, so one bad file never stops
 * the rest from loading.
 */
export async function loadJsonDir<T>(dir: string, decode: (v: unknown) => T): Promise<{ values: T[]; problems: JsonLoadProblem[] }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return { values: [], problems: [] };
    throw e;
  }
  const values: T[] = [];
  const problems: JsonLoadProblem[] = [];
  for (const name of names.sort()) {
    const p = path.join(dir, name);
    if (name.includes(TEMP_MARK)) {
      await unlink(p).catch(() => {});
      continue;
    }
    if (!name.endsWith(".json")) continue;
    try {
      values.push(decode(JSON.parse(await readFile(p, "utf8"))));
    } catch (e) {
      problems.push({ path: p, message: e instanceof Error ? e.message : String(e) });
      await rename(p, `${p}.corrupt`).catch(() => {});
    }
  }
  return { values, problems };
}
