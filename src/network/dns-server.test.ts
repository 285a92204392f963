import { describe, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import type { AddressInfo } from "node:net";
import { buildAnswer, buildQuery, parseAnswer, parseQuery, RCODE_NXDOMAIN, RCODE_SERVFAIL, TYPE_AAAA } from "./dns-codec.js";
import { lookupName } from "./dns-names.js";
import { answer, startDnsServer, type DnsServerDeps } from "./dns-server.js";
import { SCHEMA_VERSION, type AttachmentRecord, type SandboxRecord } from "./endpoint-record.js";

function att(networkId: string, ip: string, o: { aliases?: string[]; links?: string[] } = {}): AttachmentRecord {
  return {
    networkId, networkName: networkId, ifName: "eth0", endpointId: "e", aliases: o.aliases ?? [], ...(o.links ? { links: o.links } : {}),
    conf: {} as AttachmentRecord["conf"], capabilityArgs: {},
    result: { cniVersion: "1.0.0", ips: [{ address: `${ip}/16`, gateway: "172.18.0.1" }] } as AttachmentRecord["result"],
  };
}
function sb(name: string, id: string, atts: AttachmentRecord[], state: SandboxRecord["state"] = "attached"): SandboxRecord {
  return {
    schemaVersion: SCHEMA_VERSION, containerId: id.padEnd(64, "0"), sandboxId: "s", name, hostname: name, domainname: "", netnsPath: "",
    state, files: {}, extraHosts: [], dns: {}, exposedPorts: [], published: [], attachments: atts,
  };
}

const A = sb("alpha", "aaaa", [att("n1", "172.18.0.2", { aliases: ["Web"] })]);
const B = sb("beta", "bbbb", [att("n1", "172.18.0.3", { links: ["alpha:al"] }), att("n2", "172.19.0.3")]);
const C = sb("gamma", "cccc", [att("n2", "172.19.0.4", { aliases: ["pool"] }), att("n3", "172.20.0.4")]);
const E = sb("eps", "eeee", [att("n2", "172.19.0.5", { aliases: ["pool"] })]);
const GONE = sb("gone", "dddd", [att("n1", "172.18.0.9")], "detaching");
const ALL = [A, B, C, E, GONE];

describe("embedded DNS names", () => {
  test("names, short IDs and aliases of the network, case-insensitively, with a trailing dot", () => {
    assert.deepEqual(lookupName(ALL, "n1", "alpha"), ["172.18.0.2"]);
    assert.deepEqual(lookupName(ALL, "n1", "web."), ["172.18.0.2"]);
    assert.deepEqual(lookupName(ALL, "n1", "BETA"), ["172.18.0.3"]);
    assert.deepEqual(lookupName(ALL, "n1", "bbbb00000000"), ["172.18.0.3"]);
  });

  test("scoped per network: each network answers with its own address, not another network's names", () => {
    assert.deepEqual(lookupName(ALL, "n2", "beta"), ["172.19.0.3"]);
    assert.deepEqual(lookupName(ALL, "n2", "alpha"), []);
    assert.deepEqual(lookupName(ALL, "n1", "gamma"), []);
    assert.deepEqual(lookupName(ALL, "n1", "gone"), []);
  });

  test("an alias shared by several containers answers with all of them", () => {
    assert.deepEqual(lookupName(ALL, "n2", "pool"), ["172.19.0.4", "172.19.0.5"]);
    assert.deepEqual(lookupName(ALL, "n3", "pool"), []);
  });

  test("a link alias resolves for the container holding the link only", () => {
    assert.deepEqual(lookupName(ALL, "n1", "al", "172.18.0.3"), ["172.18.0.2"]);
    assert.deepEqual(lookupName(ALL, "n1", "al", "172.18.0.2"), []);
    assert.deepEqual(lookupName(ALL, "n1", "al"), []);
  });
});

function deps(upstreams: string[], upstreamPort?: number): DnsServerDeps {
  return {
    lookup: (name, clientIp) => lookupName(ALL, "n1", name, clientIp),
    upstreams: async () => upstreams,
    ...(upstreamPort ? { upstreamPort } : {}),
    forwardTimeoutMs: 300,
  };
}

/** A tiny upstream on 127.0.0.1: answers every A query with 192.0.2.7. */
async function fakeUpstream(): Promise<{ port: number; close(): void; seen: string[] }> {
  const sock = dgram.createSocket("udp4");
  const seen: string[] = [];
  sock.on("message", (m, r) => {
    const q = parseQuery(m)!;
    seen.push(q.name);
    sock.send(buildAnswer(q, ["192.0.2.7"], 30), r.port, r.address);
  });
  await new Promise<void>((res) => sock.bind(0, "127.0.0.1", res));
  return { port: (sock.address() as AddressInfo).port, close: () => sock.close(), seen };
}

describe("embedded DNS server", () => {
  test("answers the network's names, AAAA of them empty", async () => {
    const a = parseAnswer((await answer(buildQuery(1, "alpha"), "172.18.0.3", deps([])))!);
    assert.deepEqual(a, { id: 1, rcode: 0, ips: ["172.18.0.2"], ttls: [600] });
    const aaaa = parseAnswer((await answer(buildQuery(2, "alpha", TYPE_AAAA), "172.18.0.3", deps([])))!);
    assert.deepEqual(aaaa, { id: 2, rcode: 0, ips: [], ttls: [] });
  });

  test("without upstreams: NXDOMAIN for a single label, SERVFAIL for a dotted name", async () => {
    assert.equal(parseAnswer((await answer(buildQuery(3, "nosuch"), "172.18.0.3", deps([])))!).rcode, RCODE_NXDOMAIN);
    assert.equal(parseAnswer((await answer(buildQuery(4, "example.com"), "172.18.0.3", deps([])))!).rcode, RCODE_SERVFAIL);
  });

  test("forwards other names upstream and relays the reply; SERVFAIL when upstream is silent", async () => {
    const up = await fakeUpstream();
    try {
      const r = parseAnswer((await answer(buildQuery(5, "example.com"), "172.18.0.3", deps(["127.0.0.1"], up.port)))!);
      assert.deepEqual(r, { id: 5, rcode: 0, ips: ["192.0.2.7"], ttls: [30] });
      assert.deepEqual(up.seen, ["example.com"]);
    } finally {
      up.close();
    }
    const silent = dgram.createSocket("udp4");
    await new Promise<void>((res) => silent.bind(0, "127.0.0.1", res));
    try {
      const r = await answer(buildQuery(6, "example.com"), "172.18.0.3", deps(["127.0.0.1"], (silent.address() as AddressInfo).port));
      assert.equal(parseAnswer(r!).rcode, RCODE_SERVFAIL);
    } finally {
      silent.close();
    }
  });

  test("listens over UDP; a second server on the same address and port fails to bind", async () => {
    const s = await startDnsServer("127.0.0.1", deps([]), 0);
    await s.close();
    const port = await new Promise<number>((res) => {
      const probe = dgram.createSocket("udp4");
      probe.bind(0, "127.0.0.1", () => {
        const p = (probe.address() as AddressInfo).port;
        probe.close(() => res(p));
      });
    });
    const server = await startDnsServer("127.0.0.1", deps([]), port);
    try {
      await assert.rejects(startDnsServer("127.0.0.1", deps([]), port), /EADDRINUSE/);
      const client = dgram.createSocket("udp4");
      const reply = await new Promise<Buffer>((res) => {
        client.on("message", (m) => res(m));
        client.send(buildQuery(9, "web"), port, "127.0.0.1");
      });
      client.close();
      // The client is 127.0.0.1, no endpoint: names answer, link aliases do not.
      assert.deepEqual(parseAnswer(reply).ips, ["172.18.0.2"]);
    } finally {
      await server.close();
    }
  });
});
