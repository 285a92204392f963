// POST /containers/prune, /images/prune and /build/prune, as dockerd 20.10 answers them, built on
// the backends' list and remove: prune is "remove what matches", and the per-object rules (a
// running container is not removed, an image a container uses is refused) stay where they are.
import { errInvalidArgument } from "../base/errors.js";
import type { BuildBackend, ContainerBackend, ImageBackend, ImageSummaryView } from "./backends.js";
import type { RequestContext, RouteDef } from "./context.js";
import { type Filters, parseFilters } from "./filters.js";
import { sendJson } from "./http-io.js";
import { familiarName } from "./image-json.js";
import { parseTimestampFilter } from "./json-time.js";

/**
 * moby's prune filters (daemon/prune.go): `until` (created at or before), `label` (all given
 * labels present) and `label!` (not all of them present). True: the object may be pruned.
 */
export function pruneMatcher(f: Filters, now: Date = new Date()): (created: Date | undefined, labels: Record<string, string>) => boolean {
  const untilValues = f.get("until");
  if (untilValues.length > 1) throw errInvalidArgument("more than one until filter specified");
  const until = untilValues[0] !== undefined ? parseTimestampFilter(untilValues[0], now) : undefined;
  return (created, labels) => {
    if (until && created && created.getTime() > until.getTime()) return false;
    if (!f.matchKeyValues("label", labels)) return false;
    if (f.has("label!") && f.matchKeyValues("label!", labels)) return false;
    return true;
  };
}

export interface PruneDeps {
  containers: Pick<ContainerBackend, "list" | "remove">;
  images: Pick<ImageBackend, "list" | "remove" | "rootfsUsage">;
  /** The classic builder, when berthd has one: its cache is what /build/prune drops. */
  build?: Pick<BuildBackend, "prune">;
}

export function pruneRoutes(d: PruneDeps): RouteDef[] {
  return [
    { method: "POST", path: "/containers/prune", handler: (ctx) => pruneContainers(d, ctx) },
    { method: "POST", path: "/images/prune", handler: (ctx) => pruneImages(d, ctx) },
    // Without a builder there is no build cache: nothing to remove. `docker system prune` asks
    // for it after the others, and must not fail on it.
    { method: "POST", path: "/build/prune", handler: (ctx) => (d.build ? pruneBuildCache(d.build, ctx) : sendJson(ctx.res, 200, { CachesDeleted: null, SpaceReclaimed: 0 })) },
  ];
}

async function pruneBuildCache(b: Pick<BuildBackend, "prune">, ctx: RequestContext): Promise<void> {
  const r = await b.prune({ signal: ctx.signal });
  sendJson(ctx.res, 200, { CachesDeleted: r.deleted.length ? r.deleted : null, SpaceReclaimed: r.reclaimed });
}

const CONTAINER_PRUNE_FILTERS = ["label", "label!", "until"] as const;

/** Every container that is not running (created, exited, dead; paused ones run) and matches the filters. */
async function pruneContainers(d: PruneDeps, ctx: RequestContext): Promise<void> {
  const f = parseFilters(ctx.query.get("filters"));
  f.validate(CONTAINER_PRUNE_FILTERS);
  const matches = pruneMatcher(f);
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const c of d.containers.list({ all: true })) {
    if (ctx.signal.aborted) break;
    if (c.state.running || c.state.paused || c.state.restarting) continue;
    if (!matches(c.created, c.config.labels)) continue;
    // What its writable layer holds, measured before it goes (dockerd's GetContainerLayerSize).
    const size = await d.images.rootfsUsage(c.id, { signal: ctx.signal }).catch(() => 0);
    try {
      await d.containers.remove(c.id, {});
      deleted.push(c.id);
      reclaimed += size;
    } catch (err) {
      // One that started or went away in the meantime is skipped, as dockerd skips it.
      ctx.log?.debug({ err, id: c.id }, "container prune: not removed");
    }
  }
  sendJson(ctx.res, 200, { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
}

const IMAGE_PRUNE_FILTERS = ["dangling", "label", "label!", "until"] as const;

/**
 * Dangling images by default; with dangling=false every image no container uses. Each is removed
 * by its names, one at a time (the last one deletes the image), as dockerd's ImageDelete does.
 */
async function pruneImages(d: PruneDeps, ctx: RequestContext): Promise<void> {
  const f = parseFilters(ctx.query.get("filters"));
  f.validate(IMAGE_PRUNE_FILTERS);
  let danglingOnly = true;
  if (f.has("dangling")) {
    if (f.exactMatch("dangling", "false") || f.exactMatch("dangling", "0")) danglingOnly = false;
    else if (!f.exactMatch("dangling", "true") && !f.exactMatch("dangling", "1")) {
      throw errInvalidArgument(`invalid filter 'dangling=[${f.get("dangling").join(" ")}]'`);
    }
  }
  const matches = pruneMatcher(f);
  const used = new Set(d.containers.list({ all: true }).map((c) => c.imageId));
  const images = await d.images.list({ signal: ctx.signal });
  const out: ({ Untagged: string } | { Deleted: string })[] = [];
  let reclaimed = 0;
  for (const img of images) {
    if (ctx.signal.aborted) break;
    if (used.has(img.id)) continue;
    if (danglingOnly && img.repoTags.length > 0) continue;
    if (!matches(img.created, img.labels)) continue;
    const r = await removeImage(d.images, img, ctx);
    for (const u of r.untagged) out.push({ Untagged: familiarName(u) });
    for (const id of r.deleted) out.push({ Deleted: id });
    if (r.deleted.length > 0) reclaimed += img.size;
  }
  sendJson(ctx.res, 200, { ImagesDeleted: out.length ? out : null, SpaceReclaimed: reclaimed });
}

async function removeImage(b: PruneDeps["images"], img: ImageSummaryView, ctx: RequestContext): Promise<{ untagged: string[]; deleted: string[] }> {
  const refs = [...img.repoTags, ...img.repoDigests];
  const all = { untagged: [] as string[], deleted: [] as string[] };
  for (const ref of refs.length ? refs : [img.id]) {
    try {
      const r = await b.remove(ref, { signal: ctx.signal });
      all.untagged.push(...r.untagged);
      all.deleted.push(...r.deleted);
      if (r.deleted.length > 0) break;
    } catch (err) {
      // A name the previous removal already took, or an image that came into use: skipped.
      ctx.log?.debug({ err, ref }, "image prune: not removed");
    }
  }
  return all;
}
