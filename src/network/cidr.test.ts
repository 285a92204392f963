import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { cidrContains, cidrOverlaps, cidrWithin, firstHost, formatCidr, formatIPv4, parseCidr, parseIPv4, parseInterface, subnetsOf } from "./cidr.js";
import { isBerthError } from "./errors.js";

describe("cidr", () => {
  test("IPv4 parse and format round-trip; junk rejected", () => {
    assert.equal(parseIPv4("172.30.0.1"), 0xac1e0001);
    assert.equal(formatIPv4(0xac1e0001), "172.30.0.1");
    assert.equal(formatIPv4(0xffffffff), "255.255.255.255");
    for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "a.b.c.d", "1.2.3.-1"]) assert.equal(parseIPv4(bad), undefined, bad);
  });

  test("prefixes: host bits cleared, strict mode refuses them", () => {
    assert.equal(formatCidr(parseCidr("172.30.5.9/16")), "172.30.0.0/16");
    assert.deepEqual(parseInterface("172.30.0.1/16"), { address: 0xac1e0001, prefix: 16 });
    assert.throws(() => parseCidr("172.30.5.9/16", { strict: true }), (e) => isBerthError(e, "invalid-argument") && /172\.30\.0\.0\/16/.test(e.message));
    for (const bad of ["10.0.0.0", "10.0.0.0/33", "10.0.0/8", "x/8"]) assert.throws(() => parseCidr(bad), (e) => isBerthError(e, "invalid-argument"), bad);
    assert.equal(formatCidr(parseCidr("0.0.0.0/0")), "0.0.0.0/0");
  });

  test("containment and overlap", () => {
    const a = parseCidr("10.0.0.0/8");
    const b = parseCidr("10.1.0.0/16");
    const c = parseCidr("11.0.0.0/8");
    assert.ok(cidrOverlaps(a, b) && cidrOverlaps(b, a));
    assert.ok(!cidrOverlaps(a, c));
    assert.ok(cidrWithin(b, a) && !cidrWithin(a, b));
    assert.ok(cidrContains(b, parseIPv4("10.1.255.255")!));
    assert.ok(!cidrContains(b, parseIPv4("10.2.0.0")!));
    assert.equal(formatIPv4(firstHost(b)), "10.1.0.1");
  });

  test("subnets of a pool in address order", () => {
    const subs = [...subnetsOf(parseCidr("192.168.0.0/16"), 20)].map(formatCidr);
    assert.equal(subs.length, 16);
    assert.deepEqual(subs.slice(0, 2), ["192.168.0.0/20", "192.168.16.0/20"]);
    assert.equal(subs.at(-1), "192.168.240.0/20");
    assert.deepEqual([...subnetsOf(parseCidr("10.0.0.0/24"), 16)], []);
  });
});
