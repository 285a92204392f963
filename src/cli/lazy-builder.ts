// The classic builder, loaded by the first build, prune or `system df` rather than at start-up:
// most daemons never build, and the builder with its tar, Dockerfile and layer code is the largest
// part of berthd that an ordinary start does not need (docs/performance.md, "A lean daemon").
// A build that a crash interrupted left a context under <workDir>/tmp or a mount under
// <workDir>/mnt: then the builder is loaded at start and clears them with its snapshots at once.
import fs from "node:fs/promises";
import path from "node:path";
import type { Builder, BuilderOptions } from "../build/index.js";
import type { ContainerdClient } from "../containerd/index.js";

export interface LazyBuilderOptions extends Omit<BuilderOptions, "committer" | "cache"> {
  client: ContainerdClient;
}

/** True when a build was under way when berthd stopped (something is left to clear). */
async function leftovers(workDir: string): Promise<boolean> {
  for (const d of ["tmp", "mnt"]) {
    const entries = await fs.readdir(path.join(workDir, d)).catch(() => []);
    if (entries.length > 0) return true;
  }
  return false;
}

export async function lazyBuilder(o: LazyBuilderOptions): Promise<Builder> {
  let loading: Promise<Builder> | undefined;
  const load = () => (loading ??= (async () => {
    const b = await import("../build/index.js");
    const committer = b.createSnapshotCommitter({ client: o.client, images: o.images });
    await b.recoverBuilder({ committer, workDir: o.workDir });
    const { client: _, ...rest } = o;
    return b.createBuilder({ ...rest, committer, cache: b.createFileCache(o.workDir) });
  })().catch((e: unknown) => {
    loading = undefined;
    throw e;
  }));
  if (await leftovers(o.workDir)) await load();
  return {
    build: async (req, out) => (await load()).build(req, out),
    prune: async (po) => (await load()).prune(po),
    cacheEntries: async () => (await load()).cacheEntries(),
  };
}
