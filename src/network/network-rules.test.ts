import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { networkRules, ruleTagOf, splitRule } from "./network-rules.js";
import type { NetworkRecord } from "./network-record.js";

const net: NetworkRecord = {
  id: "b".repeat(64),
  name: "app",
  driver: "bridge",
  created: "2026-01-01T00:00:00.000Z",
  builtin: false,
  isDefault: false,
  attachable: false,
  internal: false,
  labels: {},
  options: {},
  bridge: { device: "br-bbbbbbbbbbbb", subnet: "10.5.0.0/24", gateway: "10.5.0.1", ipMasq: true },
};

describe("per-network iptables rules", () => {
  test("masquerade and FORWARD accepts, tagged with berth and the network", () => {
    assert.equal(ruleTagOf(net), "berth berth-bbbbbbbbbbbb ");
    const rules = networkRules(net, { forward: true });
    assert.deepEqual(rules, [
      {
        table: "nat", chain: "POSTROUTING", insert: false,
        spec: ["-s", "10.5.0.0/24", "!", "-d", "224.0.0.0/4", "!", "-o", "br-bbbbbbbbbbbb", "-m", "comment", "--comment", "berth berth-bbbbbbbbbbbb (app) masquerade", "-j", "MASQUERADE"],
      },
      { table: "filter", chain: "FORWARD", insert: true, spec: ["-s", "10.5.0.0/24", "-m", "comment", "--comment", "berth berth-bbbbbbbbbbbb (app) out", "-j", "ACCEPT"] },
      {
        table: "filter", chain: "FORWARD", insert: true,
        spec: ["-d", "10.5.0.0/24", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-m", "comment", "--comment", "berth berth-bbbbbbbbbbbb (app) in", "-j", "ACCEPT"],
      },
    ]);
  });

  test("enable_ip_masquerade=false and firewall: false drop their rules", () => {
    const noMasq = { ...net, bridge: { ...net.bridge!, ipMasq: false } };
    assert.deepEqual(networkRules(noMasq, { forward: true }).map((r) => r.chain), ["FORWARD", "FORWARD"]);
    assert.deepEqual(networkRules(net, { forward: false }).map((r) => r.chain), ["POSTROUTING"]);
    assert.deepEqual(networkRules({ ...net, driver: "host", bridge: undefined } as NetworkRecord, { forward: true }), []);
  });

  test("a listed rule splits into the arguments it was made with (what reconcile compares)", () => {
    // As `iptables -S POSTROUTING` (1.8.9, nf_tables) prints the rule above.
    const line = '-A POSTROUTING -s 10.5.0.0/24 ! -d 224.0.0.0/4 ! -o br-bbbbbbbbbbbb -m comment --comment "berth berth-bbbbbbbbbbbb (app) masquerade" -j MASQUERADE';
    assert.deepEqual(splitRule(line).slice(2), networkRules(net, { forward: true })[0]!.spec);
    assert.deepEqual(splitRule('-A X -m comment --comment "a \\"q\\" b" -j Y'), ["-A", "X", "-m", "comment", "--comment", 'a "q" b', "-j", "Y"]);
  });
});

describe("internal networks and free-text names", () => {
  test("an internal network has DROP rules for traffic leaving or entering the subnet, no NAT and no accepts", () => {
    const internal = { ...net, internal: true };
    for (const forward of [true, false]) {
      assert.deepEqual(networkRules(internal, { forward }), [
        { table: "filter", chain: "FORWARD", insert: true, spec: ["!", "-d", "10.5.0.0/24", "-i", "br-bbbbbbbbbbbb", "-m", "comment", "--comment", "berth berth-bbbbbbbbbbbb (app) internal in", "-j", "DROP"] },
        { table: "filter", chain: "FORWARD", insert: true, spec: ["!", "-s", "10.5.0.0/24", "-o", "br-bbbbbbbbbbbb", "-m", "comment", "--comment", "berth berth-bbbbbbbbbbbb (app) internal out", "-j", "DROP"] },
      ]);
    }
  });

  test("a name with spaces or quotes is made safe in the comment; the tag stays the ID's", () => {
    const odd = { ...net, name: 'my "net" 01/x' };
    const comment = networkRules(odd, { forward: true })[0]!.spec.find((a) => a.startsWith("berth "))!;
    assert.equal(comment, "berth berth-bbbbbbbbbbbb (my__net__01_x) masquerade");
    const long = networkRules({ ...net, name: "n".repeat(200) }, { forward: true })[0]!.spec.find((a) => a.startsWith("berth "))!;
    assert.equal(long, `berth berth-bbbbbbbbbbbb (${"n".repeat(64)}) masquerade`);
  });
});
