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
    .parse(argv, { from: "user" });
}

test("only options given on the command line count as set; --root is data-root", () => {
  assert.deepEqual(flagsSet(program([])), {});
  assert.deepEqual(flagsSet(program(["-D", "--root", "/r", "--label", "a=1", "--label", "b=2", "-H", "fd://"])), {
    debug: true, "data-root": "/r", labels: ["a=1", "b=2"], hosts: ["fd://"],
  });
  assert.deepEqual(flagsSet(program(["--live-restore"])), { "live-restore": true });
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
