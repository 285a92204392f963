// Host network state for tests that run the CNI plugins: what iptables holds, and the removal
// of what a test added (the plugins' shared chains stay on a host by design).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { splitRule as tokenize } from "../../src/network/network-rules.js";

const pexec = promisify(execFile);

export async function iptablesSave(): Promise<string> {
  return (await pexec("iptables-save")).stdout;
}

/** "table/chain" of every chain in the nat and filter tables now. */
export async function chainsNow(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const table of ["nat", "filter"]) {
    for (const l of (await pexec("iptables", ["-w", "-t", table, "-S"])).stdout.split("\n")) if (l.startsWith("-N ")) out.add(`${table}/${l.slice(3)}`);
  }
  return out;
}

/** Splits an `iptables -S` line into arguments: the daemon's own parser. */
export { tokenize };

/**
 * The plugins' shared chains (CNI-HOSTPORT-*, CNI-FORWARD, CNI-ADMIN) that did not exist in
 * `before` are removed, unless something else still uses them.
 */
export async function removeSharedChainsCreatedSince(before: Set<string>): Promise<void> {
  for (const table of ["nat", "filter"]) {
    const rules = (await pexec("iptables", ["-w", "-t", table, "-S"])).stdout.split("\n");
    const chains = rules.filter((l) => l.startsWith("-N ")).map((l) => l.slice(3)).filter((c) => c.startsWith("CNI-") && !before.has(`${table}/${c}`));
    const ours = new Set(chains);
    const busy = (c: string) => rules.some((l) => l.startsWith(`-A ${c} `) && !tokenize(l).some((t) => ours.has(t) && t !== c) && !/portfwd masquerade mark|mark --mark 0x2000\/0x2000 -j MASQUERADE/.test(l));
    if (chains.some(busy)) continue;
    for (const l of rules) {
      const t = tokenize(l);
      const target = t[t.indexOf("-j") + 1];
      if (t[0] === "-A" && target && ours.has(target) && !ours.has(t[1]!)) await pexec("iptables", ["-w", "-t", table, "-D", ...t.slice(1)]).catch(() => {});
    }
    for (const c of chains) await pexec("iptables", ["-w", "-t", table, "-F", c]).catch(() => {});
    for (const c of chains) await pexec("iptables", ["-w", "-t", table, "-X", c]).catch(() => {});
  }
}

/** Deletes every rule that mentions `marker` or an address in one of the given /24 prefixes. */
export async function deleteRulesMatching(marker: string, prefixes: string[]): Promise<void> {
  for (const table of ["nat", "filter"]) {
    for (const l of (await pexec("iptables", ["-w", "-t", table, "-S"])).stdout.split("\n").reverse()) {
      if (l.startsWith("-A") && (l.includes(marker) || prefixes.some((p) => l.includes(p + ".")))) {
        await pexec("iptables", ["-w", "-t", table, "-D", ...tokenize(l).slice(1)]).catch(() => {});
      }
    }
  }
}
