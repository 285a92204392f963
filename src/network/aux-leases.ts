/**
 * A network's auxiliary addresses (`--aux-address`), reserved as host-local leases: host-local
 * hands out an address only when it can create `<ipam dir>/<cni name>/<address>` exclusively, so
 * a file berth writes there first is an address no container ever gets (dockerd's IPAM reserves
 * them the same way, in its bitmask). The sweep of stale leases (reconcile.ts) keeps them.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { NetCtx } from "./manager-context.js";
import { cniNetworkName, type NetworkRecord } from "./network-record.js";

/** What an auxiliary address's lease file holds (host-local's own hold "<container id>\r\n<ifname>"). */
export const AUX_HOLDER = "berth-aux-address";

export function auxLeaseContent(name: string): string {
  return `${AUX_HOLDER}\r\n${name}`;
}

export async function reserveAuxAddresses(ctx: NetCtx, n: NetworkRecord): Promise<void> {
  const aux = n.bridge?.auxAddresses;
  if (!aux || Object.keys(aux).length === 0) return;
  const dir = path.join(ctx.ipamDir, cniNetworkName(n));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const [name, ip] of Object.entries(aux)) await writeFile(path.join(dir, ip), auxLeaseContent(name), { mode: 0o600 });
}
