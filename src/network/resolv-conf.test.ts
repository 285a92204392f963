import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { renderResolvConf, usesResolvedStub } from "./resolv-conf.js";

describe("resolv.conf", () => {
  test("loopback and IPv6 nameservers are dropped; search and options kept", () => {
    const host = "# generated\nsearch corp.example\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\nnameserver 2001:db8::1\noptions edns0 trust-ad\n";
    assert.deepEqual(renderResolvConf(host), {
      content: "search corp.example\nnameserver 10.0.0.2\noptions edns0 trust-ad\n",
      nameservers: ["10.0.0.2"],
    });
  });

  test("nothing reachable left: no nameserver is invented", () => {
    assert.deepEqual(renderResolvConf("nameserver 127.0.0.1\n"), { content: "", nameservers: [] });
  });

  test("--dns, --dns-search, --dns-option replace the host's", () => {
    const r = renderResolvConf("search a\nnameserver 10.0.0.2\noptions ndots:2\n", { servers: ["10.9.9.9"], search: ["b.example"], options: ["ndots:1"] });
    assert.equal(r.content, "search b.example\nnameserver 10.9.9.9\noptions ndots:1\n");
    assert.equal(renderResolvConf("search a\nnameserver 10.0.0.2\n", { search: ["."] }).content, "nameserver 10.0.0.2\n");
  });

  test("the systemd-resolved stub is recognised", () => {
    assert.ok(usesResolvedStub("nameserver 127.0.0.53\noptions edns0\n"));
    assert.ok(!usesResolvedStub("nameserver 127.0.0.53\nnameserver 10.0.0.1\n"));
    assert.ok(!usesResolvedStub(""));
  });
});

test("daemon DNS (--dns, --dns-search, --dns-opt) fills what a container does not set, field by field", async () => {
  const { withDefaultDns } = await import("./resolv-conf.js");
  const daemon = { servers: ["192.0.2.53"], search: ["corp.example"], options: ["ndots:2"] };
  assert.deepEqual(withDefaultDns({}, daemon), daemon);
  assert.deepEqual(withDefaultDns({ servers: ["10.0.0.2"], search: [] }, daemon), { servers: ["10.0.0.2"], search: ["corp.example"], options: ["ndots:2"] });
  assert.deepEqual(withDefaultDns({ servers: ["10.0.0.2"] }, undefined), { servers: ["10.0.0.2"] });
  assert.equal(renderResolvConf("nameserver 1.1.1.1\nsearch host.example\n", withDefaultDns({}, daemon)).content, "search corp.example\nnameserver 192.0.2.53\noptions ndots:2\n");
});
