import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isBerthError } from "../base/errors.js";
import { formatCidr, formatIPv4, parseCidr } from "./cidr.js";
import { chooseIpam, type IpamSpace } from "./ipam-config.js";
import { DEFAULT_ADDRESS_POOLS } from "./subnet-pool.js";

const space = (networks: string[], routed: string[] = []): IpamSpace => ({
  networks: networks.map((n) => parseCidr(n)),
  routed: async () => routed.map((r) => parseCidr(r)),
  pools: DEFAULT_ADDRESS_POOLS,
});

describe("a network's addresses (IPAM)", () => {
  test("docker-py's IPAM config: subnet, IP range, gateway and auxiliary addresses", async () => {
    const c = await chooseIpam(
      { subnet: "172.28.0.0/16", ipRange: "172.28.5.0/24", gateway: "172.28.5.254", auxAddresses: { a: "172.28.1.5", b: "172.28.1.6", c: "172.28.1.7" } },
      space(["172.17.0.0/16"]),
    );
    assert.equal(formatCidr(c.subnet), "172.28.0.0/16");
    assert.equal(formatIPv4(c.gateway), "172.28.5.254");
    assert.equal(formatCidr(c.ipRange!), "172.28.5.0/24");
    assert.deepEqual(c.auxAddresses, { a: "172.28.1.5", b: "172.28.1.6", c: "172.28.1.7" });
    assert.equal(c.userSubnet, true);
    assert.equal(c.userGateway, true);
  });

  test("a user subnet is checked against berth's networks only, not the host's routes (as dockerd)", async () => {
    let asked = false;
    const s = { ...space(["172.18.0.0/16"]), routed: async () => ((asked = true), [parseCidr("172.28.0.0/16")]) };
    const c = await chooseIpam({ subnet: "172.28.0.0/16" }, s);
    assert.equal(formatIPv4(c.gateway), "172.28.0.1");
    assert.equal(c.userGateway, false);
    assert.equal(asked, false);
    await assert.rejects(chooseIpam({ subnet: "172.18.5.0/24" }, s), (e) => isBerthError(e, "permission-denied") && e.message === "Pool overlaps with other one on this address space");
    // Adjacent is not overlapping.
    assert.equal(formatCidr((await chooseIpam({ subnet: "172.19.0.0/16" }, s)).subnet), "172.19.0.0/16");
  });

  test("without a subnet: the first pool subnet free of networks and routes", async () => {
    const c = await chooseIpam({}, space(["172.17.0.0/16"], ["172.18.0.0/16"]));
    assert.equal(formatCidr(c.subnet), "172.19.0.0/16");
    assert.equal(c.userSubnet, false);
  });

  test("auxiliary addresses: inside the subnet, not the gateway, not twice; they need a subnet", async () => {
    const rejects = (aux: Record<string, string>, kind: string, re: RegExp, subnet = "10.97.0.0/16") =>
      assert.rejects(chooseIpam({ ...(subnet ? { subnet } : {}), auxAddresses: aux }, space([])), (e) => isBerthError(e, kind as never) && re.test(e.message));
    await rejects({ a: "10.98.1.5" }, "permission-denied", /^auxiliary address: \(a:10\.98\.1\.5\) must belong to the master pool: 10\.97\.0\.0\/16$/);
    await rejects({ a: "10.97.0.1" }, "conflict", /^failed to allocate secondary ip address \(a:10\.97\.0\.1\): Address already in use$/);
    await rejects({ a: "10.97.0.9", b: "10.97.0.9" }, "conflict", /\(b:10\.97\.0\.9\)/);
    await rejects({ a: "10.97.255.255" }, "conflict", /Address already in use/);
    await rejects({ a: "nope" }, "invalid-argument", /not an IPv4 address/);
    await rejects({ a: "10.97.0.9" }, "invalid-argument", /need a subnet/, "");
  });

  test("gateway and IP range must lie in the subnet", async () => {
    await assert.rejects(chooseIpam({ subnet: "10.1.0.0/24", gateway: "10.2.0.1" }, space([])), (e) => isBerthError(e, "invalid-argument"));
    await assert.rejects(chooseIpam({ subnet: "10.1.0.0/24", ipRange: "10.2.0.0/25" }, space([])), (e) => isBerthError(e, "invalid-argument"));
    await assert.rejects(chooseIpam({ gateway: "10.2.0.1" }, space([])), (e) => isBerthError(e, "invalid-argument"));
  });
});
