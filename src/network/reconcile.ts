/**
 * Daemon start: endpoints of containers that are gone are torn down, and namespaces and host-local
 * leases nobody holds are removed.
 */
import { restoreDns } from "./embedded-dns.js";
import { readdir, readFile, rm, unlink } from "node:fs/promises";
import path from "node:path";
import { parseIPv4 } from "./cidr.js";
import { bridgeNetworks, endpointsOn, type NetCtx } from "./manager-context.js";
import { cniNetworkName } from "./network-record.js";
import { auxLeaseContent, reserveAuxAddresses } from "./aux-leases.js";
import { teardown } from "./sandbox-ops.js";
import { refreshHosts } from "./sandbox-views.js";
import type { ReconcileReport } from "./types.js";

export async function reconcile(ctx: NetCtx, live: Set<string>, signal?: AbortSignal): Promise<ReconcileReport> {
  const report: ReconcileReport = { detached: [], netns: [], leases: [], errors: [] };
  for (const sb of [...ctx.sandboxes.values()]) {
    if (live.has(sb.containerId) && sb.state === "attached") continue;
    try {
      await teardown(ctx, sb, signal);
      report.detached.push(sb.containerId);
    } catch (e) {
      report.errors.push({ containerId: sb.containerId, message: e instanceof Error ? e.message : String(e) });
    }
  }
  for (const ns of await ctx.netns.list()) {
    if (ctx.sandboxes.has(ns.id)) continue;
    await ctx.netns.remove(ns.id);
    report.netns.push(ns.id);
  }
  report.leases = await sweepLeases(ctx);
  for (const n of bridgeNetworks(ctx)) await reserveAuxAddresses(ctx, n);
  await ctx.lock.run(() => refreshHosts(ctx, [...ctx.sandboxes.values()]));
  // The live containers' resolv.conf names their network's gateway: its server again.
  await restoreDns(ctx);
  report.detached.sort();
  return report;
}

/**
 * host-local lease files (`<ipam>/<cni name>/<ip>`, holding "<container id>\r\n<ifname>") of no
 * endpoint berth knows, and directories of networks that no longer exist.
 */
async function sweepLeases(ctx: NetCtx): Promise<string[]> {
  const removed: string[] = [];
  const byCni = new Map(bridgeNetworks(ctx).map((n) => [cniNetworkName(n), n]));
  let dirs: string[];
  try {
    dirs = await readdir(ctx.ipamDir);
  } catch {
    return removed;
  }
  for (const d of dirs) {
    const dir = path.join(ctx.ipamDir, d);
    const n = byCni.get(d);
    if (!n) {
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
      continue;
    }
    const holders = new Set(endpointsOn(ctx, n.id).map(({ sb, att }) => `${sb.containerId}\r\n${att.ifName}`));
    for (const [name, ip] of Object.entries(n.bridge?.auxAddresses ?? {})) holders.add(auxLeaseContent(name).trim() + `@${ip}`);
    for (const f of await readdir(dir)) {
      if (parseIPv4(f) === undefined) continue;
      const p = path.join(dir, f);
      const content = (await readFile(p, "utf8").catch(() => "")).trim();
      if (holders.has(content) || holders.has(`${content}@${f}`)) continue;
      await unlink(p).catch(() => {});
      removed.push(p);
    }
  }
  return removed;
}
