/**
 * The predefined networks: `host` and `none` (records only, so their IDs are stable like
 * dockerd's) and the default `bridge`, whose device and subnet follow the daemon's configuration
 * (dockerd's --bridge/--bip/--mtu) or else the first candidate free on this host.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { firstHost, formatCidr, formatIPv4, parseCidr, parseInterface, parseIPv4, type Cidr } from "./cidr.js";
import { deleteLink, readHostRoutes } from "./host-net.js";
import { bridgeNetworks, byName, endpointsOn, newRecord, saveNetwork, type NetCtx } from "./manager-context.js";
import {
  cniNetworkName,
  DEFAULT_NETWORK,
  HOST_NETWORK,
  NONE_NETWORK,
  OPT_BRIDGE_NAME,
  OPT_DEFAULT_BRIDGE,
  OPT_IP_MASQ,
  OPT_MTU,
  validateDeviceName,
} from "./network-record.js";
import { chooseSubnet, DEFAULT_BRIDGE_CANDIDATES, firstFree, routedPrefixes } from "./subnet-pool.js";

const DEFAULT_BRIDGE_DEVICE = "berth0";

export async function ensurePredefined(ctx: NetCtx): Promise<void> {
  for (const [name, driver] of [[HOST_NETWORK, "host"], [NONE_NETWORK, "null"]] as const) {
    if (byName(ctx, name)) continue;
    await saveNetwork(ctx, newRecord(ctx, name, driver, { builtin: true }));
  }
  const want = ctx.o.defaultBridge ?? {};
  const device = want.name ?? DEFAULT_BRIDGE_DEVICE;
  validateDeviceName(device);
  let subnet: Cidr | undefined;
  let gateway: number | undefined;
  if (want.bip) {
    const bip = parseInterface(want.bip);
    subnet = parseCidr(want.bip);
    gateway = bip.address === subnet.base ? firstHost(subnet) : bip.address;
  }
  const existing = byName(ctx, DEFAULT_NETWORK);
  if (existing?.bridge) {
    const b = existing.bridge;
    const changed = b.device !== device || (subnet && (b.subnet !== formatCidr(subnet) || b.gateway !== formatIPv4(gateway!))) || (want.mtu ?? 0) !== (b.mtu ?? 0);
    // A new --bip or name applies once no container is on the old bridge (as dockerd needs a restart).
    if (!changed || endpointsOn(ctx, existing.id).length > 0) return;
    await deleteLink(b.device);
    await rm(path.join(ctx.ipamDir, cniNetworkName(existing)), { recursive: true, force: true });
    if (!subnet) {
      subnet = parseCidr(b.subnet);
      gateway = parseIPv4(b.gateway);
    }
    existing.bridge = { device, subnet: formatCidr(subnet), gateway: formatIPv4(gateway!), ipMasq: true, ...(want.mtu ? { mtu: want.mtu } : {}) };
    existing.options = { ...existing.options, [OPT_BRIDGE_NAME]: device };
    await saveNetwork(ctx, existing);
    return;
  }
  if (!subnet) {
    const routes = await (ctx.o.readRoutes ?? readHostRoutes)();
    const used = [...routedPrefixes(routes, new Set([device])), ...bridgeNetworks(ctx).map((n) => parseCidr(n.bridge!.subnet))];
    subnet = firstFree(DEFAULT_BRIDGE_CANDIDATES.map((c) => parseCidr(c)), used) ?? chooseSubnet(ctx.pools, used);
    gateway = firstHost(subnet);
  }
  const rec = newRecord(ctx, DEFAULT_NETWORK, "bridge", { builtin: true, isDefault: true });
  rec.bridge = { device, subnet: formatCidr(subnet), gateway: formatIPv4(gateway!), ipMasq: true, ...(want.mtu ? { mtu: want.mtu } : {}) };
  rec.options = {
    [OPT_DEFAULT_BRIDGE]: "true",
    [OPT_IP_MASQ]: "true",
    [OPT_BRIDGE_NAME]: device,
    ...(want.mtu ? { [OPT_MTU]: String(want.mtu) } : {}),
  };
  await saveNetwork(ctx, rec);
}
