/**
 * The few durable-write steps the volume store needs, after src/container/store.ts: data before
 * name (write, fsync the file), then the name (rename), then the directory entry (fsync the
 * directory), so a crash at any instant leaves either the old state or the new one.
 */
import { open } from "node:fs/promises";

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

export function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
