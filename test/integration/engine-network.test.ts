// Networking through the engine: the default bridge with a published port reached at
// 127.0.0.1, containers on a user network finding each other by name, inspect's settings, and
// nothing left after removal. Traffic goes only to 127.0.0.1 and to this test's containers.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { logsOf, startTestEngine, type TestEngine } from "../helpers/engine.js";
import { fetchText, freeLocalPort } from "../helpers/docker-cli.js";
import { chainsNow, deleteRulesMatching, removeSharedChainsCreatedSince } from "../helpers/network.js";
import { createNetworkManager, type NetworkManager } from "../../src/network/index.js";

const pexec = promisify(execFile);
const RUN = randomBytes(3).toString("hex");
const octet = () => 1 + Math.floor(Math.random() * 250);
const DEF = `10.218.${octet()}`;
const USER = `10.219.${octet()}`;
const USER2 = `10.220.${octet()}`;
const BRIDGE = `be${RUN}0`;
const CNI_OK = existsSync("/usr/lib/cni/bridge") && process.getuid?.() === 0;

let ctd: TestContainerd;
let engine: TestEngine;
let network: NetworkManager;
let chainsBefore = new Set<string>();
let ipForwardBefore = "";

before(async () => {
  if (!CNI_OK) return;
  ctd = await startTestContainerd("enet");
  chainsBefore = await chainsNow();
  ipForwardBefore = (await fs.readFile("/proc/sys/net/ipv4/ip_forward", "utf8")).trim();
  network = await createNetworkManager({ stateDir: path.join(ctd.dir, "berth", "network"), defaultBridge: { name: BRIDGE, bip: `${DEF}.1/24` }, readRoutes: async () => [] });
  engine = await startTestEngine(ctd, { network });
});
after(async () => {
  if (!CNI_OK) return;
  for (const c of engine.list({ all: true })) await engine.remove(c.id, { force: true }).catch(() => {});
  for (const n of network.listNetworks()) if (n.name !== "bridge" && n.name !== "host" && n.name !== "none") await network.removeNetwork(n.id).catch(() => {});
  await engine.close();
  await network.close();
  // The default bridge stays by design (as dockerd's docker0); this one is the test's own.
  await pexec("ip", ["link", "delete", BRIDGE]).catch(() => {});
  await deleteRulesMatching(RUN, [DEF, USER, USER2]);
  await removeSharedChainsCreatedSince(chainsBefore).catch(() => {});
  if (ipForwardBefore === "0") await fs.writeFile("/proc/sys/net/ipv4/ip_forward", "0").catch(() => {});
  await ctd.stop();
});

const freePort = freeLocalPort;

