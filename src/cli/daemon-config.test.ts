import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { flagsSet, groupExists, loadDaemonConfig, toDaemonOptions } from "./daemon-config.js";

function program(argv: string[]) {
  const collect = (v: string, prev: string[]) => [...prev, v];
  return new Command()
    .exitOverride()
    .option("-H, --host <address...>", "", ["unix:///run/berth/berth.sock"])
    .option("-G, --group <group>")
    .option("--root <dir>", "", "/var/lib/berth")
    .option("--data-root <dir>")
    .option("-D, --debug")
    .option("-l, --log-level <level>", "", "info")
    .option("--label <l>", "", collect, [])
    .option("--live-restore")
    .option("--no-new-privileges")
    .option("--default-ulimit <u>", "", collect, [])
    .option("--userns-remap <user>")
    .option("--shim-group-size <n>", "", Number)
    .parse(argv, { from: "user" });
}

test("only options given on the command line count as set; --root is data-root", () => {
  assert.deepEqual(flagsSet(program([])), {});
  assert.deepEqual(flagsSet(program(["-D", "--root", "/r", "--label", "a=1", "--label", "b=2", "-H", "fd://"])), {
    debug: true, "data-root": "/r", labels: ["a=1", "b=2"], hosts: ["fd://"],
  });
  assert.deepEqual(flagsSet(program(["--live-restore"])), { "live-restore": true });
  assert.deepEqual(flagsSet(program(["--shim-group-size", "10"])), { "shim-group-size": 10 });
  assert.throws(() => flagsSet(program(["--root", "/a", "--data-root", "/b"])), /--root and --data-root/);
});

