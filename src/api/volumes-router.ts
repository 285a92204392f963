// /volumes/**: list, inspect, create, remove, prune; and the volume JSON `docker system df` shows.
import { errInvalidArgument } from "../base/errors.js";
import type { VolumeInfo } from "../volumes/index.js";
import type { VolumeBackend } from "./backends.js";
import { isZeroValue, Problems, readString, readStringMap } from "./create-body.js";
import type { RequestContext, RouteDef } from "./context.js";
import { parseFilters } from "./filters.js";
import { boolValue, isPlainObject, sendEmpty, sendJson } from "./http-io.js";
import { versionBelow } from "./versions.js";

/** dockerd's volume.Volume; UsageData only when measured (system df). */
export function volumeJson(v: VolumeInfo) {
  return {
    CreatedAt: v.createdAt,
    Driver: v.driver,
    Labels: { ...v.labels },
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: { ...v.options },
    Scope: v.scope,
    ...(v.usageData ? { UsageData: { Size: v.usageData.size, RefCount: v.usageData.refCount } } : {}),
  };
}

/** The `filters` parameter as the volumes layer takes it (key → values). */
function volumeFilters(raw: string | null): Record<string, string[]> {
  const f = parseFilters(raw);
  return Object.fromEntries(f.keys().map((k) => [k, f.get(k)]));
}

/** POST /volumes/create: {Name, Driver, DriverOpts, Labels}; a cluster volume spec is refused. */
export function parseVolumeCreateBody(body: unknown): { name?: string; driver?: string; driverOptions?: Record<string, string>; labels?: Record<string, string> } {
  if (body === undefined) return {};
  if (!isPlainObject(body)) throw errInvalidArgument("invalid JSON: expected an object");
  const p = new Problems("volume option");
  const name = readString(p, "Name", body.Name);
  const driver = readString(p, "Driver", body.Driver);
  const driverOptions = readStringMap(p, "DriverOpts", body.DriverOpts);
  const labels = readStringMap(p, "Labels", body.Labels);
  for (const [k, v] of Object.entries(body)) {
    if (!["Name", "Driver", "DriverOpts", "Labels"].includes(k) && !isZeroValue(v)) p.unsupportedField(k, v);
  }
  p.throwIfAny();
  return {
    ...(name ? { name } : {}),
    ...(driver ? { driver } : {}),
    ...(driverOptions ? { driverOptions } : {}),
    ...(labels ? { labels } : {}),
  };
}

export function volumeRoutes(b: VolumeBackend): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/volumes",
      handler: async (ctx) => {
        const volumes = await b.list({ filters: volumeFilters(ctx.query.get("filters")) });
        sendJson(ctx.res, 200, { Volumes: volumes.map(volumeJson), Warnings: [] });
      },
    },
    { method: "GET", path: "/volumes/:name", handler: (ctx) => sendJson(ctx.res, 200, volumeJson(b.get(ctx.params.name!))) },
    {
      method: "POST",
      path: "/volumes/create",
      handler: async (ctx) => {
        const v = await b.create({ ...parseVolumeCreateBody(await ctx.readJson()), signal: ctx.signal });
        sendJson(ctx.res, 201, volumeJson(v));
      },
    },
    {
      method: "DELETE",
      path: "/volumes/:name",
      handler: async (ctx) => {
        await b.remove(ctx.params.name!, { force: boolValue(ctx.query, "force"), signal: ctx.signal });
        sendEmpty(ctx.res, 204);
      },
    },
    { method: "POST", path: "/volumes/prune", handler: (ctx) => prune(b, ctx) },
  ];
}

async function prune(b: VolumeBackend, ctx: RequestContext): Promise<void> {
  const filters = volumeFilters(ctx.query.get("filters"));
  // dockerd's router: clients before API 1.42 mean "all unused volumes" (dockerd 20.10's prune),
  // newer ones only anonymous ones unless they send all=true.
  if (versionBelow(ctx.version, "1.42")) filters.all = [...new Set([...(filters.all ?? []), "true"])];
  const r = await b.prune({ filters, signal: ctx.signal });
  sendJson(ctx.res, 200, { VolumesDeleted: r.volumesDeleted, SpaceReclaimed: r.spaceReclaimed });
}
