/**
 * A container's /etc/hosts on berth's networks. Names on user-defined networks are resolved through
 * this file, not an embedded DNS server (docs/network.md): berth rewrites the file of every container
 * on a network when a peer attaches or detaches. The file is bind-mounted into the container, so it
 * is rewritten in place: a rename would leave the container holding the old inode.
 */
import { open } from "node:fs/promises";
import { errInvalidArgument } from "./errors.js";
import { isIPv4 } from "./cidr.js";

/** dockerd's fixed lines (the engine writes the same ones for `none`). */
export const DEFAULT_HOSTS_LINES: readonly string[] = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

export const PEERS_MARK = "# berth: containers on the same user-defined networks";

export interface HostsEntry {
  ip: string;
  names: string[];
}

export interface HostsContent {
  /** `--add-host` entries, already resolved (see parseExtraHosts). */
  extra: readonly HostsEntry[];
  /** The container's own addresses with its hostname. */
  self: readonly HostsEntry[];
  /** Other containers on the user-defined networks this one is on. */
  peers: readonly HostsEntry[];
}

const line = (e: HostsEntry) => `${e.ip}\t${e.names.join(" ")}`;

export function renderHosts(c: HostsContent): string {
  const lines = [...DEFAULT_HOSTS_LINES, ...c.extra.map(line), ...c.self.map(line)];
  if (c.peers.length > 0) lines.push(PEERS_MARK, ...c.peers.map(line));
  return lines.join("\n") + "\n";
}

/** The names of the container's own entry: `host.domain host` with a domain, as dockerd writes it. */
export function selfNames(hostname: string, domainname?: string): string[] {
  return domainname ? [`${hostname}.${domainname}`, hostname] : [hostname];
}

/**
 * `--add-host` values: `name:ip` (or `name=ip`); `host-gateway` stands for `hostGateway`, the
 * default bridge's gateway address (dockerd's --host-gateway-ip default).
 */
export function parseExtraHosts(values: readonly string[], hostGateway: string | undefined): HostsEntry[] {
  return values.map((v) => {
    const sep = v.search(/[:=]/);
    const name = sep < 0 ? "" : v.slice(0, sep);
    let ip = sep < 0 ? "" : v.slice(sep + 1);
    if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
    if (name === "" || ip === "") throw errInvalidArgument(`bad format for add-host: ${JSON.stringify(v)}`);
    if (ip === "host-gateway") {
      if (!hostGateway) throw errInvalidArgument("unable to derive the IP value for host-gateway");
      ip = hostGateway;
    }
    if (!isIPv4(ip) && !/^[0-9a-fA-F:.]+$/.test(ip)) throw errInvalidArgument(`invalid IP address in add-host: ${JSON.stringify(ip)}`);
    return { ip, names: [name] };
  });
}

/**
 * Replaces the file's content without replacing the file: write, then truncate to the new length,
 * so a reader sees the old or the new lines but never an empty file. Creates it when missing.
 */
export async function writeInPlace(path: string, content: string): Promise<void> {
  const data = Buffer.from(content);
  const fh = await open(path, "r+").catch(async (e: unknown) => {
    if ((e as { code?: string }).code === "ENOENT") return open(path, "w", 0o644);
    throw e;
  });
  try {
    await fh.write(data, 0, data.length, 0);
    await fh.truncate(data.length);
  } finally {
    await fh.close();
  }
}
