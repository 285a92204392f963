/**
 * IPv4 addresses and prefixes as numbers: the arithmetic the subnet choice, the bridge settings and
 * the port bindings need. Pure; berth's networks are IPv4 only (docs/network.md).
 */
import { errInvalidArgument } from "./errors.js";

/** An IPv4 prefix with its host bits cleared: `base` is the network address as an unsigned int. */
export interface Cidr {
  readonly base: number;
  readonly prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** The address as an unsigned 32-bit number, or undefined when `s` is not a dotted quad. */
export function parseIPv4(s: string): number | undefined {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function isIPv4(s: string): boolean {
  return parseIPv4(s) !== undefined;
}

export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join(".");
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `"a.b.c.d/n"` with its address and prefix length, host bits kept (a bridge IP like `--bip`). */
export interface Interface {
  readonly address: number;
  readonly prefix: number;
}

/** Parses `"a.b.c.d/n"`; the address may have host bits set. Throws invalid-argument. */
export function parseInterface(s: string): Interface {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s.trim());
  const address = m ? parseIPv4(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (address === undefined || !(prefix >= 0 && prefix <= 32)) throw errInvalidArgument(`invalid CIDR address: ${s}`);
  return { address, prefix };
}

/** Parses `"a.b.c.d/n"` as a network; with `strict`, host bits must be clear (dockerd's --subnet). */
export function parseCidr(s: string, opts: { strict?: boolean } = {}): Cidr {
  const { address, prefix } = parseInterface(s);
  const base = (address & maskOf(prefix)) >>> 0;
  if (opts.strict && base !== address) {
    throw errInvalidArgument(`invalid subnet ${s}: it should be ${formatIPv4(base)}/${prefix}`);
  }
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.prefix}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** The last address of the prefix (its broadcast address). */
export function cidrLast(c: Cidr): number {
  return c.base + cidrSize(c) - 1;
}

export function cidrContains(c: Cidr, address: number): boolean {
  return address >= c.base && address <= cidrLast(c);
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return a.base <= cidrLast(b) && b.base <= cidrLast(a);
}

/** Whether `inner` lies wholly inside `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContains(outer, inner.base);
}

/** The first usable host address (network + 1): the gateway dockerd and host-local pick by default. */
export function firstHost(c: Cidr): number {
  return c.prefix >= 31 ? c.base : c.base + 1;
}

/**
 * The subnets of prefix length `size` inside `pool`, in address order (the order dockerd's
 * default-address-pools hand them out).
 */
export function* subnetsOf(pool: Cidr, size: number): Generator<Cidr> {
  if (size < pool.prefix || size > 32) return;
  const step = 2 ** (32 - size);
  for (let base = pool.base; base <= cidrLast(pool); base += step) yield { base, prefix: size };
}