describe("engine networking (CNI)", { skip: CNI_OK ? false : "needs root and containernetworking-plugins" }, () => {
  test("default bridge: an address, a published port on 127.0.0.1, cleaned up on remove", async () => {
    const port = await freePort();
    const { id } = await engine.create({
      config: { image: "busybox", cmd: ["sh", "-c", "mkdir -p /www && echo served-by-berth > /www/index.html && httpd -f -p 80 -h /www"], exposedPorts: ["80/tcp"] },
      hostConfig: { networkMode: "default", portBindings: { "80/tcp": [{ hostIp: "127.0.0.1", hostPort: String(port) }] } },
    });
    await engine.start(id);
    const v = engine.inspect(id);
    assert.match(v.networkSettings!.ipAddress, new RegExp(`^${DEF.replace(/\./g, "\\.")}\\.\\d+$`));
    assert.equal(v.networkSettings!.gateway, `${DEF}.1`);
    assert.deepEqual(v.networkSettings!.ports["80/tcp"], [{ hostIp: "127.0.0.1", hostPort: String(port) }]);
    assert.equal(await fetchText(`http://127.0.0.1:${port}/`), "served-by-berth\n");
    // An update rebuilds the spec; the /etc/hosts the network layer wrote must survive it.
    const hostsFile = path.join(ctd.dir, "berth", "containers", id, "hosts");
    assert.match(await fs.readFile(hostsFile, "utf8"), new RegExp(v.networkSettings!.ipAddress.replace(/\./g, "\\.")));
    await engine.update(id, { resources: { memory: 64 * 1024 * 1024, memorySwap: 128 * 1024 * 1024 } });
    assert.match(await fs.readFile(hostsFile, "utf8"), new RegExp(v.networkSettings!.ipAddress.replace(/\./g, "\\.")));
    const netns = network.netnsPath(id);
    assert.ok(existsSync(netns));
    await engine.remove(id, { force: true });
    assert.ok(!existsSync(netns), "network namespace removed");
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) }));
  });

  test("a user network: containers reach each other by name", async () => {
    const name = `un${RUN}`;
    await network.createNetwork({ name, subnet: `${USER}.0/24` });
    const srv = await engine.create({
      name: `srv${RUN}`,
      config: { image: "busybox", cmd: ["sh", "-c", "mkdir -p /w && echo hello-peer > /w/index.html && httpd -f -p 8080 -h /w"] },
      hostConfig: { networkMode: name },
    });
    await engine.start(srv.id);
    const cli = await engine.create({
      config: { image: "busybox", cmd: ["sh", "-c", `for i in $(seq 50); do wget -q -O - http://srv${RUN}:8080/ && exit 0; sleep 0.1; done; exit 1`] },
      hostConfig: { networkMode: name },
    });
    const exited = engine.wait(cli.id, "next-exit");
    await engine.start(cli.id);
    assert.equal((await exited).exitCode, 0, JSON.stringify(await logsOf(engine, cli.id)));
    assert.equal((await logsOf(engine, cli.id)).stdout, "hello-peer\n");
    await engine.remove(cli.id, { force: true });
    await engine.remove(srv.id, { force: true });
    await network.removeNetwork(name);
  });

  test("MacAddress: Config's on the default bridge (kept across a restart), an endpoint's on a user network, connect's", async () => {
    // Each start prints the interface's address as the kernel has it, then stays up for inspect.
    const showMac = (ifs: string[]) => ["sh", "-c", `for i in ${ifs.join(" ")}; do cat /sys/class/net/$i/address; done; exec sleep 300`];
    const untilLogs = async (id: string, want: string) => {
      for (let i = 0; i < 100; i++) {
        const { stdout } = await logsOf(engine, id);
        if (stdout === want) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal((await logsOf(engine, id)).stdout, want);
    };
    // Given in net.ParseMAC's hyphen form, upper case: the interface and inspect show it canonical.
    const def = await engine.create({ config: { image: "busybox", cmd: showMac(["eth0"]), macAddress: "02-42-0A-DA-00-0B" }, hostConfig: { networkMode: "default" } });
    await engine.start(def.id);
    await untilLogs(def.id, "02:42:0a:da:00:0b\n");
    let v = engine.inspect(def.id);
    assert.equal(v.config.macAddress, "02-42-0A-DA-00-0B");
    assert.equal(v.networkSettings!.macAddress, "02:42:0a:da:00:0b");
    assert.equal(v.networkSettings!.networks.bridge!.macAddress, "02:42:0a:da:00:0b");
    assert.equal(network.inspectNetwork("bridge").containers[def.id]!.macAddress, "02:42:0a:da:00:0b");
    await engine.restart(def.id, { timeout: 0 });
    await untilLogs(def.id, "02:42:0a:da:00:0b\n02:42:0a:da:00:0b\n");
    assert.equal(engine.inspect(def.id).networkSettings!.macAddress, "02:42:0a:da:00:0b");

    const name = `um${RUN}`;
    const name2 = `um2${RUN}`;
    await network.createNetwork({ name, subnet: `${USER}.0/24` });
    await network.createNetwork({ name: name2, subnet: `${USER2}.0/24` });
    const u = await engine.create({
      config: { image: "busybox", cmd: showMac(["eth0"]) },
      hostConfig: { networkMode: name },
      networks: { [name]: { aliases: [], macAddress: "02:42:0a:db:00:0c" } },
    });
    await engine.start(u.id);
    await untilLogs(u.id, "02:42:0a:db:00:0c\n");
    await engine.connectNetwork(u.id, name2, { macAddress: "02:42:0a:db:00:0d" });
    v = engine.inspect(u.id);
    assert.equal(v.networkSettings!.networks[name]!.macAddress, "02:42:0a:db:00:0c");
    assert.equal(v.networkSettings!.networks[name2]!.macAddress, "02:42:0a:db:00:0d");
    assert.equal(network.inspectNetwork(name2).containers[u.id]!.macAddress, "02:42:0a:db:00:0d");
    // Kept in the record: the next start sets both again.
    assert.deepEqual([v.networks[name]!.macAddress, v.networks[name2]!.macAddress], ["02:42:0a:db:00:0c", "02:42:0a:db:00:0d"]);

    await assert.rejects(
      engine.create({ config: { image: "busybox", cmd: ["true"] }, hostConfig: { networkMode: name }, networks: { [name]: { aliases: [], macAddress: "02:42:0a:db:00" } } }),
      (e: Error) => e.message === "invalid MAC address 02:42:0a:db:00",
    );
    await assert.rejects(
      engine.create({ config: { image: "busybox", cmd: ["true"], macAddress: "02:42:0a:db:00:0e" }, hostConfig: { networkMode: "host" } }),
      (e: Error) => e.message === "conflicting options: mac-address and the network mode",
    );
    await engine.remove(def.id, { force: true });
    await engine.remove(u.id, { force: true });
    await network.removeNetwork(name);
    await network.removeNetwork(name2);
  });
});
