/**
 * The iptables rules berth keeps per bridge network, not per container, as dockerd does per
 * bridge: they are made once when the network is set up (daemon start for the default bridge,
 * createNetwork for a user network) and deleted with the network. Container starts then run no
 * iptables at all unless they publish ports (portmap stays per container).
 *
 *  nat POSTROUTING   -s <subnet> ! -d 224.0.0.0/4 ! -o <bridge> -j MASQUERADE
 *                    outbound NAT (what the bridge plugin's ipMasq made per container: a chain per
 *                    container with the same exclusions, traffic to the own subnet and multicast)
 *  filter FORWARD    -s <subnet> -j ACCEPT
 *                    -d <subnet> -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT
 *                    (what the firewall plugin made per container address in CNI-FORWARD, for hosts
 *                    whose FORWARD policy is DROP; DNAT also lets published ports in from other
 *                    hosts, as dockerd's per-port ACCEPT in its DOCKER chain does)
 *
 *  internal network (`--internal`, dockerd's isolation rules): no MASQUERADE and no accepts, but
 *  filter FORWARD    ! -d <subnet> -i <bridge> -j DROP
 *                    ! -s <subnet> -o <bridge> -j DROP
 *                    (in the order `iptables -S` prints the matches, which reconcile compares)
 *                    so that nothing leaves the subnet or enters it through the host, whatever the
 *                    FORWARD policy; the containers keep their default route, as on dockerd.
 *
 * Every rule carries the comment `berth <cni name> (<network name>) <kind>`, so that reconcile and
 * removal find a network's rules by listing two chains, and cleanup by hand can see whose they are.
 * The FORWARD rules are inserted at the top (like the firewall plugin's jump to CNI-FORWARD), so a
 * REJECT at the end of a distribution's FORWARD chain does not shadow them.
 */
import { runCommand } from "./exec.js";
import { cniNetworkName, type NetworkRecord } from "./network-record.js";

export interface NetworkRule {
  table: "nat" | "filter";
  chain: "POSTROUTING" | "FORWARD";
  /** -A (append) or -I (insert at the top). */
  insert: boolean;
  /** The rule as `iptables -S` prints it after `-A <chain>` (so a listing compares token by token). */
  spec: string[];
}

/** Where berth's per-network rules live: the chains reconcile lists. */
const CHAINS = [
  { table: "nat", chain: "POSTROUTING" },
  { table: "filter", chain: "FORWARD" },
] as const;

/** The comment prefix of a network's rules: unique per network (its ID), and naming berth. */
export function ruleTagOf(n: Pick<NetworkRecord, "id">): string {
  return `berth ${cniNetworkName(n)} `;
}

/** The rules a bridge network needs. `forward`: the FORWARD accepts (the manager's `firewall` option). */
export function networkRules(n: NetworkRecord, o: { forward: boolean }): NetworkRule[] {
  const b = n.bridge;
  if (!b) return [];
  const tag = (kind: string) => ["-m", "comment", "--comment", `${ruleTagOf(n)}(${commentName(n.name)}) ${kind}`];
  const rules: NetworkRule[] = [];
  if (n.internal) {
    rules.push({ table: "filter", chain: "FORWARD", insert: true, spec: ["!", "-d", b.subnet, "-i", b.device, ...tag("internal in"), "-j", "DROP"] });
    rules.push({ table: "filter", chain: "FORWARD", insert: true, spec: ["!", "-s", b.subnet, "-o", b.device, ...tag("internal out"), "-j", "DROP"] });
    return rules;
  }
  if (b.ipMasq) {
    rules.push({ table: "nat", chain: "POSTROUTING", insert: false, spec: ["-s", b.subnet, "!", "-d", "224.0.0.0/4", "!", "-o", b.device, ...tag("masquerade"), "-j", "MASQUERADE"] });
  }
  if (o.forward) {
    rules.push({ table: "filter", chain: "FORWARD", insert: true, spec: ["-s", b.subnet, ...tag("out"), "-j", "ACCEPT"] });
    rules.push({
      table: "filter",
      chain: "FORWARD",
      insert: true,
      spec: ["-d", b.subnet, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT", ...tag("in"), "-j", "ACCEPT"],
    });
  }
  return rules;
}

/**
 * A network name as it can stand in a rule comment: names are free text (spaces, quotes), the
 * comment is for people reading `iptables -S`; the tag before it is what berth matches.
 */
function commentName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, "_");
  return safe.length > 64 ? safe.slice(0, 64) : safe;
}

/** Splits an `iptables -S` line into arguments (the comment is quoted, with backslash escapes). */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!);
  return out;
}

function commentOf(args: readonly string[]): string | undefined {
  const i = args.indexOf("--comment");
  return i >= 0 ? args[i + 1] : undefined;
}

/** What reconcile did: rules added and removed (stale, duplicated, or of a network being removed). */
export interface RulesChange {
  added: number;
  removed: number;
}

/**
 * Makes the rules of each network in `want` exactly its desired list: the missing ones are added,
 * duplicates (a crash between a check and an add, two daemons on one state) and rules of an older
 * configuration (a changed --bip or device) are deleted. A network with an empty list loses all
 * its rules. Networks not in `want` are not touched, so berth instances with their own state on one
 * host (tests, two daemons) never remove each other's rules.
 *
 * Costs one `iptables -S` per chain, and one exec per rule changed: nothing is run per rule that is
 * already right.
 */
export async function reconcileNetworkRules(want: ReadonlyMap<string, { tag: string; rules: NetworkRule[] }>, signal?: AbortSignal): Promise<RulesChange> {
  const change: RulesChange = { added: 0, removed: 0 };
  if (want.size === 0) return change;
  for (const { table, chain } of CHAINS) {
    const listing = await runCommand("iptables", ["-w", "-t", table, "-S", chain], signal);
    const existing = listing
      .split("\n")
      .filter((l) => l.startsWith(`-A ${chain} `))
      .map((l) => splitRule(l).slice(2));
    for (const { tag, rules } of want.values()) {
      const desired = rules.filter((r) => r.table === table && r.chain === chain);
      const kept = new Set<NetworkRule>();
      for (const args of existing) {
        if (!commentOf(args)?.startsWith(tag)) continue;
        const match = desired.find((r) => !kept.has(r) && sameArgs(r.spec, args));
        if (match) {
          kept.add(match);
          continue;
        }
        // Deleting by the exact listed rule removes one copy, whatever its position.
        await runCommand("iptables", ["-w", "-t", table, "-D", chain, ...args], signal);
        change.removed++;
      }
      for (const r of desired) {
        if (kept.has(r)) continue;
        await runCommand("iptables", ["-w", "-t", table, r.insert ? "-I" : "-A", chain, ...r.spec], signal);
        change.added++;
      }
    }
  }
  return change;
}

function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
