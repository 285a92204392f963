/**
 * A new bridge network's addresses: the user's IPAM configuration (subnet, gateway, IP range,
 * auxiliary addresses) checked against itself and the other networks, or a free subnet from the
 * pools. Pure. The error messages and kinds are dockerd 20.10's (libnetwork's IPAM and bridge
 * driver), so clients that match on them keep working.
 */
import { cidrContains, cidrLast, cidrOverlaps, cidrWithin, firstHost, formatCidr, formatIPv4, parseCidr, parseIPv4, type Cidr } from "./cidr.js";
import { errConflict, errInvalidArgument, errPermissionDenied } from "./errors.js";
import { chooseSubnet, type AddressPool } from "./subnet-pool.js";

export interface IpamRequest {
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  /** name → IPv4 address. */
  auxAddresses?: Record<string, string>;
}

export interface IpamChoice {
  subnet: Cidr;
  gateway: number;
  ipRange?: Cidr;
  /** The subnet came from the user: fixed container addresses are allowed. */
  userSubnet: boolean;
  userGateway: boolean;
  /** Normalised (dotted quads), by name. */
  auxAddresses?: Record<string, string>;
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
  const aux = Object.entries(req.auxAddresses ?? {});
  if (req.subnet) {
    subnet = parseCidr(req.subnet, { strict: true });
    if (subnet.prefix > 30) throw errInvalidArgument(`invalid subnet ${req.subnet}: too small for a network`);
    userSubnet = true;
    // Only berth's own networks: a user subnet may overlap a host route (dockerd does not check).
    if (space.networks.some((n) => cidrOverlaps(subnet, n))) {
      throw errPermissionDenied("Pool overlaps with other one on this address space");
    }
  } else {
    if (req.gateway || req.ipRange || aux.length > 0) throw errInvalidArgument("Invalid subnet  : invalid CIDR address: (a gateway, an IP range or auxiliary addresses need a subnet)");
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
  let auxAddresses: Record<string, string> | undefined;
  if (aux.length > 0) {
    auxAddresses = {};
    const taken = new Set<number>([gateway]);
    for (const [name, value] of aux) {
      const ip = parseIPv4(value);
      if (ip === undefined) throw errInvalidArgument(`invalid auxiliary address ${name}=${value}: not an IPv4 address`);
      if (!cidrContains(subnet, ip)) throw errPermissionDenied(`auxiliary address: (${name}:${value}) must belong to the master pool: ${formatCidr(subnet)}`);
      if (taken.has(ip) || ip === subnet.base || ip === cidrLast(subnet)) {
        throw errConflict(`failed to allocate secondary ip address (${name}:${value}): Address already in use`);
      }
      taken.add(ip);
      auxAddresses[name] = formatIPv4(ip);
    }
  }
  return { subnet, gateway, userSubnet, userGateway: !!req.gateway, ...(ipRange ? { ipRange } : {}), ...(auxAddresses ? { auxAddresses } : {}) };
}