test("the default file may be missing, an explicit one may not; a conflict names the key", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "berth-cfg-"));
  try {
    assert.deepEqual(await loadDaemonConfig({}, path.join(dir, "none.json"), false), {});
    await assert.rejects(loadDaemonConfig({}, path.join(dir, "none.json"), true), /cannot read the configuration file .*none.json/);
    const f = path.join(dir, "daemon.json");
    await writeFile(f, JSON.stringify({ hosts: ["unix:///x.sock"], labels: ["k=v"] }));
    assert.deepEqual(await loadDaemonConfig({ debug: true }, f, true), { debug: true, hosts: ["unix:///x.sock"], labels: ["k=v"] });
    await assert.rejects(loadDaemonConfig(flagsSet(program(["-H", "fd://"])), f, false), /specified both as a flag and in the configuration file: hosts: \(from flag: \[fd:\/\/\]/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("DaemonOptions: defaults, the docker group when it exists, debug as the log level", () => {
  const o = toDaemonOptions({}, { groupExists: (g) => g === "docker" });
  assert.equal(o.root, "/var/lib/berth");
  assert.deepEqual(o.hosts, ["unix:///run/berth/berth.sock"]);
  assert.equal(o.group, "docker");
  assert.equal(o.logLevel, "info");
  assert.equal(o.logFormat, "text");
  assert.equal(toDaemonOptions({}, { groupExists: () => false }).group, undefined);
  assert.equal(toDaemonOptions({ group: "" }, { groupExists: () => true }).group, undefined, "an empty group keeps root's");
  const d = toDaemonOptions({ debug: true, "data-root": "/srv", labels: ["a=b"], mtu: 1400, "max-concurrent-downloads": 7 }, { groupExists: () => false });
  assert.equal(d.logLevel, "debug");
  assert.equal(d.root, "/srv");
  assert.equal(d.mtu, 1400);
  assert.deepEqual(toDaemonOptions({ dns: ["192.0.2.53"], "dns-opts": ["ndots:2"] }, { groupExists: () => false }).dns, { servers: ["192.0.2.53"], options: ["ndots:2"] });
  assert.equal(d.dns, undefined);
  assert.equal(d.shimGroupSize, undefined, "a shim per container unless asked");
  assert.equal(toDaemonOptions({ "shim-group-size": 1 }, { groupExists: () => false }).shimGroupSize, undefined, "1 is the default: no groups");
  assert.equal(toDaemonOptions({ "shim-group-size": 10 }, { groupExists: () => false }).shimGroupSize, 10);
  assert.deepEqual(d.live, { debug: true, labels: ["a=b"], registryMirrors: [], insecureRegistries: [], maxConcurrentDownloads: 7, maxConcurrentUploads: 5 });
});

test("groupExists reads /etc/group", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "berth-grp-"));
  try {
    await writeFile(path.join(dir, "group"), "root:x:0:\ndocker:x:998:alice\n");
    assert.equal(groupExists("docker", path.join(dir, "group")), true);
    assert.equal(groupExists("dock", path.join(dir, "group")), false);
    assert.equal(groupExists("docker", path.join(dir, "missing")), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("exec-opts (daemon.json) / --exec-opt reach the daemon as its cgroup driver choice", async () => {
  assert.deepEqual(toDaemonOptions({ "exec-opts": ["native.cgroupdriver=systemd"] }, { groupExists: () => false }).execOpts, ["native.cgroupdriver=systemd"]);
  assert.equal(toDaemonOptions({}, { groupExists: () => false }).execOpts, undefined);
  const { parseDaemonConfig } = await import("./config-file.js");
  assert.deepEqual(parseDaemonConfig(JSON.stringify({ "exec-opts": ["native.cgroupdriver=cgroupfs"] }), "daemon.json")["exec-opts"], ["native.cgroupdriver=cgroupfs"]);
});

test("no-new-privileges (daemon.json) / --no-new-privileges reach the daemon's security options", async () => {
  const { parseDaemonConfig } = await import("./config-file.js");
  const c = parseDaemonConfig(JSON.stringify({ "no-new-privileges": true }), "daemon.json");
  assert.deepEqual(toDaemonOptions(c, { groupExists: () => false }).security, { noNewPrivileges: true });
  assert.equal(toDaemonOptions({ "no-new-privileges": false }, { groupExists: () => false }).security, undefined);
  assert.equal(toDaemonOptions({}, { groupExists: () => false }).security, undefined);
  // commander's negated attribute (newPrivileges=false) is the key, given or not.
  assert.deepEqual(flagsSet(program(["--no-new-privileges"])), { "no-new-privileges": true });
  assert.deepEqual(flagsSet(program([])), {});
  await assert.rejects(async () => {
    const { mergeConfig } = await import("./config-file.js");
    mergeConfig(flagsSet(program(["--no-new-privileges"])), c, "daemon.json");
  }, /specified both as a flag and in the configuration file: no-new-privileges/);
});

test("default-ulimits (daemon.json, dockerd's object form) / --default-ulimit reach the daemon as name=soft:hard", async () => {
  const { parseDaemonConfig } = await import("./config-file.js");
  const c = parseDaemonConfig(JSON.stringify({ "default-ulimits": { nofile: { Name: "nofile", Soft: 1024, Hard: 2048 }, nproc: { Soft: 50, Hard: 60 } } }), "daemon.json");
  assert.deepEqual(c["default-ulimits"], ["nofile=1024:2048", "nproc=50:60"]);
  assert.deepEqual(toDaemonOptions(c, { groupExists: () => false }).security, { defaultUlimits: ["nofile=1024:2048", "nproc=50:60"] });
  assert.deepEqual(flagsSet(program(["--default-ulimit", "nofile=1:2", "--default-ulimit", "core=0"])), { "default-ulimits": ["nofile=1:2", "core=0"] });
  const bad = (v: unknown) => () => parseDaemonConfig(JSON.stringify({ "default-ulimits": v }), "daemon.json");
  assert.throws(bad(["nofile=1:2"]), /invalid value for "default-ulimits": an object/);
  assert.throws(bad({ nofile: { Soft: "1", Hard: 2 } }), /"nofile" needs integer "Soft" and "Hard"/);
  assert.throws(bad({ nofile: { Name: "nproc", Soft: 1, Hard: 2 } }), /"nofile" has "Name" "nproc"/);
  assert.throws(bad({ nofiles: { Soft: 1, Hard: 2 } }), /invalid ulimit type: nofiles/);
  assert.throws(bad({ nofile: { Soft: 3, Hard: 2 } }), /soft limit must be less than or equal to hard limit: 3 > 2/);
});

test("userns-remap (daemon.json) / --userns-remap reach the daemon's security options", async () => {
  const { parseDaemonConfig } = await import("./config-file.js");
  const c = parseDaemonConfig(JSON.stringify({ "userns-remap": "default" }), "daemon.json");
  assert.deepEqual(toDaemonOptions(c, { groupExists: () => false }).security, { usernsRemap: "default" });
  assert.deepEqual(flagsSet(program(["--userns-remap", "alice:staff"])), { "userns-remap": "alice:staff" });
  assert.throws(() => parseDaemonConfig(JSON.stringify({ "userns-remap": 1 }), "daemon.json"), /invalid value for "userns-remap": a string/);
  const all = toDaemonOptions({ "no-new-privileges": true, "default-ulimits": ["core=0:0"], "userns-remap": "u:g" }, { groupExists: () => false });
  assert.deepEqual(all.security, { noNewPrivileges: true, defaultUlimits: ["core=0:0"], usernsRemap: "u:g" });
});
