import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { isBuiltinBridge, macOf } from "./bridge-builtin.js";
import { allocateLease, candidates, LAST_RESERVED, LeaseError, leaseContent, rangeBounds, releaseLease } from "./host-local-store.js";
import { formatIPv4, parseIPv4 } from "./cidr.js";

const ip = (s: string) => parseIPv4(s)!;

describe("host-local leases", () => {
  test("range bounds: the subnet without network and broadcast, or the given start and end", () => {
    const b = rangeBounds({ subnet: "10.1.0.0/24", gateway: "10.1.0.1" });
    assert.deepEqual([formatIPv4(b.start), formatIPv4(b.end), formatIPv4(b.gateway!), b.prefix], ["10.1.0.1", "10.1.0.254", "10.1.0.1", 24]);
    const r = rangeBounds({ subnet: "10.1.0.0/24", rangeStart: "10.1.0.128", rangeEnd: "10.1.0.191" });
    assert.deepEqual([formatIPv4(r.start), formatIPv4(r.end)], ["10.1.0.128", "10.1.0.191"]);
    assert.throws(() => rangeBounds({ subnet: "10.1.0.0/24", rangeStart: "10.1.1.1" }), /invalid range/);
    assert.throws(() => rangeBounds({ subnet: "10.1.0.0/24", rangeStart: "10.1.0.9", rangeEnd: "10.1.0.8" }), /invalid range/);
  });

  test("candidates: round robin from the one after the last handed out", () => {
    const s = ip("10.0.0.1");
    const e = ip("10.0.0.4");
    const order = (last?: string) => [...candidates(s, e, last === undefined ? undefined : ip(last))].map(formatIPv4);
    assert.deepEqual(order(), ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]);
    assert.deepEqual(order("10.0.0.2"), ["10.0.0.3", "10.0.0.4", "10.0.0.1", "10.0.0.2"]);
    assert.deepEqual(order("10.0.0.4"), ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]);
    assert.deepEqual(order("10.9.9.9"), ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]);
  });

  test("allocate and release in host-local's files: gateway and held addresses skipped, requested ones exact", async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "berth-leases-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const range = { subnet: "10.2.0.0/29", gateway: "10.2.0.1" };
    // An aux-address reservation berth wrote, and a lease host-local itself made.
    await allocateLease(dir, "net", range, "seed", "eth0", "10.2.0.3");
    await writeFile(path.join(dir, "net", "10.2.0.3"), "berth-aux-address\r\nreserved");
    assert.equal(await allocateLease(dir, "net", range, "c1", "eth0"), "10.2.0.4");
    assert.equal(await readFile(path.join(dir, "net", "10.2.0.4"), "utf8"), leaseContent("c1", "eth0"));
    assert.equal(await readFile(path.join(dir, "net", LAST_RESERVED), "utf8"), "10.2.0.4");
    assert.equal(await allocateLease(dir, "net", range, "c2", "eth0"), "10.2.0.5");
    assert.equal(await allocateLease(dir, "net", range, "c3", "eth0"), "10.2.0.6");
    // Wraps past the end; the gateway (.1) and the reservation (.3) are never handed out.
    assert.equal(await allocateLease(dir, "net", range, "c4", "eth0"), "10.2.0.2");
    await assert.rejects(allocateLease(dir, "net", range, "c5", "eth0"), (e) => e instanceof LeaseError && /no IP addresses available/.test(e.message));
    await assert.rejects(allocateLease(dir, "net", range, "c5", "eth0", "10.2.0.5"), (e) => e instanceof LeaseError && /not available/.test(e.message));
    await assert.rejects(allocateLease(dir, "net", range, "c5", "eth0", "10.2.0.1"), /gateway/);
    await assert.rejects(allocateLease(dir, "net", range, "c5", "eth0", "10.2.0.9"), /not in range/);

    // Release by the known address, or (no result saved) by scanning; another holder's file stays.
    await releaseLease(dir, "net", "c2", "eth0", "10.2.0.5");
    await releaseLease(dir, "net", "c3", "eth0");
    await releaseLease(dir, "net", "c1", "eth0", "10.2.0.5");
    await releaseLease(dir, "net", "nobody", "eth0", "10.2.0.3");
    const left = (await readdir(path.join(dir, "net"))).filter((f) => f !== LAST_RESERVED).sort();
    assert.deepEqual(left, ["10.2.0.2", "10.2.0.3"]);
    assert.equal(await allocateLease(dir, "net", range, "c6", "eth0", "10.2.0.5"), "10.2.0.5");
    await releaseLease(dir, "gone", "c6", "eth0");
  });

  test("concurrent allocations never share an address", async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "berth-leases-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const range = { subnet: "10.3.0.0/26", gateway: "10.3.0.1" };
    const got = await Promise.all(Array.from({ length: 40 }, (_, i) => allocateLease(dir, "net", range, `c${i}`, "eth0")));
    assert.equal(new Set(got).size, 40);
    assert.ok(!got.includes("10.3.0.1"));
  });
});

describe("built-in bridge", () => {
  test("dockerd's MAC for an address", () => {
    assert.equal(macOf("172.17.0.2"), "02:42:ac:11:00:02");
    assert.equal(macOf("10.255.1.200"), "02:42:0a:ff:01:c8");
    assert.throws(() => macOf("fe80::1"));
  });

  test("covers berth's own bridge configurations only", () => {
    const ipam = { type: "host-local", ranges: [[{ subnet: "10.0.0.0/24" }]], dataDir: "/x" };
    assert.equal(isBuiltinBridge({ type: "bridge", bridge: "b0", ipMasq: false, ipam }), true);
    assert.equal(isBuiltinBridge({ type: "bridge", bridge: "b0", ipMasq: true, ipam }), false);
    assert.equal(isBuiltinBridge({ type: "bridge", bridge: "b0", ipam: { ...ipam, type: "dhcp" } }), false);
    assert.equal(isBuiltinBridge({ type: "bridge", bridge: "b0", ipam: { ...ipam, ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "fd00::/64" }]] } }), false);
    assert.equal(isBuiltinBridge({ type: "portmap" }), false);
  });
});
