/**
 * Which subnet a bridge network gets: the first one of the address pools that overlaps neither the
 * host's routes nor another berth network (dockerd's default-address-pools walk). Pure.
 */
import { errInvalidArgument, errResourceExhausted } from "./errors.js";
import { cidrOverlaps, formatCidr, parseCidr, subnetsOf, type Cidr } from "./cidr.js";

export interface AddressPool {
  /** A prefix to carve subnets from: "172.17.0.0/16". */
  base: string;
  /** Prefix length of each subnet taken from it. */
  size: number;
}

/** dockerd's default-address-pools: 172.17–172.31 as /16s, then 192.168.0.0/16 as /20s. */
export const DEFAULT_ADDRESS_POOLS: readonly AddressPool[] = [
  ...Array.from({ length: 15 }, (_, i) => ({ base: `172.${17 + i}.0.0/16`, size: 16 })),
  { base: "192.168.0.0/16", size: 20 },
];

/** Where the default bridge goes when no --bip is configured: the first free one. */
export const DEFAULT_BRIDGE_CANDIDATES: readonly string[] = ["172.30.0.0/16", "172.31.0.0/16", "10.88.0.0/16", "192.168.240.0/20"];

/** A route of the host's main table, as `ip -j route` prints it. */
export interface HostRoute {
  /** "default", "10.0.0.0/8" or a bare address (a /32). */
  dst: string;
  dev?: string;
}

/**
 * The prefixes the host already routes, ignoring the default route and routes through `ownDevices`
 * (berth's bridges: a network's own route must not make its subnet look taken).
 */
export function routedPrefixes(routes: readonly HostRoute[], ownDevices: ReadonlySet<string>): Cidr[] {
  const out: Cidr[] = [];
  for (const r of routes) {
    if (r.dst === "default" || (r.dev !== undefined && ownDevices.has(r.dev))) continue;
    try {
      out.push(parseCidr(r.dst.includes("/") ? r.dst : `${r.dst}/32`));
    } catch {
      // IPv6 or unparseable: not in berth's IPv4 space.
    }
  }
  return out;
}

/** The first candidate that overlaps nothing in `used`. */
export function firstFree(candidates: Iterable<Cidr>, used: readonly Cidr[]): Cidr | undefined {
  for (const c of candidates) if (!used.some((u) => cidrOverlaps(c, u))) return c;
  return undefined;
}

export function* poolSubnets(pools: readonly AddressPool[]): Generator<Cidr> {
  for (const p of pools) {
    const base = parseCidr(p.base);
    if (!Number.isInteger(p.size) || p.size < base.prefix || p.size > 30) {
      throw errInvalidArgument(`invalid address pool ${p.base} with size ${p.size}`);
    }
    yield* subnetsOf(base, p.size);
  }
}

/** A subnet for a new network from the pools; resource-exhausted when all are taken. */
export function chooseSubnet(pools: readonly AddressPool[], used: readonly Cidr[]): Cidr {
  const c = firstFree(poolSubnets(pools), used);
  if (!c) throw errResourceExhausted("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
  return c;
}

export function describeOverlap(subnet: Cidr, used: readonly { cidr: Cidr; what: string }[]): string | undefined {
  const hit = used.find((u) => cidrOverlaps(subnet, u.cidr));
  return hit ? `${formatCidr(subnet)} overlaps ${hit.what} (${formatCidr(hit.cidr)})` : undefined;
}
