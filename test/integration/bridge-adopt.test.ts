// A default bridge that exists before berthd starts (left by another daemon or root, or made by
// hand) keeps its address: berth takes its subnet, and `docker run` gets an address in it instead
// of failing at every run ("already has an IP address different from ..."). Everything added on
// the host (the device, iptables rules and chains, ip_forward) is removed in after().
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startBerthd, type Berthd } from "../helpers/berthd.js";
import { runDocker } from "../helpers/docker-cli.js";
import { chainsNow, deleteRulesMatching, removeSharedChainsCreatedSince } from "../helpers/network.js";

const pexec = promisify(execFile);
const READY = existsSync("/usr/lib/cni/bridge") && process.getuid?.() === 0 && existsSync(process.env.DOCKER ?? "/usr/local/bin/docker");
const BRIDGE = `ba${randomBytes(3).toString("hex")}0`;
const NET = `10.231.${1 + Math.floor(Math.random() * 250)}`;

let b: Berthd | undefined;
let tmp = "";
let chainsBefore = new Set<string>();
let ipForwardBefore = "";
let bridgeId: string | undefined;

before(async () => {
  if (!READY) return;
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-adopt-"));
  chainsBefore = await chainsNow();
  ipForwardBefore = (await fs.readFile("/proc/sys/net/ipv4/ip_forward", "utf8")).trim();
  await pexec("ip", ["link", "add", BRIDGE, "type", "bridge"]);
  await pexec("ip", ["addr", "add", `${NET}.1/24`, "dev", BRIDGE]);
  await pexec("ip", ["link", "set", BRIDGE, "up"]);
});

after(async () => {
  if (!READY) return;
  if (b) {
    const cs = await b.request("GET", "/containers/json?all=1").catch(() => undefined);
    for (const c of cs?.status === 200 ? (JSON.parse(cs.body) as { Id: string }[]) : []) await b.request("DELETE", `/containers/${c.Id}?force=1`).catch(() => {});
    await b.destroy();
  }
  await pexec("ip", ["link", "delete", BRIDGE]).catch(() => {});
  if (bridgeId) await deleteRulesMatching(`berth-${bridgeId.slice(0, 12)}`, [NET]);
  await deleteRulesMatching(BRIDGE, [NET]);
  await removeSharedChainsCreatedSince(chainsBefore).catch(() => {});
  if (ipForwardBefore === "0") await fs.writeFile("/proc/sys/net/ipv4/ip_forward", "0").catch(() => {});
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

test("an existing bridge device keeps its address: the bridge network takes its subnet, containers get addresses in it; the daemon's --dns", { skip: READY ? false : "needs root, the CNI plugins and the docker CLI" }, async () => {
  b = await startBerthd({ label: "adopt", args: ["--bridge", BRIDGE, "--dns", "192.0.2.53", "--dns-search", "corp.example"] });
  const net = JSON.parse((await b.request("GET", "/networks/bridge")).body) as { Id: string; IPAM: { Config: { Subnet: string; Gateway: string }[] } };
  bridgeId = net.Id;
  assert.deepEqual(net.IPAM.Config.map((c) => [c.Subnet, c.Gateway]), [[`${NET}.0/24`, `${NET}.1`]]);
  assert.match(b.log(), /the default bridge exists: its address is kept/);
  const env = { DOCKER_CONFIG: path.join(tmp, "cli"), DOCKER_CLI_HINTS: "false" };
  const tar = path.join(tmp, "busybox.tar");
  await pexec(process.execPath, ["--import", "tsx", "scripts/busybox-image.ts", tar], { cwd: new URL("../..", import.meta.url).pathname });
  const load = await runDocker(b.dockerHost, ["load", "-q", "-i", tar], { env });
  assert.equal(load.code, 0, load.stderr);
  const r = await runDocker(b.dockerHost, ["run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0"], { env });
  assert.equal(r.code, 0, `${r.stderr}\n${b.log().slice(-2000)}`);
  assert.match(r.stdout, new RegExp(`inet ${NET.replace(/\./g, "\\.")}\\.\\d+/24`));
  // The daemon's --dns and --dns-search, for a container that sets none; its own --dns wins.
  const resolv = await runDocker(b.dockerHost, ["run", "--rm", "busybox", "cat", "/etc/resolv.conf"], { env });
  assert.equal(resolv.code, 0, resolv.stderr);
  assert.match(resolv.stdout, /^search corp\.example\nnameserver 192\.0\.2\.53\n/);
  const own = await runDocker(b.dockerHost, ["run", "--rm", "--dns", "192.0.2.99", "busybox", "cat", "/etc/resolv.conf"], { env });
  assert.match(own.stdout, /nameserver 192\.0\.2\.99\n/);
  assert.doesNotMatch(own.stdout, /192\.0\.2\.53/);
  const { stdout } = await pexec("ip", ["-4", "-o", "addr", "show", "dev", BRIDGE]);
  assert.match(stdout, new RegExp(`inet ${NET.replace(/\./g, "\\.")}\\.1/24`), "the device's address is unchanged");
});
