// What the API's /networks routes are served by, over the network layer (or, under
// `--bridge none`, the predefined host and none only) and the engine.
import { createHash } from "node:crypto";
import { BerthError, errInvalidArgument, errNotFound } from "../base/errors.js";
import type { NetworkManager, NetworkView } from "../network/index.js";
import type { EventBus } from "./event-bus.js";
import type { Engine } from "./types.js";

export type NetworkStore = Pick<NetworkManager, "createNetwork" | "listNetworks" | "inspectNetwork" | "removeNetwork" | "pruneNetworks">;

/**
 * The API's network backend: the network layer's networks, the engine's connect/disconnect, and
 * dockerd's network events for create/destroy/prune (the engine publishes connect/disconnect).
 */
export function networkBackend(o: {
  manager: NetworkStore;
  engine: Pick<Engine, "connectNetwork" | "disconnectNetwork">;
  inUse: (name: string) => boolean;
  events: Pick<EventBus, "publish">;
}) {
  const { manager, engine } = o;
  const event = (action: string, n: Pick<NetworkView, "id" | "name" | "driver">) =>
    void o.events.publish({ type: "network", action, id: n.id, attributes: { name: n.name, type: n.driver } });
  return {
    listNetworks: () => manager.listNetworks(),
    inspectNetwork: (ref: string) => manager.inspectNetwork(ref),
    async createNetwork(req: Parameters<NetworkStore["createNetwork"]>[0]) {
      const n = await manager.createNetwork(req);
      event("create", n);
      return n;
    },
    async removeNetwork(ref: string) {
      const n = manager.inspectNetwork(ref);
      await manager.removeNetwork(n.id);
      event("destroy", n);
    },
    async pruneNetworks(keep: Parameters<NetworkStore["pruneNetworks"]>[0]) {
      const before = new Map(manager.listNetworks().map((n) => [n.name, n]));
      const removed = await manager.pruneNetworks(keep);
      for (const name of removed) {
        const n = before.get(name);
        if (n) event("destroy", n);
      }
      o.events.publish({ type: "network", action: "prune", id: "", attributes: { reclaimed: "0" } });
      return removed;
    },
    connectNetwork: engine.connectNetwork.bind(engine),
    disconnectNetwork: engine.disconnectNetwork.bind(engine),
    networkInUse: o.inUse,
  };
}

/**
 * `--bridge none`: no network layer, but `host` and `none` still exist (dockerd lists them too),
 * with IDs stable for this daemon. Creating networks needs the network layer.
 */
export function predefinedOnlyNetworks(daemonId: string): NetworkStore {
  const created = new Date();
  const views: NetworkView[] = (["host", "none"] as const).map((name) => ({
    id: createHash("sha256").update(`${daemonId}/network/${name}`).digest("hex"),
    name,
    driver: name === "host" ? "host" : "null",
    scope: "local",
    created,
    enableIPv6: false,
    internal: false,
    attachable: false,
    ingress: false,
    configOnly: false,
    ipam: { driver: "default", options: {}, config: [] },
    options: {},
    labels: {},
    containers: {},
  }));
  const find = (ref: string): NetworkView => {
    const hit = views.find((n) => n.name === ref || n.id === ref) ?? (ref ? views.filter((n) => n.id.startsWith(ref)) : []).at(0);
    if (!hit) throw errNotFound(`network ${ref} not found`);
    return structuredClone(hit);
  };
  return {
    listNetworks: () => views.map((n) => structuredClone(n)),
    inspectNetwork: find,
    createNetwork: async () => {
      throw errInvalidArgument("networking is disabled (berthd --bridge none): networks cannot be created");
    },
    removeNetwork: async (ref) => {
      const n = find(ref);
      throw new BerthError("permission-denied", `${n.name} is a pre-defined network and cannot be removed`);
    },
    pruneNetworks: async () => [],
  };
}

