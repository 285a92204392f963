import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { pluginConfig } from "./cni.js";
import { bridgeConfList, portMappingsArg } from "./cni-config.js";
import type { NetworkRecord } from "./network-record.js";
import { masqChainOf } from "./host-net.js";

const net: NetworkRecord = {
  id: "a".repeat(64),
  name: "app",
  driver: "bridge",
  created: "2026-01-01T00:00:00.000Z",
  builtin: false,
  isDefault: false,
  attachable: false,
  internal: false,
  labels: {},
  options: {},
  bridge: { device: "br-aaaaaaaaaaaa", subnet: "10.5.0.0/24", gateway: "10.5.0.1", ipMasq: true, ipRange: "10.5.0.128/25" },
};

describe("CNI configuration", () => {
  test("primary attachment: default route, portmap with snat; no per-container NAT or firewall rules", () => {
    const list = bridgeConfList(net, { ipamDir: "/state/ipam", primary: true, portmap: true });
    assert.equal(list.name, "berth-aaaaaaaaaaaa");
    // Outbound NAT and FORWARD accepts are the network's rules (network-rules.ts), even with ipMasq on.
    assert.deepEqual(list.plugins.map((p) => p.type), ["bridge", "portmap"]);
    assert.deepEqual(list.plugins[0], {
      type: "bridge",
      bridge: "br-aaaaaaaaaaaa",
      isGateway: true,
      ipMasq: false,
      hairpinMode: true,
      capabilities: { ips: true, mac: true },
      ipam: {
        type: "host-local",
        ranges: [[{ subnet: "10.5.0.0/24", gateway: "10.5.0.1", rangeStart: "10.5.0.128", rangeEnd: "10.5.0.254" }]],
        routes: [{ dst: "0.0.0.0/0" }],
        dataDir: "/state/ipam",
      },
    });
    assert.deepEqual(list.plugins[1], { type: "portmap", capabilities: { portMappings: true }, snat: true });
  });

  test("secondary attachment: no route, no portmap", () => {
    const list = bridgeConfList(net, { ipamDir: "/i", primary: false, portmap: false });
    assert.deepEqual(list.plugins.map((p) => p.type), ["bridge"]);
    assert.deepEqual((list.plugins[0]!.ipam as { routes: unknown }).routes, []);
  });

  test("each plugin gets name, version, prevResult and only the capabilities it declares", () => {
    const list = bridgeConfList(net, { ipamDir: "/i", primary: true, portmap: true });
    const caps = { portMappings: portMappingsArg([{ containerPort: 80, hostPort: 8080, protocol: "tcp", hostIp: "0.0.0.0" }]), ips: ["10.5.0.9/24"] };
    const rt = { containerId: "c", netns: "/n", ifName: "eth0", capabilityArgs: caps };
    const bridge = pluginConfig(list, list.plugins[0]!, rt, undefined);
    assert.equal(bridge.name, "berth-aaaaaaaaaaaa");
    assert.equal(bridge.cniVersion, "1.0.0");
    assert.equal(bridge.prevResult, undefined);
    assert.deepEqual(bridge.runtimeConfig, { ips: ["10.5.0.9/24"] });
    const prev = { cniVersion: "1.0.0", ips: [{ address: "10.5.0.9/24" }] };
    const pm = pluginConfig(list, list.plugins[1]!, rt, prev);
    assert.deepEqual(pm.prevResult, prev);
    assert.deepEqual(pm.runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp", hostIP: "0.0.0.0" }] });
  });

  test("the bridge plugin's masquerade chain name (plugins/pkg/utils FormatChainName)", () => {
    // Seen in iptables-save for network "tnet", container "c1" with plugins 1.1.1.
    assert.deepEqual(masqChainOf("tnet", "c1"), { chain: "CNI-bf975393d85d8292ac12f0af", comment: 'name: "tnet" id: "c1"' });
  });
});
