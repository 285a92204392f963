/**
 * The CNI configuration list of a berth bridge network, as one container's attachment uses it. Pure.
 *
 *  bridge (+ host-local IPAM)  the container's veth on the network's bridge, an address and the
 *                              default route (first network only)
 *  portmap                     published ports (first network only, as dockerd publishes through
 *                              the gateway endpoint); snat so that 127.0.0.1:PORT reaches the
 *                              container (it sets route_localnet on the bridge)
 *
 * Outbound NAT and the FORWARD accepts are not here: the bridge plugin's ipMasq and the firewall
 * plugin make iptables rules per container (19 iptables executions per start, 10 per stop), while
 * one set per network does the same (network-rules.ts). A list without portmap runs no iptables.
 */
import { CNI_VERSION, type NetworkConfList, type PluginConf } from "./cni.js";
import { cidrLast, formatIPv4, parseCidr } from "./cidr.js";
import { cniNetworkName, type NetworkRecord } from "./network-record.js";

export interface ConfListOptions {
  /** host-local's state directory (berth's, not /var/lib/cni). */
  ipamDir: string;
  /** The container's first network: default route, published ports. */
  primary: boolean;
  /** Add the portmap plugin (the attachment publishes ports). */
  portmap: boolean;
}

export function bridgeConfList(n: NetworkRecord, o: ConfListOptions): NetworkConfList {
  const b = n.bridge;
  if (!b) throw new Error(`network ${n.name} is not a bridge network`);
  const range: Record<string, string> = { subnet: b.subnet, gateway: b.gateway };
  if (b.ipRange) {
    const r = parseCidr(b.ipRange);
    range.rangeStart = formatIPv4(r.base === parseCidr(b.subnet).base ? r.base + 1 : r.base);
    range.rangeEnd = formatIPv4(cidrLast(r) === cidrLast(parseCidr(b.subnet)) ? cidrLast(r) - 1 : cidrLast(r));
  }
  const bridge: PluginConf = {
    type: "bridge",
    bridge: b.device,
    isGateway: true,
    // The network's one masquerade rule (network-rules.ts) covers the subnet: no chain per container.
    ipMasq: false,
    // A container reaching its own published port through the host goes back out its own port.
    hairpinMode: true,
    ...(b.mtu ? { mtu: b.mtu } : {}),
    capabilities: { ips: true, mac: true },
    ipam: {
      type: "host-local",
      ranges: [[range]],
      routes: o.primary ? [{ dst: "0.0.0.0/0" }] : [],
      dataDir: o.ipamDir,
    },
  };
  const plugins: PluginConf[] = [bridge];
  if (o.portmap) plugins.push({ type: "portmap", capabilities: { portMappings: true }, snat: true });
  return { cniVersion: CNI_VERSION, name: cniNetworkName(n), plugins };
}

/** portmap's `portMappings` capability: one entry per published port. */
export function portMappingsArg(published: readonly { containerPort: number; hostPort: number; protocol: string; hostIp: string }[]) {
  return published.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIp }));
}
