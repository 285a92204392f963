// Swarm mode and plugins: berth is never part of a swarm and has no plugins. These routes answer
// what dockerd 20.10 answers on a node that never joined a swarm (probed against dockerd
// 20.10.24), so clients that probe them — docker-py's test teardown calls `POST /swarm/leave` and
// treats the 503 as "nothing to leave" — behave as they do there, instead of seeing a 404.
import { errNotFound, errNotImplemented, errUnavailable } from "../base/errors.js";
import type { RequestContext, RouteDef } from "./context.js";
import { pageNotFound } from "./errors.js";
import { parseFilters } from "./filters.js";
import { sendJson } from "./http-io.js";

/** daemon/cluster's errNoManager for a node without a swarm (Unavailable → 503). */
export const NOT_A_SWARM_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
/** daemon/cluster's errNoSwarm, on leave (Unavailable → 503). */
export const NOT_PART_OF_A_SWARM = "This node is not part of a swarm";

const notManager = () => errUnavailable(NOT_A_SWARM_MANAGER);
const refuse = (): never => {
  throw notManager();
};
/** init and join would make berth a swarm node: it cannot be one. */
const noSwarmMode = (): never => {
  throw errNotImplemented("swarm mode is not supported by berth");
};
const noPluginInstall = (): never => {
  throw errNotImplemented("plugins are not supported by berth");
};
const PLUGIN_ACTIONS = new Set(["enable", "disable", "push", "set", "upgrade"]);

/**
 * Per-plugin routes: names contain slashes ("vieux/sshfs:latest"), so they are matched on a
 * wildcard as moby's `{name:.*}` routes are. No plugin exists, so each names one that is not found.
 */
function perPlugin(ctx: RequestContext, method: "GET" | "POST" | "DELETE"): never {
  const tail = ctx.params["*"] ?? "";
  const slash = tail.lastIndexOf("/");
  const action = slash < 0 ? "" : tail.slice(slash + 1);
  let name: string | undefined;
  if (method === "DELETE") name = tail;
  else if (method === "GET" && action === "json") name = tail.slice(0, slash);
  else if (method === "POST" && PLUGIN_ACTIONS.has(action)) name = tail.slice(0, slash);
  if (!name) throw pageNotFound();
  throw errNotFound(`plugin ${JSON.stringify(name)} not found`);
}

/** The filters `GET /services` validates before it asks the (absent) manager. */
const SERVICE_FILTERS = ["id", "label", "mode", "name", "runtime"] as const;
/** The filters `GET /plugins` accepts. */
const PLUGIN_FILTERS = ["capability", "enabled"] as const;

export function swarmRoutes(): RouteDef[] {
  const r = (method: RouteDef["method"], path: string, handler: RouteDef["handler"] = refuse): RouteDef => ({ method, path, handler });
  return [
    r("GET", "/swarm"),
    r("POST", "/swarm/init", noSwarmMode),
    r("POST", "/swarm/join", noSwarmMode),
    r("POST", "/swarm/leave", () => {
      throw errUnavailable(NOT_PART_OF_A_SWARM);
    }),
    r("POST", "/swarm/update"),
    r("GET", "/swarm/unlockkey"),
    r("POST", "/swarm/unlock"),
    ...["nodes", "tasks", "secrets", "configs"].flatMap((kind) => [
      r("GET", `/${kind}`),
      r("GET", `/${kind}/:id`),
      ...(kind === "tasks" ? [r("GET", "/tasks/:id/logs")] : [r("DELETE", `/${kind}/:id`), r("POST", `/${kind}/:id/update`)]),
      ...(kind === "secrets" || kind === "configs" ? [r("POST", `/${kind}/create`)] : []),
    ]),
    r("GET", "/services", (ctx) => {
      parseFilters(ctx.query.get("filters")).validate(SERVICE_FILTERS);
      refuse();
    }),
    r("POST", "/services/create"),
    r("GET", "/services/:id"),
    r("DELETE", "/services/:id"),
    r("POST", "/services/:id/update"),
    r("GET", "/services/:id/logs"),

    r("GET", "/plugins", (ctx) => {
      parseFilters(ctx.query.get("filters")).validate(PLUGIN_FILTERS);
      sendJson(ctx.res, 200, []);
    }),
    r("GET", "/plugins/privileges", noPluginInstall),
    r("POST", "/plugins/pull", noPluginInstall),
    r("POST", "/plugins/create", noPluginInstall),
    r("GET", "/plugins/*", (ctx) => perPlugin(ctx, "GET")),
    r("POST", "/plugins/*", (ctx) => perPlugin(ctx, "POST")),
    r("DELETE", "/plugins/*", (ctx) => perPlugin(ctx, "DELETE")),
  ];
}
