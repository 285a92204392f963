/**
 * What a container sees of its endpoints: the engine's NetworkSettings view, its /etc/hosts (the
 * name resolution on user-defined networks: docs/network.md) and its resolv.conf.
 */
import { readFile } from "node:fs/promises";
import { addressOf, dnsNames, type AttachmentRecord, type SandboxRecord } from "./endpoint-record.js";
import { renderHosts, selfNames, writeInPlace, type HostsEntry } from "./hosts-file.js";
import type { NetCtx } from "./manager-context.js";
import { portMapView } from "./ports.js";
import { renderResolvConf, withDefaultDns, SYSTEMD_RESOLVED_UPSTREAM, usesResolvedStub, type DnsOverrides } from "./resolv-conf.js";
import type { EndpointView, NetworkSettingsView } from "./types.js";

export function endpointView(ctx: NetCtx, sb: SandboxRecord, att: AttachmentRecord): EndpointView {
  const a = addressOf(att);
  const n = ctx.networks.get(att.networkId);
  const user = !n?.isDefault;
  return {
    networkId: att.networkId,
    networkName: n?.name ?? att.networkName,
    endpointId: att.endpointId,
    ifName: att.ifName,
    ipAddress: a?.ip ?? "",
    ipPrefixLen: a?.prefixLen ?? 0,
    gateway: a?.gateway ?? "",
    macAddress: a?.mac ?? "",
    aliases: [...att.aliases],
    dnsNames: user ? dnsNames(sb, att) : [],
    ...(att.requestedIp || att.linkLocalIPs
      ? { ipamConfig: { ...(att.requestedIp ? { ipv4Address: att.requestedIp } : {}), ...(att.linkLocalIPs ? { linkLocalIPs: [...att.linkLocalIPs] } : {}) } }
      : {}),
    ...(att.links ? { links: [...att.links] } : {}),
    ...(att.driverOpts ? { driverOpts: { ...att.driverOpts } } : {}),
  };
}

export function settingsView(ctx: NetCtx, sb: SandboxRecord): NetworkSettingsView {
  const networks: Record<string, EndpointView> = {};
  let top: EndpointView | undefined;
  for (const att of sb.attachments) {
    const v = endpointView(ctx, sb, att);
    networks[v.networkName] = v;
    if (ctx.networks.get(att.networkId)?.isDefault) top = v;
  }
  return {
    sandboxId: sb.sandboxId,
    sandboxKey: sb.netnsPath,
    ipAddress: top?.ipAddress ?? "",
    ipPrefixLen: top?.ipPrefixLen ?? 0,
    gateway: top?.gateway ?? "",
    macAddress: top?.macAddress ?? "",
    ports: portMapView(sb.exposedPorts, sb.published),
    published: sb.published.map((p) => ({ ...p })),
    networks,
  };
}

/**
 * The container's resolv.conf; with `embeddedDns` (the gateway of its user network's DNS server)
 * that server is its only nameserver, the container's and daemon's --dns being its upstreams, and
 * `ndots:0` is added as dockerd does with its 127.0.0.11.
 */
export async function resolvConfOf(ctx: NetCtx, dns: DnsOverrides, embeddedDns?: string) {
  const hostPath = ctx.o.resolvConfPath ?? "/etc/resolv.conf";
  let host = await readFile(hostPath, "utf8").catch(() => "");
  if (usesResolvedStub(host)) host = await readFile(SYSTEMD_RESOLVED_UPSTREAM, "utf8").catch(() => host);
  const o = withDefaultDns(dns, ctx.o.defaultDns);
  if (!embeddedDns) return renderResolvConf(host, o);
  const r = renderResolvConf(host, { ...o, servers: [embeddedDns] });
  if (/^options .*\bndots:/m.test(r.content)) return r;
  const content = /^options /m.test(r.content) ? r.content.replace(/^options /m, "options ndots:0 ") : `${r.content}options ndots:0\n`;
  return { ...r, content };
}

/** "name:alias" / "name" links → the aliases of each linked name. */
export function linkAliases(links: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of links) {
    const [name, alias] = l.split(":") as [string, string | undefined];
    const target = name.replace(/^\//, "");
    out.set(target, [...(out.get(target) ?? []), alias ?? target]);
  }
  return out;
}

// ---- /etc/hosts -----------------------------------------------------------------------------

/** Sandboxes sharing a user-defined network with `sb`, or linking to it (and `sb` itself when `self`). */
export function peersOf(ctx: NetCtx, sb: SandboxRecord, self: boolean): SandboxRecord[] {
  const nets = new Set(sb.attachments.map((a) => a.networkId).filter((id) => !ctx.networks.get(id)?.isDefault));
  const out = self ? [sb] : [];
  for (const o of ctx.sandboxes.values()) {
    if (o === sb) continue;
    const links = (a: { links?: string[] }) => a.links !== undefined && (linkAliases(a.links).has(sb.name) || linkAliases(a.links).has(sb.containerId));
    if (o.attachments.some((a) => nets.has(a.networkId) || links(a))) out.push(o);
  }
  return out;
}

/** Rewrites the /etc/hosts of these sandboxes (call under the manager's lock). */
export async function refreshHosts(ctx: NetCtx, sandboxes: readonly SandboxRecord[]): Promise<void> {
  for (const sb of sandboxes) {
    if (!sb.files.hosts || !ctx.sandboxes.has(sb.containerId)) continue;
    await writeInPlace(sb.files.hosts, hostsContent(ctx, sb)).catch(() => {
      // The container's directory went away under it (removed concurrently): nothing to keep current.
    });
  }
}

function hostsContent(ctx: NetCtx, sb: SandboxRecord): string {
  const self: HostsEntry[] = [];
  const peers: HostsEntry[] = [];
  const seenPeers = new Set<string>();
  for (const att of sb.attachments) {
    const a = addressOf(att);
    if (!a) continue;
    const user = !ctx.networks.get(att.networkId)?.isDefault;
    // A container resolves its own name and aliases on a user network too (dockerd's DNS does).
    const names = [...selfNames(sb.hostname, sb.domainname), ...(user ? [sb.name, ...att.aliases] : [])];
    self.push({ ip: a.ip, names: [...new Set(names)] });
    const aliasesOf = linkAliases(att.links ?? []);
    // On the default bridge only linked containers are named (legacy links); on a user network every peer.
    if (!user && aliasesOf.size === 0) continue;
    for (const o of ctx.sandboxes.values()) {
      if (o === sb || seenPeers.has(o.containerId) || o.state === "detaching") continue;
      const linked = aliasesOf.get(o.name) ?? aliasesOf.get(o.containerId) ?? [];
      if (!user && linked.length === 0) continue;
      const oa = o.attachments.find((x) => x.networkId === att.networkId);
      const addr = oa && addressOf(oa);
      if (!oa || !addr) continue;
      seenPeers.add(o.containerId);
      // `--link name:alias` on this network: the alias names the linked peer, for this container only.
      peers.push({ ip: addr.ip, names: [...new Set([...(user ? dnsNames(o, oa) : [o.name]), ...linked])] });
    }
  }
  return renderHosts({ extra: sb.extraHosts, self, peers });
}
