/** The network records' operations: view, create, remove, prune (under the manager's lock). */
import { stopDns } from "./embedded-dns.js";
import { rm } from "node:fs/promises";
import path from "node:path";
import { formatCidr, formatIPv4, parseCidr } from "./cidr.js";
import { errConflict, errInvalidArgument, errNotImplemented, errPermissionDenied } from "./errors.js";
import { deleteLink, readHostRoutes } from "./host-net.js";
import { chooseIpam } from "./ipam-config.js";
import { removeFile } from "./json-files.js";
import { bridgeNetworks, byName, endpointsOn, networkFile, newRecord, saveNetwork, type NetCtx } from "./manager-context.js";
import { reserveAuxAddresses } from "./aux-leases.js";
import { cniNetworkName, PREDEFINED_NETWORKS, OPT_BRIDGE_NAME, OPT_IP_MASQ, OPT_MTU, validateDeviceName, validateNetworkName, type NetworkRecord } from "./network-record.js";
import { addressOf } from "./endpoint-record.js";
import { reconcileRules, removeRules } from "./rules-sync.js";
import { routedPrefixes } from "./subnet-pool.js";
import type { NetworkCreateOptions, NetworkView } from "./types.js";

export function networkView(ctx: NetCtx, n: NetworkRecord): NetworkView {
  const containers: NetworkView["containers"] = {};
  for (const { sb, att } of endpointsOn(ctx, n.id)) {
    const a = addressOf(att);
    containers[sb.containerId] = {
      name: sb.name,
      endpointId: att.endpointId,
      macAddress: a?.mac ?? "",
      ipv4Address: a ? `${a.ip}/${a.prefixLen}` : "",
      ipv6Address: "",
    };
  }
  const b = n.bridge;
  return {
    id: n.id,
    name: n.name,
    driver: n.driver,
    scope: "local",
    created: new Date(n.created),
    enableIPv6: false,
    internal: n.internal,
    attachable: n.attachable,
    ingress: false,
    configOnly: false,
    ipam: {
      driver: "default",
      options: n.ipamOptions ? { ...n.ipamOptions } : null,
      config: b
        ? [
            {
              subnet: b.subnet,
              // dockerd echoes the request: a gateway only when given, or when it chose the subnet.
              ...(!b.userSubnet || b.userGateway ? { gateway: b.gateway } : {}),
              ...(b.ipRange ? { ipRange: b.ipRange } : {}),
              ...(b.auxAddresses ? { auxAddresses: { ...b.auxAddresses } } : {}),
            },
          ]
        : [],
    },
    options: { ...n.options },
    labels: { ...n.labels },
    containers,
  };
}

export async function createNetwork(ctx: NetCtx, o: NetworkCreateOptions): Promise<NetworkView> {
  validateNetworkName(o.name);
  if (PREDEFINED_NETWORKS.includes(o.name)) throw errPermissionDenied(`operation is not permitted on predefined ${o.name} network `);
  // dockerd before API 1.44: a second network of a name only when the client says CheckDuplicate=false.
  if ((o.checkDuplicate ?? true) && byName(ctx, o.name)) throw errConflict(`network with name ${o.name} already exists`);
  const driver = o.driver || "bridge";
  if (driver !== "bridge") throw errNotImplemented(`network driver ${JSON.stringify(driver)} is not supported by berth (bridge only)`);
  if (o.enableIPv6) throw errNotImplemented("IPv6 networks are not supported by berth: the hosts it runs on have no IPv6 route (docs/api.md)");
  const options = { ...(o.options ?? {}) };
  const others = bridgeNetworks(ctx);
  const ipam = await chooseIpam(o, {
    networks: others.map((n) => parseCidr(n.bridge!.subnet)),
    routed: async () => routedPrefixes(await (ctx.o.readRoutes ?? readHostRoutes)(), new Set(others.map((n) => n.bridge!.device))),
    pools: ctx.pools,
  });
  const rec = newRecord(ctx, o.name, "bridge");
  const device = options[OPT_BRIDGE_NAME] || `br-${rec.id.slice(0, 12)}`;
  validateDeviceName(device);
  if (others.some((n) => n.bridge!.device === device)) throw errConflict(`bridge name ${device} is used by another network`);
  let mtu: number | undefined;
  if (options[OPT_MTU]) {
    mtu = Number(options[OPT_MTU]);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw errInvalidArgument(`invalid MTU ${options[OPT_MTU]}`);
  }
  rec.attachable = o.attachable ?? false;
  rec.internal = o.internal ?? false;
  if (o.ipamOptions) rec.ipamOptions = { ...o.ipamOptions };
  rec.labels = { ...(o.labels ?? {}) };
  rec.options = options;
  rec.bridge = {
    device,
    subnet: formatCidr(ipam.subnet),
    gateway: formatIPv4(ipam.gateway),
    ipMasq: options[OPT_IP_MASQ] !== "false",
    ...(ipam.ipRange ? { ipRange: formatCidr(ipam.ipRange) } : {}),
    ...(mtu ? { mtu } : {}),
    ...(ipam.userSubnet ? { userSubnet: true } : {}),
    ...(ipam.userGateway ? { userGateway: true } : {}),
    ...(ipam.auxAddresses ? { auxAddresses: ipam.auxAddresses } : {}),
  };
  // The record before the rules: a crash in between leaves a network whose rules the next open
  // makes, never rules without a network.
  await saveNetwork(ctx, rec);
  try {
    await reserveAuxAddresses(ctx, rec);
    await reconcileRules(ctx, [rec]);
  } catch (e) {
    await removeRules(ctx, rec).catch(() => {});
    await rm(path.join(ctx.ipamDir, cniNetworkName(rec)), { recursive: true, force: true }).catch(() => {});
    await removeFile(networkFile(ctx, rec.id)).catch(() => {});
    ctx.networks.delete(rec.id);
    throw e;
  }
  return networkView(ctx, rec);
}

export async function removeNetwork(ctx: NetCtx, n: NetworkRecord): Promise<void> {
  if (n.builtin) throw errPermissionDenied(`${n.name} is a pre-defined network and cannot be removed`);
  const eps = endpointsOn(ctx, n.id);
  if (eps.length > 0) {
    const names = eps.map(({ sb }) => `name:${JSON.stringify(sb.name)} id:${JSON.stringify(sb.containerId.slice(0, 12))}`).join(", ");
    throw errConflict(`error while removing network: network ${n.name} has active endpoints (${names})`);
  }
  // The rules and the device before the record: a crash in between leaves a record to remove
  // again (its rules made again at the next open), never rules or a bridge without one.
  await stopDns(ctx, n.id);
  if (n.bridge) await removeRules(ctx, n);
  if (n.bridge) await deleteLink(n.bridge.device);
  await rm(path.join(ctx.ipamDir, cniNetworkName(n)), { recursive: true, force: true });
  await removeFile(networkFile(ctx, n.id));
  ctx.networks.delete(n.id);
}

export async function pruneNetworks(ctx: NetCtx, keep?: (n: NetworkView) => boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const n of [...ctx.networks.values()]) {
    if (n.builtin || endpointsOn(ctx, n.id).length > 0 || keep?.(networkView(ctx, n))) continue;
    await removeNetwork(ctx, n);
    removed.push(n.name);
  }
  return removed.sort();
}
