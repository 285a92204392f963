import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Spec } from "../../containerd/oci/spec-types.js";
import { withDomainname } from "./process.js";
import { withIpcMode, withNamespace, withNetworkMode, withPidMode, withSysctls, withUtsMode } from "./namespaces.js";
import { withHostname } from "./process.js";
import { assertInvalid, build, mountAt, mountsOf } from "./testdata/spec-assert.js";

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

const nsTypes = (s: Spec) => (s.linux?.namespaces ?? []).map((n) => n.type);
const nsOf = (s: Spec, type: string) => s.linux?.namespaces?.find((n) => n.type === type);

describe("withPidMode / withUtsMode / withNamespace", () => {
  it("host drops the namespace; private keeps it; a path joins one", () => {
    assert.ok(!nsTypes(build(withPidMode("host"))).includes("pid"));
    assert.deepEqual(nsOf(build(withPidMode("")), "pid"), { type: "pid" });
    assert.deepEqual(nsOf(build(withPidMode("container:db", { nsPath: "/proc/42/ns/pid" })), "pid"), { type: "pid", path: "/proc/42/ns/pid" });
    assert.deepEqual(nsOf(build(withNamespace("ipc", { kind: "path", path: "/proc/42/ns/ipc" })), "ipc"), { type: "ipc", path: "/proc/42/ns/ipc" });
  });

  it("container:<id> without that container's namespace path is refused, for now", () => {
    assertInvalid(() => withPidMode("container:db"), /^PID mode "container:db" is not supported yet/);
    assertInvalid(() => withIpcMode("container:db"), /^IPC mode "container:db" is not supported yet/);
  });

  it("refuses unknown modes as dockerd does", () => {
    assertInvalid(() => withPidMode("bogus"), "invalid PID mode: bogus");
    assertInvalid(() => withPidMode("container:"), "invalid PID mode: container:");
    assertInvalid(() => withUtsMode("private"), "invalid UTS mode: private");
    assertInvalid(() => withIpcMode("bogus"), "invalid IPC mode: bogus");
    assertInvalid(() => withNamespace("pid", { kind: "path", path: "ns" }), 'pid namespace path must be absolute, got "ns"');
  });

  it("--uts host: no UTS namespace and no hostname in the spec", () => {
    const s = build(withHostname("abc"), withUtsMode("host"));
    assert.ok(!nsTypes(s).includes("uts"));
    assert.equal(s.hostname, undefined);
    assert.ok(nsTypes(build(withUtsMode(""))).includes("uts"));
  });
});

describe("withIpcMode", () => {
  it("private, shareable and \"\": own namespace, the default /dev/shm tmpfs", () => {
    for (const mode of ["", "private", "shareable"]) {
      const s = build(withIpcMode(mode));
      assert.deepEqual(nsOf(s, "ipc"), { type: "ipc" }, mode);
      assert.equal(mountAt(s, "/dev/shm")?.type, "tmpfs", mode);
    }
  });

  it("none: own namespace, no /dev/shm at all", () => {
    const s = build(withIpcMode("none"));
    assert.deepEqual(nsOf(s, "ipc"), { type: "ipc" });
    assert.ok(!mountsOf(s).includes("/dev/shm"));
  });

  it("host: the host's namespace and its /dev/shm bound in", () => {
    const s = build(withIpcMode("host"));
    assert.ok(!nsTypes(s).includes("ipc"));
    assert.deepEqual(mountAt(s, "/dev/shm"), { destination: "/dev/shm", type: "bind", source: "/dev/shm", options: ["rbind", "rprivate"] });
  });
});

describe("withSysctls", () => {
  it("sets namespaced sysctls over the network defaults", () => {
    const s = build(withNetworkMode("bridge"), withSysctls({ "kernel.shmmax": "1000", "fs.mqueue.msg_max": "20", "net.ipv4.ip_unprivileged_port_start": "80", "kernel.domainname": "d" }));
    assert.deepEqual(s.linux?.sysctl, {
      "net.ipv4.ping_group_range": "0 2147483647",
      "net.ipv4.ip_unprivileged_port_start": "80",
      "kernel.shmmax": "1000",
      "fs.mqueue.msg_max": "20",
      "kernel.domainname": "d",
    });
  });

  const refused: Array<[string, () => unknown, string]> = [
    ["an IPC sysctl with --ipc host", () => build(withIpcMode("host"), withSysctls({ "kernel.sem": "1" })), 'sysctl "kernel.sem" is not allowed in the hosts ipc namespace'],
    ["net.* with --network host", () => build(withNetworkMode("host"), withSysctls({ "net.core.somaxconn": "1" })), 'sysctl "net.core.somaxconn" is not allowed in the hosts network namespace'],
    ["a global sysctl", () => build(withSysctls({ "vm.swappiness": "1" })), 'sysctl "vm.swappiness" is not in a separate kernel namespace'],
    ["kernel.hostname", () => build(withSysctls({ "kernel.hostname": "x" })), 'sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field'],
    ["kernel.domainname with --uts host", () => build(withUtsMode("host"), withSysctls({ "kernel.domainname": "x" })), 'sysctl "kernel.domainname" is not in a separate kernel namespace'],
  ];
  for (const [name, fn, message] of refused) {
    it(`refuses ${name}, in runc's words`, () => assertInvalid(fn, message));
  }

  it("names every refused sysctl at once", () => {
    assertInvalid(() => build(withSysctls({ "vm.a": "1", "vm.b": "2" })), 'sysctl "vm.a" is not in a separate kernel namespace; sysctl "vm.b" is not in a separate kernel namespace');
  });
});
