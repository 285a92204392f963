/**
 * IPv4 leases in host-local's on-disk format (containernetworking-plugins' host-local IPAM), kept
 * by berthd itself for its built-in bridge (bridge-builtin.ts):
 *
 *   <data dir>/<network>/<address>            "<container id>\r\n<ifname>": one per lease
 *   <data dir>/<network>/last_reserved_ip.0   the address handed out last
 *
 * An address is taken by creating its file exclusively, so the aux-address reservations
 * (aux-leases.ts), the sweep of stale leases (reconcile.ts) and leases the host-local plugin made
 * all keep working, whichever of the two made them. Addresses are handed out as host-local does:
 * round robin from the one after the last handed out, skipping the gateway and every address that
 * has a file.
 */
import { mkdir, open, readdir, readFile, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { cidrContains, cidrLast, formatIPv4, parseCidr, parseIPv4 } from "./cidr.js";

export interface LeaseRange {
  /** CIDR notation: "172.17.0.0/16". */
  subnet: string;
  gateway?: string;
  rangeStart?: string;
  rangeEnd?: string;
}

export const LAST_RESERVED = "last_reserved_ip.0";

export function leaseContent(containerId: string, ifName: string): string {
  return `${containerId}\r\n${ifName}`;
}

/** The first and last address a range hands out (host-local's defaults: the subnet without its network and broadcast addresses). */
export function rangeBounds(r: LeaseRange): { start: number; end: number; gateway: number | undefined; prefix: number } {
  const c = parseCidr(r.subnet);
  const start = r.rangeStart !== undefined ? parseIPv4(r.rangeStart) : c.base + 1;
  const end = r.rangeEnd !== undefined ? parseIPv4(r.rangeEnd) : cidrLast(c) - 1;
  if (start === undefined || end === undefined || start > end || !cidrContains(c, start) || !cidrContains(c, end)) {
    throw new Error(`invalid range ${r.rangeStart ?? ""}-${r.rangeEnd ?? ""} in ${r.subnet}`);
  }
  return { start, end, gateway: r.gateway !== undefined ? parseIPv4(r.gateway) : undefined, prefix: c.prefix };
}

/**
 * The order in which addresses are tried: from the one after `last` (when it is in the range) up
 * to the end, then from the start. Pure.
 */
export function* candidates(start: number, end: number, last: number | undefined): Generator<number> {
  const first = last !== undefined && last >= start && last < end ? last + 1 : start;
  for (let ip = first; ip <= end; ip++) yield ip;
  for (let ip = start; ip < first; ip++) yield ip;
}

export class LeaseError extends Error {}

/** Takes one address of `r` for the container's interface; `requested` names the one it must be. */
export async function allocateLease(dataDir: string, network: string, r: LeaseRange, containerId: string, ifName: string, requested?: string): Promise<string> {
  const dir = path.join(dataDir, network);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const { start, end, gateway } = rangeBounds(r);
  const content = leaseContent(containerId, ifName);
  const take = async (ip: number): Promise<boolean> => {
    let fh;
    try {
      fh = await open(path.join(dir, formatIPv4(ip)), "wx", 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw e;
    }
    try {
      await fh.writeFile(content);
    } finally {
      await fh.close();
    }
    await writeFile(path.join(dir, LAST_RESERVED), formatIPv4(ip));
    return true;
  };
  if (requested !== undefined) {
    const ip = parseIPv4(requested);
    if (ip === undefined || ip < start || ip > end) throw new LeaseError(`requested IP address ${requested} is not in range ${formatIPv4(start)}-${formatIPv4(end)}`);
    if (ip === gateway) throw new LeaseError(`requested IP address ${requested} is the network's gateway`);
    if (!(await take(ip))) throw new LeaseError(`requested IP address ${requested} is not available in range set ${formatIPv4(start)}-${formatIPv4(end)}`);
    return requested;
  }
  const taken = new Set(await readdir(dir));
  const last = parseIPv4((await readFile(path.join(dir, LAST_RESERVED), "utf8").catch(() => "")).trim());
  for (const ip of candidates(start, end, last)) {
    if (ip === gateway || taken.has(formatIPv4(ip))) continue;
    if (await take(ip)) return formatIPv4(ip);
  }
  throw new LeaseError(`no IP addresses available in range set: ${formatIPv4(start)}-${formatIPv4(end)}`);
}

/**
 * Drops the container interface's lease: the file of `ip` when it holds this lease (the address
 * is known from the ADD result), else every file that does (a crash before the result was saved).
 */
export async function releaseLease(dataDir: string, network: string, containerId: string, ifName: string, ip?: string): Promise<void> {
  const dir = path.join(dataDir, network);
  const content = leaseContent(containerId, ifName);
  const holds = async (f: string) => (await readFile(path.join(dir, f), "utf8").catch(() => "")).trim() === content;
  if (ip !== undefined && (await holds(ip))) {
    await unlink(path.join(dir, ip)).catch(() => {});
    return;
  }
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    return;
  }
  for (const f of files) if (parseIPv4(f) !== undefined && (await holds(f))) await unlink(path.join(dir, f)).catch(() => {});
}
