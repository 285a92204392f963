/**
 * A container's /etc/resolv.conf: the host's, without the nameservers a container cannot reach
 * (loopback ones, and IPv6 ones since berth's networks are IPv4 only), as dockerd filters it.
 * When none remain, berth does NOT add dockerd's fallback public resolvers (8.8.8.8, 8.8.4.4): a
 * container then resolves only what its /etc/hosts holds (docs/network.md).
 */

export interface DnsOverrides {
  /** `--dns`: replaces the host's nameservers. */
  servers?: readonly string[];
  /** `--dns-search`: replaces the host's search domains ("." alone: none). */
  search?: readonly string[];
  /** `--dns-option`: replaces the host's options. */
  options?: readonly string[];
}

export interface ResolvConf {
  content: string;
  nameservers: string[];
}

/** systemd-resolved's stub: dockerd then reads the upstream list resolved keeps. */
export const SYSTEMD_RESOLVED_STUB = "127.0.0.53";
export const SYSTEMD_RESOLVED_UPSTREAM = "/run/systemd/resolve/resolv.conf";

function isUnreachableNameserver(ip: string): boolean {
  return ip.startsWith("127.") || ip.includes(":");
}

function fields(content: string, key: string): string[][] {
  return content
    .split("\n")
    .map((l) => l.replace(/[#;].*$/, "").trim().split(/\s+/))
    .filter((f) => f[0] === key)
    .map((f) => f.slice(1));
}

/** Whether the host file only points at systemd-resolved's stub (then read its upstream file). */
export function usesResolvedStub(hostContent: string): boolean {
  const ns = fields(hostContent, "nameserver").map((f) => f[0] ?? "");
  return ns.length > 0 && ns.every((n) => n === SYSTEMD_RESOLVED_STUB);
}

/**
 * The daemon's DNS settings (dockerd's --dns, --dns-search, --dns-opt) for what a container does
 * not set itself, field by field as dockerd takes them.
 */
export function withDefaultDns(own: DnsOverrides, defaults: DnsOverrides | undefined): DnsOverrides {
  if (!defaults) return own;
  const pick = (a?: readonly string[], b?: readonly string[]) => (a && a.length > 0 ? a : b);
  const servers = pick(own.servers, defaults.servers);
  const search = pick(own.search, defaults.search);
  const options = pick(own.options, defaults.options);
  return { ...(servers ? { servers } : {}), ...(search ? { search } : {}), ...(options ? { options } : {}) };
}

export function renderResolvConf(hostContent: string, o: DnsOverrides = {}): ResolvConf {
  const hostServers = fields(hostContent, "nameserver").map((f) => f[0] ?? "").filter((n) => n !== "" && !isUnreachableNameserver(n));
  const nameservers = o.servers && o.servers.length > 0 ? [...o.servers] : hostServers;
  const hostSearch = fields(hostContent, "search").at(-1) ?? fields(hostContent, "domain").at(-1) ?? [];
  const search = o.search && o.search.length > 0 ? o.search.filter((s) => s !== ".") : hostSearch;
  const options = o.options && o.options.length > 0 ? [...o.options] : fields(hostContent, "options").flat();
  const lines: string[] = [];
  if (search.length > 0) lines.push(`search ${search.join(" ")}`);
  for (const n of nameservers) lines.push(`nameserver ${n}`);
  if (options.length > 0) lines.push(`options ${options.join(" ")}`);
  return { content: lines.length > 0 ? lines.join("\n") + "\n" : "", nameservers };
}
