import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { allocatePorts, type PortProbe } from "./port-allocator.js";
import { portRequests, parsePublish, mergePortBindings, type PublishedPort } from "./ports.js";
import { isBerthError } from "./errors.js";

/** A fake host: `busy` ports refuse binds; port 0 hands out `next` upwards. */
function fakeHost(busy: number[] = [], start = 40000): { probe: PortProbe; calls: string[] } {
  let next = start;
  const calls: string[] = [];
  const probe: PortProbe = async (ip, port, proto) => {
    calls.push(`${ip}:${port}/${proto}`);
    if (port === 0) return next++;
    if (busy.includes(port)) throw Object.assign(new Error("in use"), { code: "EADDRINUSE" });
    return port;
  };
  return { probe, calls };
}

const taken = (hostPort: number, hostIp = "0.0.0.0"): PublishedPort => ({ containerPort: 1, protocol: "tcp", hostIp, hostPort });

describe("allocatePorts", () => {
  test("fixed, ranged and any ports", async () => {
    const { probe } = fakeHost([8001]);
    const reqs = portRequests(mergePortBindings(parsePublish("8080:80"), parsePublish("8000-8002:81"), parsePublish("82/udp")));
    assert.deepEqual(await allocatePorts(reqs, { taken: [], probe }), [
      { containerPort: 80, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080 },
      { containerPort: 81, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8000 },
      { containerPort: 82, protocol: "udp", hostIp: "0.0.0.0", hostPort: 40000 },
    ]);
  });

  test("a port another container holds is already allocated; a host listener is in use", async () => {
    const { probe } = fakeHost([9000]);
    await assert.rejects(allocatePorts(portRequests(parsePublish("8080:80")), { taken: [taken(8080, "127.0.0.1")], probe }), (e) =>
      isBerthError(e, "conflict") && /Bind for 0\.0\.0\.0:8080 failed: port is already allocated/.test(e.message));
    await assert.rejects(allocatePorts(portRequests(parsePublish("9000:80")), { taken: [], probe }), (e) =>
      isBerthError(e, "conflict") && /0\.0\.0\.0:9000\/tcp: address already in use/.test(e.message));
    // Two bindings of one request clash with each other too.
    await assert.rejects(allocatePorts(portRequests(mergePortBindings(parsePublish("7000:80"), parsePublish("7000:81"))), { taken: [], probe }), (e) => isBerthError(e, "conflict"));
  });

  test("ranges skip held ports; a full range is all allocated", async () => {
    const { probe } = fakeHost([8001]);
    const r = await allocatePorts(portRequests(parsePublish("8000-8002:80")), { taken: [taken(8000)], probe });
    assert.equal(r[0]!.hostPort, 8002);
    await assert.rejects(allocatePorts(portRequests(parsePublish("8000-8001:80")), { taken: [taken(8000)], probe }), (e) =>
      isBerthError(e, "conflict") && /all ports are allocated/.test(e.message));
  });

  test("a kernel-chosen port berth already holds is skipped", async () => {
    const { probe } = fakeHost([], 40000);
    const r = await allocatePorts(portRequests(parsePublish("80")), { taken: [taken(40000), taken(40001)], probe });
    assert.equal(r[0]!.hostPort, 40002);
  });

  test("an address the host does not have is invalid", async () => {
    const probe: PortProbe = async () => {
      throw Object.assign(new Error("x"), { code: "EADDRNOTAVAIL" });
    };
    await assert.rejects(allocatePorts(portRequests(parsePublish("10.9.9.9:8080:80")), { taken: [], probe }), (e) =>
      isBerthError(e, "invalid-argument") && /cannot assign requested address/.test(e.message));
  });
});
