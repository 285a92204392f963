// docker network connect/disconnect of a container: a running container joins or leaves at
// once, a stopped one at its next start (the record's networks are what start attaches).
import { errConflict, errInvalidArgument, errNotFound } from "../../base/errors.js";
import type { NetworkManager } from "../../network/index.js";
import type { EndpointConfig } from "../types.js";
import { entryOf, hasLiveTask, networked, persist, withConfigMac, type EngineContext } from "./context.js";

function managerOf(ctx: EngineContext): NetworkManager {
  const mgr = ctx.o.network;
  if (!mgr) throw errInvalidArgument("networking is disabled (bridge none)");
  return mgr;
}

export async function connectNetwork(ctx: EngineContext, ref: string, network: string, o: Partial<EndpointConfig> = {}): Promise<void> {
  const e = entryOf(ctx, ref);
  const mgr = managerOf(ctx);
  if (!networked(ctx, e.record)) throw errInvalidArgument(`container sharing network namespace with another container or host cannot be connected to any other network (mode ${e.record.hostConfig.networkMode})`);
  const net = mgr.inspectNetwork(network);
  await e.lock.run(async () => {
    const networks = { ...(e.record.networks ?? {}) };
    if (networks[net.name]) throw errConflict(`endpoint with name ${e.record.name.slice(1)} already exists in network ${net.name}`);
    const entry = { ...o, aliases: o.aliases ?? [] };
    if (hasLiveTask(e)) {
      await mgr.connect(e.record.id, { ...withConfigMac(e.record, net.name, entry), network: net.name });
    }
    networks[net.name] = entry;
    e.record.networks = networks;
    await persist(ctx, e);
  });
  ctx.events.publish({ type: "network", action: "connect", id: net.id, attributes: { container: e.record.id, name: net.name, type: net.driver } });
}

export async function disconnectNetwork(ctx: EngineContext, ref: string, network: string): Promise<void> {
  const e = entryOf(ctx, ref);
  const mgr = managerOf(ctx);
  const net = mgr.inspectNetwork(network);
  await e.lock.run(async () => {
    const networks = { ...(e.record.networks ?? {}) };
    if (!networks[net.name]) throw errNotFound(`container ${e.record.id} is not connected to network ${net.name}`);
    if (hasLiveTask(e)) await mgr.disconnect(e.record.id, net.name);
    delete networks[net.name];
    e.record.networks = networks;
    await persist(ctx, e);
  });
  ctx.events.publish({ type: "network", action: "disconnect", id: net.id, attributes: { container: e.record.id, name: net.name, type: net.driver } });
}

/** Whether any container (running or not) is configured on the network (it cannot be removed). */
export function networkInUse(ctx: EngineContext, name: string): boolean {
  for (const e of ctx.index.values()) if (e.record.networks?.[name]) return true;
  return false;
}
