/**
 * A new bridge network's addresses: the user's IPAM configuration (subnet, gateway, IP range)
 * checked against itself and the other networks, or a free subnet from the pools. Pure.
 */
import { cidrContains, cidrLast, cidrOverlaps, cidrWithin, firstHost, formatCidr, parseCidr, parseIPv4, type Cidr } from "./cidr.js";
import { errConflict, errInvalidArgument } from "./errors.js";
import { chooseSubnet, type AddressPool } from "./subnet-pool.js";

export interface IpamRequest {
  subnet?: string;
  gateway?: string;
  ipRange?: string;
}

export interface IpamChoice {
  subnet: Cidr;
  gateway: number;
  ipRange?: Cidr;
  /** The subnet came from the user: fixed container addresses are allowed. */
  userSubnet: boolean;
}

export interface IpamSpace {
  /** Subnets of the other berth networks. */
  networks: readonly Cidr[];
  /** The host's routed prefixes (only a subnet berth chooses must avoid them, as in dockerd). */
  routed: () => Promise<readonly Cidr[]>;
  pools: readonly AddressPool[];
}

export async function chooseIpam(req: IpamRequest, space: IpamSpace): Promise<IpamChoice> {
  let subnet: Cidr;
  let userSubnet = false;
  if (req.subnet) {
    subnet = parseCidr(req.subnet, { strict: true });
    if (subnet.prefix > 30) throw errInvalidArgument(`invalid subnet ${req.subnet}: too small for a network`);
    userSubnet = true;
    if (space.networks.some((n) => cidrOverlaps(subnet, n))) {
      throw errConflict("Pool overlaps with other one on this address space");
    }
  } else {
    if (req.gateway || req.ipRange) throw errInvalidArgument("a gateway or an IP range needs a subnet (--subnet)");
    subnet = chooseSubnet(space.pools, [...(await space.routed()), ...space.networks]);
  }
  let gateway = firstHost(subnet);
  if (req.gateway) {
    const g = parseIPv4(req.gateway);
    if (g === undefined) throw errInvalidArgument(`invalid gateway address ${req.gateway}`);
    if (!cidrContains(subnet, g) || g === subnet.base || g === cidrLast(subnet)) {
      throw errInvalidArgument(`gateway ${req.gateway} is not a host address of subnet ${formatCidr(subnet)}`);
    }
    gateway = g;
  }
  let ipRange: Cidr | undefined;
  if (req.ipRange) {
    const r = parseCidr(req.ipRange, { strict: true });
    if (!cidrWithin(r, subnet)) throw errInvalidArgument(`IP range ${req.ipRange} is not inside subnet ${formatCidr(subnet)}`);
    ipRange = r;
  }
  return { subnet, gateway, userSubnet, ...(ipRange ? { ipRange } : {}) };
}
