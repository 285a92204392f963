// The classic builder's cache: a step is a hit when an image made from the same parent by
// the same step exists — dockerd finds it by comparing container_config (the run config with
// the step's Cmd: `#(nop)  ENV A=b`, `|1 X=y /bin/sh -c ...`, `#(nop) COPY file:<sum> in /x `).
// berth keys a map with the same inputs: sha256(parent ID + canonical container_config), kept
// in <root>/builder/cache.json. An entry whose image is gone is a miss (and is dropped).
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../base/durable-fs.js";
import { Mutex } from "../base/lock.js";
import type { ContainerConfigJson } from "../images/index.js";

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined) continue;
      out[k] = canonical(x);
    }
    return out;
  }
  return v;
}

/** The key of a step: its parent image and what dockerd compares of the run config. */
export function cacheKey(parent: string | undefined, containerConfig: ContainerConfigJson): string {
  const c = { ...containerConfig } as Record<string, unknown>;
  // Empty and absent are the same to dockerd's comparison.
  for (const k of Object.keys(c)) {
    const v = c[k];
    if (v === null || v === "" || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)) delete c[k];
  }
  return createHash("sha256").update(`${parent ?? "scratch"}\n${JSON.stringify(canonical(c))}`).digest("hex");
}

export interface CacheEntry { image: string; created: string }

export interface BuildCache {
  get(key: string): Promise<string | undefined>;
  put(key: string, image: string): Promise<void>;
  drop(key: string): Promise<void>;
  entries(): Promise<Record<string, CacheEntry>>;
  /** Forgets every entry; returns the image IDs they named. */
  clear(): Promise<string[]>;
  /** Checksums of COPY --from sources, by image and sources (images are immutable). */
  getSum(key: string): Promise<string | undefined>;
  putSum(key: string, sum: string): Promise<void>;
}

export function createFileCache(dir: string, now: () => Date = () => new Date()): BuildCache {
  const file = path.join(dir, "cache.json");
  const sumsFile = path.join(dir, "sums.json");
  let sums: Record<string, string> | undefined;
  const loadSums = async () => {
    if (sums) return sums;
    try { sums = JSON.parse(await fs.readFile(sumsFile, "utf8")) as Record<string, string>; } catch { sums = {}; }
    return sums;
  };
  const lock = new Mutex();
  let data: Record<string, CacheEntry> | undefined;
  const load = async () => {
    if (data) return data;
    try {
      data = JSON.parse(await fs.readFile(file, "utf8")) as Record<string, CacheEntry>;
    } catch {
      data = {};
    }
    return data;
  };
  const save = async () => {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, JSON.stringify(data ?? {}));
  };
  const locked = <T>(fn: () => Promise<T>) => lock.run(fn);
  return {
    get: (key) => locked(async () => (await load())[key]?.image),
    put: (key, image) => locked(async () => { (await load())[key] = { image, created: now().toISOString() }; await save(); }),
    drop: (key) => locked(async () => { const d = await load(); if (key in d) { delete d[key]; await save(); } }),
    entries: () => locked(async () => ({ ...(await load()) })),
    clear: () => locked(async () => {
      const d = await load();
      const ids = [...new Set(Object.values(d).map((e) => e.image))];
      data = {};
      await save();
      sums = {};
      await fs.rm(sumsFile, { force: true });
      return ids;
    }),
    getSum: (key) => locked(async () => (await loadSums())[key]),
    putSum: (key, sum) => locked(async () => {
      (await loadSums())[key] = sum;
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(sumsFile, JSON.stringify(sums));
    }),
  };
}
