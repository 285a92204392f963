import { test } from "node:test";
import assert from "node:assert/strict";
import { CONFIG_KEYS, DOCKERD_ONLY_KEYS, effectiveLogLevel, mergeConfig, parseDaemonConfig, reloadChanges } from "./config-file.js";

const parse = (v: unknown) => parseDaemonConfig(JSON.stringify(v), "/etc/berth/daemon.json");

test("dockerd's key names are read with their types", () => {
  const c = parse({
    "data-root": "/srv/berth", hosts: ["unix:///run/b.sock", "fd://"], group: "docker", "log-level": "warn", debug: true,
    bip: "172.40.0.1/16", mtu: 1400, "default-address-pools": [{ base: "10.10.0.0/16", size: 24 }], labels: ["a=b"],
    "registry-mirrors": ["https://mirror.example.com"], "insecure-registries": ["10.0.0.0/8", "reg.local:5000"],
    "live-restore": true, "max-concurrent-downloads": 6, pidfile: "/run/berthd.pid", "log-format": "json",
  });
  assert.equal(c["data-root"], "/srv/berth");
  assert.deepEqual(c.hosts, ["unix:///run/b.sock", "fd://"]);
  assert.deepEqual(c["default-address-pools"], [{ base: "10.10.0.0/16", size: 24 }]);
  assert.equal(c.mtu, 1400);
  assert.equal(effectiveLogLevel(c), "debug", "debug wins over log-level, as in dockerd");
  assert.equal(effectiveLogLevel({ "log-level": "warn" }), "warn");
  assert.equal(effectiveLogLevel({}), "info");
});

test("a dockerd key berth does not implement is refused by name, with a hint where one helps", () => {
  assert.throws(() => parse({ "storage-driver": "overlay2", debug: true }), /not supported by berth: storage-driver \(containerd's overlayfs/);
  assert.throws(() => parse({ "default-runtime": "runc" }), /not supported by berth: default-runtime$/);
  // Honoured since the daemon-wide security options: no longer refused.
  for (const k of ["no-new-privileges", "default-ulimits", "userns-remap"]) assert.ok(k in CONFIG_KEYS && !DOCKERD_ONLY_KEYS.includes(k), k);
  for (const k of DOCKERD_ONLY_KEYS) assert.ok(!(k in CONFIG_KEYS), `${k} is both supported and refused`);
});

test("unknown keys are refused by name, all of them, as dockerd words it", () => {
  assert.throws(() => parse({ "data-rot": "/x", colour: "red" }), /the following directives don't match any configuration option: data-rot, colour/);
});

test("types, values and JSON are checked with the key named", () => {
  assert.throws(() => parseDaemonConfig("{ debug: true", "/f.json"), /\/f.json: not valid JSON/);
  assert.throws(() => parseDaemonConfig("[]", "/f.json"), /a JSON object is expected/);
  assert.throws(() => parse({ debug: "yes" }), /invalid value for "debug"/);
  assert.throws(() => parse({ hosts: "unix:///x" }), /invalid value for "hosts": a list of strings/);
  assert.throws(() => parse({ "log-level": "verbose" }), /invalid value for "log-level"/);
  assert.throws(() => parse({ mtu: 1.5 }), /invalid value for "mtu"/);
  assert.throws(() => parse({ mtu: 20 }), /invalid "mtu" 20/);
  assert.throws(() => parse({ labels: ["novalue"] }), /invalid label "novalue"/);
  assert.throws(() => parse({ "registry-mirrors": ["mirror.example.com"] }), /invalid registry mirror/);
  assert.throws(() => parse({ "default-address-pools": [{ base: "10.0.0.0/8" }] }), /"base".*"size"/);
  assert.throws(() => parse({ "max-concurrent-downloads": 0 }), /at least 1/);
  assert.throws(() => parse({ "shim-group-size": 0 }), /invalid "shim-group-size": at least 1/);
  assert.throws(() => parse({ "shim-group-size": "10" }), /invalid value for "shim-group-size": a non-negative integer/);
  assert.equal(parse({ "shim-group-size": 10 })["shim-group-size"], 10);
  assert.throws(() => parse({ dns: ["dns.example"] }), /invalid "dns" entry "dns.example": an IP address/);
  assert.deepEqual(parse({ dns: ["192.0.2.53"], "dns-search": ["a.example"], "dns-opts": ["ndots:2"] }), { dns: ["192.0.2.53"], "dns-search": ["a.example"], "dns-opts": ["ndots:2"] });
});

test("live-restore: true is accepted, false is refused with the reason", () => {
  assert.equal(parse({ "live-restore": true })["live-restore"], true);
  assert.throws(() => parse({ "live-restore": false }), /"live-restore": false is not supported by berth: containers always keep running/);
});

test("an option set both as a flag and in the file is an error naming each, with both values", () => {
  const file = parse({ debug: false, hosts: ["unix:///a.sock"], labels: ["x=1"] });
  assert.throws(() => mergeConfig({ debug: true, hosts: ["fd://"] }, file, "/etc/berth/daemon.json"), (e: Error) => {
    assert.match(e.message, /^unable to configure berthd with file \/etc\/berth\/daemon.json: the following directives are specified both as a flag and in the configuration file: /);
    assert.match(e.message, /debug: \(from flag: true, from file: false\)/);
    assert.match(e.message, /hosts: \(from flag: \[fd:\/\/\], from file: \[unix:\/\/\/a.sock\]\)/);
    assert.doesNotMatch(e.message, /labels/);
    return true;
  });
  assert.deepEqual(mergeConfig({ debug: true }, { labels: ["x=1"] }, "f"), { debug: true, labels: ["x=1"] });
  assert.throws(() => mergeConfig({ "live-restore": false } as never, {}, "f"), /live-restore/);
});

test("reload: reloadable changes, restart-only changes, absent keys keep their value", () => {
  const current = { debug: false, labels: ["a=1"], bip: "172.40.0.1/16", "registry-mirrors": ["https://m1"] };
  const r = reloadChanges(current, { debug: true, labels: ["a=1"], bip: "172.41.0.1/16" });
  assert.deepEqual(r.changes, [{ key: "debug", from: false, to: true }]);
  assert.deepEqual(r.restartOnly, ["bip"]);
  assert.deepEqual(reloadChanges(current, {}), { changes: [], restartOnly: [] });
});
