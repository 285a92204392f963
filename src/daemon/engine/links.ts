// HostConfig.Links (legacy `--link name:alias`): checked and made canonical at create (the linked
// container must exist; not with host or container network modes), and at every start the
// linked containers must run: their names go into /etc/hosts through the default bridge's
// endpoint links (network layer), their address, ports and environment into the variables
// dockerd sets (legacy-links.ts).
import { errConflict, errInternal, errInvalidArgument, errNotFound, isNotFound } from "../../base/errors.js";
import type { ContainerRecord } from "../../container/index.js";
import { linkEnv, parseLink } from "../legacy-links.js";
import { entryOf, hasLiveTask, persist, type EngineContext } from "./context.js";

/** The record keeps "name:alias" with the linked container's canonical name. */
export function resolveLinksAtCreate(ctx: EngineContext, record: ContainerRecord): void {
  const hc = record.hostConfig;
  if (!hc.links || hc.links.length === 0) return;
  if (hc.networkMode === "host") throw errInvalidArgument("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  if (hc.networkMode.startsWith("container:")) throw errInvalidArgument("conflicting options: container type network can't be used with links. This would result in undefined behavior");
  hc.links = hc.links.map((spec) => {
    const { name, alias } = parseLink(spec);
    try {
      return `${entryOf(ctx, name).record.name.slice(1)}:${alias}`;
    } catch (e) {
      throw isNotFound(e) ? errInvalidArgument(`could not get container for ${name}: ${e.message}`) : e;
    }
  });
}

/**
 * The links' variables. At start (`strict`) each linked container must run (dockerd's 500
 * "Cannot link to a non running container"); otherwise one that does not is left out.
 */
export function linksEnv(ctx: EngineContext, record: ContainerRecord, strict: boolean): string[] {
  const out: string[] = [];
  for (const l of record.hostConfig.links ?? []) {
    const { name, alias } = parseLink(l);
    const linkName = `${record.name}/${alias}`;
    let child;
    try {
      child = entryOf(ctx, name);
    } catch (e) {
      if (strict || !isNotFound(e)) throw e;
      continue;
    }
    if (!hasLiveTask(child)) {
      if (strict) throw errInternal(`Cannot link to a non running container: ${child.record.name} AS ${linkName}`);
      continue;
    }
    const ip = ctx.o.network?.settings(child.record.id)?.networks.bridge?.ipAddress ?? "";
    out.push(...linkEnv({ linkName, ip, exposedPorts: child.record.config.exposedPorts, env: child.record.config.env }));
  }
  return out;
}

/**
 * `docker rm --link /<container>/<alias>`: the container forgets that link (its variables and
 * /etc/hosts entry from its next start); dockerd's 404 when there is no such link name.
 */
export async function removeLink(ctx: EngineContext, ref: string): Promise<void> {
  const name = ref.startsWith("/") ? ref : `/${ref}`;
  const slash = name.lastIndexOf("/");
  if (slash === 0) throw errConflict("Conflict, cannot remove the default link name of the container");
  const parentRef = name.slice(1, slash);
  const alias = name.slice(slash + 1);
  const parent = entryOf(ctx, parentRef);
  await parent.lock.run(async () => {
    const links = parent.record.hostConfig.links ?? [];
    const kept = links.filter((l) => parseLink(l).alias !== alias);
    if (kept.length === links.length) throw errNotFound(`No such container: ${ref}`);
    parent.record.hostConfig.links = kept;
    await persist(ctx, parent);
  });
}
