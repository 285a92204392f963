/**
 * What the embedded DNS server of one user-defined network answers: the names of the containers
 * attached to THAT network (name, short ID, network aliases) and the link aliases the asking
 * container holds on it. Scoping is by network: a name on another network is not resolved, the
 * same as dockerd's embedded DNS (docs/network.md).
 */
import { addressOf, dnsNames, type SandboxRecord } from "./endpoint-record.js";
import { linkAliases } from "./sandbox-views.js";

/** The IPv4 addresses `name` stands for on network `networkId`, asked from `clientIp` (empty: unknown name). */
export function lookupName(sandboxes: Iterable<SandboxRecord>, networkId: string, name: string, clientIp?: string): string[] {
  const q = name.toLowerCase().replace(/\.$/, "");
  const on: { sb: SandboxRecord; ip: string; links: string[] }[] = [];
  const hits: string[] = [];
  for (const sb of sandboxes) {
    if (sb.state === "detaching") continue;
    const att = sb.attachments.find((a) => a.networkId === networkId);
    const a = att && addressOf(att);
    if (!att || !a) continue;
    on.push({ sb, ip: a.ip, links: att.links ?? [] });
    // An alias several containers share answers with all of them (dockerd's round-robin).
    if (dnsNames(sb, att).some((n) => n.toLowerCase() === q)) hits.push(a.ip);
  }
  if (hits.length > 0) return hits;
  // `--link target:alias`: the alias names the target for the container holding the link only.
  const asker = clientIp ? on.find((e) => e.ip === clientIp) : undefined;
  if (!asker) return [];
  for (const [target, aliases] of linkAliases(asker.links)) {
    if (!aliases.some((al) => al.toLowerCase() === q)) continue;
    const t = on.find((e) => e.sb.name === target || e.sb.containerId === target);
    if (t) return [t.ip];
  }
  return [];
}
