/**
 * Keeping each bridge network's iptables rules (network-rules.ts) what its record asks for: at
 * open, at create, before the first attachment this manager sees, and at removal.
 */
import { networkRules, reconcileNetworkRules, ruleTagOf, type NetworkRule } from "./network-rules.js";
import type { NetworkRecord } from "./network-record.js";
import type { NetCtx } from "./manager-context.js";

function rulesOf(ctx: NetCtx, n: NetworkRecord): { tag: string; rules: NetworkRule[] } {
  return { tag: ruleTagOf(n), rules: networkRules(n, { forward: ctx.firewall }) };
}

/** Makes the rules of these networks what their records ask for. */
export async function reconcileRules(ctx: NetCtx, nets: readonly NetworkRecord[], signal?: AbortSignal): Promise<void> {
  await ctx.rulesLock.run(async () => {
    await reconcileNetworkRules(new Map(nets.map((n) => [n.id, rulesOf(ctx, n)])), signal);
    for (const n of nets) ctx.rulesReady.add(n.id);
  });
}

/** Deletes a network's rules (all of them, whatever configuration made them). */
export async function removeRules(ctx: NetCtx, n: NetworkRecord): Promise<void> {
  await ctx.rulesLock.run(async () => {
    ctx.rulesReady.delete(n.id);
    await reconcileNetworkRules(new Map([[n.id, { tag: ruleTagOf(n), rules: [] }]]));
  });
}

/** Before an attachment: the networks' rules, unless reconciled already (the usual case: no exec). */
export async function ensureRules(ctx: NetCtx, networkIds: readonly string[], signal?: AbortSignal): Promise<void> {
  const missing = networkIds.filter((id) => !ctx.rulesReady.has(id)).map((id) => ctx.networks.get(id)).filter((n) => n !== undefined);
  if (missing.length > 0) await reconcileRules(ctx, missing, signal);
}
