/**
 * The embedded DNS servers of the manager's user-defined networks (dns-server.ts): started when a
 * network's bridge exists with an endpoint on it (the first attach, or reconcile after a restart),
 * stopped when the network is removed and when the manager closes. The default bridge has none,
 * as dockerd's (its containers resolve links through /etc/hosts only).
 */
import { readFile } from "node:fs/promises";
import { lookupName } from "./dns-names.js";
import { startDnsServer, type NetworkDnsServer } from "./dns-server.js";
import { addressOf } from "./endpoint-record.js";
import type { NetCtx } from "./manager-context.js";
import { SYSTEMD_RESOLVED_UPSTREAM, usesResolvedStub } from "./resolv-conf.js";

/** Whether a network gets a server: a user-defined bridge network with a gateway. */
function wantsDns(ctx: NetCtx, networkId: string): string | undefined {
  const n = ctx.networks.get(networkId);
  if (!n || n.isDefault || n.builtin || n.driver !== "bridge" || !n.bridge?.gateway) return undefined;
  if (ctx.o.embeddedDns?.enabled === false) return undefined;
  return n.bridge.gateway;
}

/**
 * The network's server, started if needed; undefined when the network has none or the bind
 * failed (logged once per attempt; the container keeps the host's resolvers then).
 */
export async function ensureDns(ctx: NetCtx, networkId: string): Promise<NetworkDnsServer | undefined> {
  const gateway = wantsDns(ctx, networkId);
  if (!gateway) return undefined;
  const running = ctx.dnsServers.get(networkId);
  if (running) return running;
  const pending = ctx.dnsStarting.get(networkId);
  if (pending) return pending;
  const start = startDnsServer(
    gateway,
    {
      lookup: (name, clientIp) => lookupName(ctx.sandboxes.values(), networkId, name, clientIp),
      upstreams: (clientIp) => upstreamsFor(ctx, networkId, clientIp),
      ...(ctx.o.embeddedDns?.upstreamPort ? { upstreamPort: ctx.o.embeddedDns.upstreamPort } : {}),
      warn: (m) => ctx.o.warn?.(m),
    },
    ctx.o.embeddedDns?.port ?? 53,
  ).then(
    (s) => {
      ctx.dnsStarting.delete(networkId);
      // The network went away while binding.
      if (!ctx.networks.has(networkId) || ctx.dnsClosed) {
        void s.close();
        return undefined;
      }
      ctx.dnsServers.set(networkId, s);
      return s;
    },
    (e: unknown) => {
      ctx.dnsStarting.delete(networkId);
      ctx.o.warn?.(`embedded DNS for network ${ctx.networks.get(networkId)?.name ?? networkId}: cannot listen on ${gateway}:53 (${e instanceof Error ? e.message : String(e)}); its containers keep the host's resolvers`);
      return undefined;
    },
  );
  ctx.dnsStarting.set(networkId, start);
  return start;
}

export async function stopDns(ctx: NetCtx, networkId: string): Promise<void> {
  const s = ctx.dnsServers.get(networkId);
  ctx.dnsServers.delete(networkId);
  await s?.close();
}

export async function stopAllDns(ctx: NetCtx): Promise<void> {
  ctx.dnsClosed = true;
  await Promise.allSettled([...ctx.dnsStarting.values()]);
  await Promise.allSettled([...ctx.dnsServers.keys()].map((id) => stopDns(ctx, id)));
}

/** Servers for every user network with an attached endpoint (after a daemon restart). */
export async function restoreDns(ctx: NetCtx): Promise<void> {
  const ids = new Set<string>();
  for (const sb of ctx.sandboxes.values()) if (sb.state === "attached") for (const a of sb.attachments) ids.add(a.networkId);
  for (const id of ids) await ensureDns(ctx, id);
}

/**
 * Where the names berth does not own go: the asking container's own --dns servers, else the
 * daemon's --dns, else the host's nameservers. The server runs on the host, so loopback resolvers
 * (systemd-resolved's stub, a local dnsmasq) are reachable from it, unlike from a container.
 */
async function upstreamsFor(ctx: NetCtx, networkId: string, clientIp: string): Promise<string[]> {
  for (const sb of ctx.sandboxes.values()) {
    const att = sb.attachments.find((a) => a.networkId === networkId);
    if (att && addressOf(att)?.ip === clientIp && sb.dns.servers && sb.dns.servers.length > 0) return [...sb.dns.servers];
  }
  if (ctx.o.defaultDns?.servers && ctx.o.defaultDns.servers.length > 0) return [...ctx.o.defaultDns.servers];
  const host = await readFile(ctx.o.resolvConfPath ?? "/etc/resolv.conf", "utf8").catch(() => "");
  const own = nameservers(host);
  const gateways = new Set([...ctx.networks.values()].map((n) => n.bridge?.gateway));
  // Never forward to ourselves (a host whose resolv.conf names a bridge gateway would loop).
  const pick = (l: string[]) => l.filter((ip) => !gateways.has(ip) && !ip.includes(":"));
  if (usesResolvedStub(host)) {
    const upstream = pick(nameservers(await readFile(SYSTEMD_RESOLVED_UPSTREAM, "utf8").catch(() => "")));
    if (upstream.length > 0) return upstream;
  }
  return pick(own);
}

function nameservers(content: string): string[] {
  return content
    .split("\n")
    .map((l) => l.replace(/[#;].*$/, "").trim().split(/\s+/))
    .filter((f) => f[0] === "nameserver" && f[1])
    .map((f) => f[1]!);
}
