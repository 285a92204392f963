// /networks/**: list, inspect, create, remove, connect, disconnect, prune.
import { errConflict, errInvalidArgument } from "../base/errors.js";
import type { NetworkView } from "../network/index.js";
import type { NetworkBackend } from "./backends.js";
import type { RequestContext, RouteDef } from "./context.js";
import { parseFilters, type Filters } from "./filters.js";
import { sendEmpty, sendJson } from "./http-io.js";
import { parseTimestampFilter } from "./json-time.js";
import { isPredefinedNetwork, networkJson, parseNetworkConnectBody, parseNetworkCreateBody, parseNetworkDisconnectBody } from "./network-json.js";

export function networkRoutes(b: NetworkBackend): RouteDef[] {
  return [
    { method: "GET", path: "/networks", handler: (ctx) => list(b, ctx) },
    {
      method: "GET",
      path: "/networks/:id",
      handler: (ctx) => sendJson(ctx.res, 200, networkJson(b.inspectNetwork(ctx.params.id!), { containers: true })),
    },
    {
      method: "POST",
      path: "/networks/create",
      handler: async (ctx) => {
        const req = parseNetworkCreateBody(await ctx.readJson());
        // dockerd creates a second network of a name when CheckDuplicate is false, and says so.
        const same = b.listNetworks().find((x) => x.name === req.name);
        const n = await b.createNetwork(req);
        sendJson(ctx.res, 201, { Id: n.id, Warning: same ? `Network with name ${req.name} (id : ${same.id}) already exists` : "" });
      },
    },
    { method: "DELETE", path: "/networks/:id", handler: (ctx) => remove(b, ctx) },
    {
      method: "POST",
      path: "/networks/:id/connect",
      handler: async (ctx) => {
        const { container, ...settings } = parseNetworkConnectBody(await ctx.readJson());
        const n = b.inspectNetwork(ctx.params.id!);
        refuseHostAndNone(n);
        await b.connectNetwork(container, n.id, settings);
        sendEmpty(ctx.res, 200);
      },
    },
    {
      method: "POST",
      path: "/networks/:id/disconnect",
      handler: async (ctx) => {
        const req = parseNetworkDisconnectBody(await ctx.readJson());
        const n = b.inspectNetwork(ctx.params.id!);
        refuseHostAndNone(n);
        // Force only matters in dockerd for a container that is gone (its stale endpoint is
        // deleted); berth keeps no endpoint of a removed container, so it changes nothing.
        await b.disconnectNetwork(req.container, n.id);
        sendEmpty(ctx.res, 200);
      },
    },
    { method: "POST", path: "/networks/prune", handler: (ctx) => prune(b, ctx) },
  ];
}

/** dockerd's runconfig errors: a container joins host/none only by its network mode. */
function refuseHostAndNone(n: NetworkView): void {
  if (n.driver === "host") throw errInvalidArgument("container cannot be disconnected from host network or connected to host network");
  if (n.driver === "null") throw errInvalidArgument("container cannot be disconnected from none network or connected to none network");
}

/** Live endpoints, or containers (stopped ones too) configured on the network. */
const inUse = (b: NetworkBackend, n: NetworkView) => Object.keys(n.containers).length > 0 || b.networkInUse(n.name);

// ---- list -----------------------------------------------------------------------------------

const LIST_FILTERS = ["dangling", "driver", "id", "label", "name", "scope", "type"] as const;

/** dockerd's FilterNetworks (daemon/network/filter.go) over the network layer's views. */
export function networkListFilter(f: Filters, inUseOf: (n: NetworkView) => boolean): (n: NetworkView) => boolean {
  f.validate(LIST_FILTERS);
  const types = f.get("type");
  for (const t of types) if (t !== "custom" && t !== "builtin") throw errInvalidArgument(`invalid filter: 'type'='${t}'`);
  const danglingValues = f.get("dangling");
  if (danglingValues.length > 1) throw errInvalidArgument(`got more than one value for filter key "dangling"`);
  let dangling: boolean | undefined;
  if (f.has("dangling")) {
    const v = danglingValues[0] ?? "";
    if (v === "1" || v === "true") dangling = true;
    else if (v === "0" || v === "false") dangling = false;
    else throw errInvalidArgument(`invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")`);
  }
  return (n) => {
    if (!f.exactMatch("driver", n.driver)) return false;
    if (!f.regexMatch("name", n.name)) return false;
    if (!f.regexMatch("id", n.id)) return false;
    if (!f.matchKeyValues("label", n.labels)) return false;
    if (!f.exactMatch("scope", n.scope)) return false;
    const predefined = isPredefinedNetwork(n.name);
    if (dangling === true && (predefined || inUseOf(n))) return false;
    if (dangling === false && !(predefined || inUseOf(n))) return false;
    if (types.length > 0 && !types.includes(predefined ? "builtin" : "custom")) return false;
    return true;
  };
}

function list(b: NetworkBackend, ctx: RequestContext): void {
  const keep = networkListFilter(parseFilters(ctx.query.get("filters")), (n) => inUse(b, n));
  sendJson(ctx.res, 200, b.listNetworks().filter(keep).map((n) => networkJson(n, { containers: false })));
}

// ---- remove, prune --------------------------------------------------------------------------

async function remove(b: NetworkBackend, ctx: RequestContext): Promise<void> {
  const n = b.inspectNetwork(ctx.params.id!);
  // The manager refuses predefined networks (403) and live endpoints (409) itself; a stopped
  // container configured on the network has no endpoint, but would fail at its next start.
  if (!isPredefinedNetwork(n.name) && b.networkInUse(n.name)) {
    throw errConflict(`error while removing network: network ${n.name} id ${n.id} has active endpoints`);
  }
  await b.removeNetwork(n.id);
  sendEmpty(ctx.res, 204);
}

const PRUNE_FILTERS = ["until", "label", "label!"] as const;

/** moby's prune filters for networks: `until` (created before), `label`, `label!`. */
export function networkPruneKeep(f: Filters, now: Date = new Date()): (n: NetworkView) => boolean {
  f.validate(PRUNE_FILTERS);
  const untilValues = f.get("until");
  if (untilValues.length > 1) throw errInvalidArgument("more than one until filter specified");
  const until = untilValues[0] !== undefined ? parseTimestampFilter(untilValues[0], now) : undefined;
  return (n) => {
    if (until && n.created.getTime() > until.getTime()) return true;
    if (!f.matchKeyValues("label", n.labels)) return true;
    if (f.has("label!") && f.matchKeyValues("label!", n.labels)) return true;
    return false;
  };
}

async function prune(b: NetworkBackend, ctx: RequestContext): Promise<void> {
  const keepByFilter = networkPruneKeep(parseFilters(ctx.query.get("filters")));
  const deleted = await b.pruneNetworks((n) => keepByFilter(n) || b.networkInUse(n.name));
  sendJson(ctx.res, 200, { NetworksDeleted: deleted });
}
