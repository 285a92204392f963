import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatCidr, parseCidr } from "./cidr.js";
import { chooseSubnet, DEFAULT_ADDRESS_POOLS, DEFAULT_BRIDGE_CANDIDATES, firstFree, routedPrefixes } from "./subnet-pool.js";
import { isBerthError } from "./errors.js";

describe("subnet choice", () => {
  test("host routes count, except the default route and berth's own bridges", () => {
    const routes = [
      { dst: "default", dev: "eth0" },
      { dst: "172.30.0.0/16", dev: "berth0" },
      { dst: "172.31.0.0/16", dev: "docker0" },
      { dst: "10.1.2.3", dev: "tun0" },
      { dst: "fe80::/64", dev: "eth0" },
    ];
    assert.deepEqual(routedPrefixes(routes, new Set(["berth0"])).map(formatCidr), ["172.31.0.0/16", "10.1.2.3/32"]);
  });

  test("the default bridge takes the first candidate the host does not route", () => {
    const cands = DEFAULT_BRIDGE_CANDIDATES.map((c) => parseCidr(c));
    assert.equal(formatCidr(firstFree(cands, [])!), "172.30.0.0/16");
    assert.equal(formatCidr(firstFree(cands, [parseCidr("172.16.0.0/12")])!), "10.88.0.0/16");
    assert.equal(formatCidr(firstFree(cands, [parseCidr("172.30.5.0/24")])!), "172.31.0.0/16");
  });

  test("user networks walk dockerd's pools", () => {
    assert.equal(formatCidr(chooseSubnet(DEFAULT_ADDRESS_POOLS, [])), "172.17.0.0/16");
    assert.equal(formatCidr(chooseSubnet(DEFAULT_ADDRESS_POOLS, [parseCidr("172.17.0.0/16"), parseCidr("172.18.1.0/24")])), "172.19.0.0/16");
    assert.equal(formatCidr(chooseSubnet(DEFAULT_ADDRESS_POOLS, [parseCidr("172.16.0.0/12"), parseCidr("192.168.0.0/20")])), "192.168.16.0/20");
    assert.throws(() => chooseSubnet([{ base: "10.0.0.0/24", size: 24 }], [parseCidr("10.0.0.0/8")]), (e) => isBerthError(e, "resource-exhausted"));
    assert.throws(() => chooseSubnet([{ base: "10.0.0.0/24", size: 16 }], []), (e) => isBerthError(e, "invalid-argument"));
  });
});
