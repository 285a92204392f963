import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Spec } from "../../containerd/oci/spec-types.js";
import { withDomainname } from "./process.js";
import { withNetworkMode } from "./namespaces.js";
import { assertInvalid, build } from "./testdata/spec-assert.js";

describe("withNetworkMode", () => {
  const netns = (s: Spec) => s.linux?.namespaces?.filter((n) => n.type === "network");
  const dockerSysctls = { "net.ipv4.ping_group_range": "0 2147483647", "net.ipv4.ip_unprivileged_port_start": "0" };

  for (const mode of ["bridge", "default", "", "none", "my-network"]) {
    it(`${JSON.stringify(mode)}: own network namespace with dockerd's sysctls`, () => {
      const s = build(withNetworkMode(mode));
      assert.deepEqual(netns(s), [{ type: "network" }]);
      assert.deepEqual(s.linux?.sysctl, dockerSysctls);
    });
  }

  it("host: no network namespace and no net sysctls", () => {
    const s = build(withNetworkMode("host"));
    assert.deepEqual(netns(s), []);
    assert.deepEqual(
      s.linux?.namespaces?.map((n) => n.type),
      ["mount", "uts", "pid", "ipc"],
    );
    assert.equal(s.linux?.sysctl, undefined);
  });

  it("bridge then host removes what bridge added", () => {
    const s = build(withNetworkMode("bridge"), withNetworkMode("host"));
    assert.deepEqual(netns(s), []);
    assert.equal(s.linux?.sysctl, undefined);
  });

  it("keeps a sysctl the user set", () => {
    const s = build(withDomainname("d"), (spec) => {
      spec.linux!.sysctl!["net.ipv4.ip_unprivileged_port_start"] = "1024";
    }, withNetworkMode("bridge"), withNetworkMode("host"));
    assert.deepEqual(s.linux?.sysctl, { "kernel.domainname": "d", "net.ipv4.ip_unprivileged_port_start": "1024" });
  });

  it("joins a given namespace path", () => {
    const s = build(withNetworkMode("bridge", { netnsPath: "/var/run/netns/cni-1" }));
    assert.deepEqual(netns(s), [{ type: "network", path: "/var/run/netns/cni-1" }]);
  });

  it("container:<id> joins that namespace without setting sysctls", () => {
    const s = build(withNetworkMode("container:abc", { netnsPath: "/proc/42/ns/net" }));
    assert.deepEqual(netns(s), [{ type: "network", path: "/proc/42/ns/net" }]);
    assert.equal(s.linux?.sysctl, undefined);
  });

  it("skips sysctls the host lacks", () => {
    const s = build(withNetworkMode("bridge", { sysctlAvailable: (n) => n !== "net.ipv4.ping_group_range" }));
    assert.deepEqual(s.linux?.sysctl, { "net.ipv4.ip_unprivileged_port_start": "0" });
  });

  const errors: Array<[string, () => unknown, string]> = [
    ["container mode without a path", () => withNetworkMode("container:abc"), 'network mode "container:abc" needs the network namespace path of that container'],
    ["host with a path", () => withNetworkMode("host", { netnsPath: "/proc/1/ns/net" }), 'network mode "host" takes no network namespace path'],
    ["a relative path", () => withNetworkMode("bridge", { netnsPath: "netns" }), 'network namespace path must be absolute, got "netns"'],
  ];
  for (const [name, fn, message] of errors) {
    it(`refuses ${name}`, () => assertInvalid(fn, message));
  }
});
