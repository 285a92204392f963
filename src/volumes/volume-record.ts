/**
 * A local volume on disk, as dockerd lays it out: `<root>/volumes/<name>/_data` and the record
 * `volume.json` beside it; the dot-prefixed work names of create, remove and copy-up; and the
 * size of a data directory. Used by the store (store.ts) and the container mounts.
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { errnoOf } from "../base/durable-fs.js";

export const VOLUMES_DIR = "volumes";
export const DATA_DIR = "_data";
export const RECORD_FILE = "volume.json";
export const SCHEMA_VERSION = 1;
/** Dot-prefixed work names: a volume name cannot start with ".", so these never collide. */
export const CREATING = ".creating-";
export const REMOVING = ".removing-";
/** Where copy-up mounts an image's overlay read-only (see copy-up.ts). */
export const COPYUP = ".copyup-";

/** volume.json's `volume`. */
export interface VolumeRecord {
  name: string;
  driver: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  createdAt: string;
}

/** RFC 3339 with whole seconds, UTC: Go's time.RFC3339 of a UTC time. */
export function formatRfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");
}

export function decodeRecord(text: string, dirName: string): VolumeRecord {
  const file = JSON.parse(text) as unknown;
  if (typeof file !== "object" || file === null) throw new Error("not an object");
  const { schemaVersion, volume } = file as { schemaVersion?: unknown; volume?: unknown };
  if (schemaVersion !== SCHEMA_VERSION) throw new Error(`unsupported schema version ${String(schemaVersion)}`);
  if (typeof volume !== "object" || volume === null) throw new Error("volume: expected an object");
  const v = volume as Record<string, unknown>;
  if (v["name"] !== dirName) throw new Error(`volume.name: expected ${dirName} (the directory)`);
  if (typeof v["driver"] !== "string") throw new Error("volume.driver: expected a string");
  if (!isStringMap(v["labels"])) throw new Error("volume.labels: expected a map of strings");
  if (!isStringMap(v["options"])) throw new Error("volume.options: expected a map of strings");
  if (typeof v["createdAt"] !== "string" || Number.isNaN(Date.parse(v["createdAt"]))) {
    throw new Error("volume.createdAt: expected a time");
  }
  return { name: dirName, driver: v["driver"], labels: v["labels"], options: v["options"], createdAt: v["createdAt"] };
}

/** Bytes of the files under `dir`; each inode once, directories not counted (moby directory.Size). */
export async function directorySize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch (e) {
      if (errnoOf(e) === "ENOENT") return;
      throw e;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = await lstat(p, { bigint: true });
      } catch (e) {
        if (errnoOf(e) === "ENOENT") continue;
        throw e;
      }
      if (st.isDirectory()) {
        await walk(p);
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      total += Number(st.size);
    }
  };
  await walk(dir);
  return total;
}
