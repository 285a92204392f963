import { test } from "node:test";
import assert from "node:assert/strict";
import { adoptBridgeAddress, firstIPv4 } from "./bridge-adopt.js";

const IP_J = JSON.stringify([{ ifindex: 7, ifname: "berth0", flags: ["BROADCAST", "UP"], addr_info: [
  { family: "inet6", local: "fe80::1", prefixlen: 64, scope: "link" },
  { family: "inet", local: "10.123.0.1", prefixlen: 16, scope: "global", label: "berth0" },
  { family: "inet", local: "10.124.0.1", prefixlen: 24, scope: "global", label: "berth0" },
] }]);

test("the first global IPv4 address of `ip -j addr show`", () => {
  assert.equal(firstIPv4(IP_J), "10.123.0.1/16");
  assert.equal(firstIPv4(JSON.stringify([{ ifname: "berth0", addr_info: [] }])), undefined);
  assert.equal(firstIPv4("not json"), undefined);
});

test("an existing device's address is adopted unless --bip is given; no device, no address: berth chooses", async () => {
  assert.equal(await adoptBridgeAddress("berth0", undefined, async () => IP_J), "10.123.0.1/16");
  assert.equal(await adoptBridgeAddress("berth0", "172.30.0.1/16", async () => IP_J), "172.30.0.1/16");
  assert.equal(await adoptBridgeAddress("berth0", undefined, async () => { throw new Error('Device "berth0" does not exist.'); }), undefined);
  assert.equal(await adoptBridgeAddress("berth0", undefined, async () => JSON.stringify([{ ifname: "berth0", addr_info: [] }])), undefined);
});

test("a device whose subnet cannot hold containers: refused at start, saying what to do", async () => {
  const tiny = JSON.stringify([{ ifname: "berth0", addr_info: [{ family: "inet", local: "10.0.0.1", prefixlen: 32, scope: "global" }] }]);
  await assert.rejects(adoptBridgeAddress("berth0", undefined, async () => tiny), /the bridge berth0 exists with address 10.0.0.1\/32.*ip link delete berth0.*--bip/);
});
