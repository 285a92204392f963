// Networks and volumes with the real docker CLI 28 against a berthd that runs CNI networking on
// its own bridge: published ports fetched from 127.0.0.1, `docker port`/`ps`, user networks with
// name resolution, connect/disconnect, and the volume commands with data, ro, copy-up, --rm and
// prune. Traffic goes only to 127.0.0.1 and to this test's containers. Everything the run makes
// on the host (bridges, iptables rules and chains, ip_forward) is removed in after().
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { fetchText, freeLocalPort, runDocker } from "../helpers/docker-cli.js";
import { startBerthd, type Berthd } from "../helpers/berthd.js";
import { chainsNow, deleteRulesMatching, removeSharedChainsCreatedSince } from "../helpers/network.js";

const pexec = promisify(execFile);
const DOCKER = process.env.DOCKER ?? "/usr/local/bin/docker";
const CNI_OK = existsSync("/usr/lib/cni/bridge") && process.getuid?.() === 0;
const READY = existsSync(DOCKER) && CNI_OK;
const RUN = randomBytes(3).toString("hex");
const octet = () => 1 + Math.floor(Math.random() * 250);
const DEF = `10.220.${octet()}`;
const NET_A = `10.221.${octet()}`;
const NET_B = `10.222.${octet()}`;
const BRIDGE = `bt${RUN}0`;

let b: Berthd | undefined;
let tmp = "";
let chainsBefore = new Set<string>();
let ipForwardBefore = "";
/** IDs of the user networks this run made: their bridges are br-<id12>, their rules name berth-<id12>. */
const networkIds = new Set<string>();

before(async () => {
  if (!READY) return;
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-netvol-"));
  chainsBefore = await chainsNow();
  ipForwardBefore = (await fs.readFile("/proc/sys/net/ipv4/ip_forward", "utf8")).trim();
  b = await startBerthd({ label: "netvol", args: ["--bridge", BRIDGE, "--bip", `${DEF}.1/24`] });
  const tar = path.join(tmp, "busybox.tar");
  await pexec(process.execPath, ["--import", "tsx", "scripts/busybox-image.ts", tar], { cwd: new URL("../..", import.meta.url).pathname });
  await ok(["load", "-q", "-i", tar]);
});

after(async () => {
  if (!READY) return;
  if (b) {
    // Containers first (their endpoints), then the networks, then berthd itself.
    const cs = await b.request("GET", "/containers/json?all=1").catch(() => undefined);
    for (const c of cs?.status === 200 ? (JSON.parse(cs.body) as { Id: string }[]) : []) await b.request("DELETE", `/containers/${c.Id}?force=1&v=1`).catch(() => {});
    const ns = await b.request("GET", "/networks").catch(() => undefined);
    for (const n of ns?.status === 200 ? (JSON.parse(ns.body) as { Id: string; Name: string }[]) : []) {
      if (["bridge", "host", "none"].includes(n.Name)) continue;
      networkIds.add(n.Id);
      await b.request("DELETE", `/networks/${n.Id}`).catch(() => {});
    }
    const bridgeId = await b.request("GET", "/networks/bridge").then((r) => (JSON.parse(r.body) as { Id: string }).Id, () => undefined);
    if (bridgeId) networkIds.add(bridgeId);
    await b.destroy();
  }
  await pexec("ip", ["link", "delete", BRIDGE]).catch(() => {});
  for (const id of networkIds) await pexec("ip", ["link", "delete", `br-${id.slice(0, 12)}`]).catch(() => {});
  for (const id of networkIds) await deleteRulesMatching(`berth-${id.slice(0, 12)}`, [DEF, NET_A, NET_B]);
  await deleteRulesMatching(BRIDGE, [DEF, NET_A, NET_B]);
  await removeSharedChainsCreatedSince(chainsBefore).catch(() => {});
  if (ipForwardBefore === "0") await fs.writeFile("/proc/sys/net/ipv4/ip_forward", "0").catch(() => {});
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

function docker(args: string[], o: { input?: string } = {}) {
  return runDocker(b!.dockerHost, args, { ...o, env: { DOCKER_CONFIG: path.join(tmp, "cli-config"), DOCKER_CLI_HINTS: "false" } });
}
async function ok(args: string[]): Promise<string> {
  const r = await docker(args);
  assert.equal(r.code, 0, `docker ${args.join(" ")} failed (${r.code}): ${r.stderr}\n--- berthd log ---\n${b?.log().slice(-2000)}`);
  return r.stdout;
}
async function fails(args: string[], re: RegExp): Promise<void> {
  const r = await docker(args);
  assert.notEqual(r.code, 0, `docker ${args.join(" ")} should fail: ${r.stdout}`);
  assert.match(r.stderr, re);
}

const freePort = freeLocalPort;

const HTTPD = (text: string, port = 80) => ["sh", "-c", `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p ${port} -h /www`];

describe("published ports (docker run -p/-P, docker port, docker ps)", { skip: READY ? false : "needs root, the CNI plugins and the docker CLI" }, () => {
  test("-p 127.0.0.1::80: a free host port, `docker port`, fetched from 127.0.0.1", async () => {
    const id = (await ok(["run", "-d", "--name", `any${RUN}`, "-p", "127.0.0.1::80", "busybox", ...HTTPD("any-port")])).trim();
    const port = (await ok(["port", id, "80"])).trim();
    const m = /^127\.0\.0\.1:(\d+)$/.exec(port);
    assert.ok(m, `docker port printed ${JSON.stringify(port)}`);
    assert.equal(await ok(["port", id]), `80/tcp -> 127.0.0.1:${m[1]}\n`);
    assert.equal(await fetchText(`http://127.0.0.1:${m[1]}/`), "any-port\n");
    assert.equal(await ok(["ps", "--filter", `id=${id}`, "--format", "{{.Ports}}"]), `127.0.0.1:${m[1]}->80/tcp\n`);
    const insp = JSON.parse(await ok(["inspect", "--format", "{{json .NetworkSettings}}", id])) as Record<string, any>;
    assert.deepEqual(insp.Ports, { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: m[1] }] });
    assert.match(insp.IPAddress, new RegExp(`^${DEF.replace(/\./g, "\\.")}\\.\\d+$`));
    assert.equal(insp.Gateway, `${DEF}.1`);
    assert.equal(insp.IPPrefixLen, 24);
    assert.equal(insp.Networks.bridge.IPAddress, insp.IPAddress);
    assert.equal(insp.Networks.bridge.NetworkID, (JSON.parse(await ok(["network", "inspect", "bridge"])) as { Id: string }[])[0]!.Id);
    await ok(["rm", "-f", id]);
  });

  test("-p HOST:80 with a chosen port; -P with --expose; exposed-only ports are null", async () => {
    const host = await freePort();
    const fixed = (await ok(["run", "-d", "-p", `127.0.0.1:${host}:80`, "--expose", "9999", "busybox", ...HTTPD("fixed-port")])).trim();
    assert.equal(await fetchText(`http://127.0.0.1:${host}/`), "fixed-port\n");
    const ports = JSON.parse(await ok(["inspect", "--format", "{{json .NetworkSettings.Ports}}", fixed])) as Record<string, unknown>;
    assert.deepEqual(ports, { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: String(host) }], "9999/tcp": null });
    // The CLI lists unpublished ports before the mappings (its DisplayablePorts).
    assert.equal(await ok(["ps", "--filter", `id=${fixed}`, "--format", "{{.Ports}}"]), `9999/tcp, 127.0.0.1:${host}->80/tcp\n`);

    const all = (await ok(["run", "-d", "-P", "--expose", "80", "busybox", ...HTTPD("publish-all")])).trim();
    const line = (await ok(["port", all, "80/tcp"])).split("\n")[0]!;
    const m = /^0\.0\.0\.0:(\d+)$/.exec(line);
    assert.ok(m, `docker port printed ${JSON.stringify(line)}`);
    assert.equal(await fetchText(`http://127.0.0.1:${m[1]}/`), "publish-all\n");
    await ok(["rm", "-f", fixed, all]);
  });
});

describe("networks (docker network ...)", { skip: READY ? false : "needs root, the CNI plugins and the docker CLI" }, () => {
  test("create, ls, inspect; rm refused while a container uses it, also a stopped one", async () => {
    const name = `na${RUN}`;
    const id = (await ok(["network", "create", "--subnet", `${NET_A}.0/24`, "--label", "suite=compat", name])).trim();
    networkIds.add(id);
    assert.match(id, /^[0-9a-f]{64}$/);
    const ls = await ok(["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    for (const want of ["bridge bridge", "host host", "none null", `${name} bridge`]) assert.ok(ls.split("\n").includes(want), `${want} in\n${ls}`);
    assert.equal(await ok(["network", "ls", "-q", "--no-trunc", "--filter", "label=suite=compat"]), `${id}\n`);
    const [j] = JSON.parse(await ok(["network", "inspect", name])) as Record<string, any>[];
    assert.equal(j!.Id, id);
    assert.equal(j!.Scope, "local");
    // dockerd 20.10 echoes the request: no Gateway when only --subnet was given; the CLI sends IPAM Options {}.
    assert.deepEqual(j!.IPAM.Config, [{ Subnet: `${NET_A}.0/24` }]);
    assert.deepEqual(j!.IPAM.Options, {});
    assert.deepEqual(j!.Labels, { suite: "compat" });

    const c = (await ok(["run", "-d", "--network", name, "busybox", "sleep", "300"])).trim();
    const members = JSON.parse(await ok(["network", "inspect", "--format", "{{json .Containers}}", name])) as Record<string, { IPv4Address: string }>;
    assert.match(members[c]!.IPv4Address, new RegExp(`^${NET_A.replace(/\./g, "\\.")}\\.\\d+/24$`));
    await fails(["network", "rm", name], /has active endpoints/);
    await ok(["stop", "-t", "0", c]);
    await fails(["network", "rm", name], /has active endpoints/);
    await fails(["network", "rm", "bridge"], /pre-defined network and cannot be removed/);
    await ok(["rm", c]);
    assert.equal((await ok(["network", "rm", name])).trim(), name);
    networkIds.delete(id);
    await fails(["network", "inspect", name], /not found/);
  });

  test("names resolve on a user network; connect and disconnect a running container", async () => {
    const name = `nb${RUN}`;
    networkIds.add((await ok(["network", "create", "--subnet", `${NET_B}.0/24`, name])).trim());
    const srv = `srv${RUN}`;
    await ok(["run", "-d", "--name", srv, "--network", name, "busybox", ...HTTPD("hello-peer", 8080)]);
    const peer = `peer${RUN}`;
    await ok(["run", "-d", "--name", peer, "--network", name, "busybox", "sleep", "300"]);
    const get = (who: string) => docker(["exec", who, "sh", "-c", `for i in $(seq 50); do timeout 2 wget -q -O - http://${srv}:8080/ && exit 0; sleep 0.1; done; exit 1`]);
    const byPeer = await get(peer);
    assert.equal(byPeer.stdout, "hello-peer\n", byPeer.stderr);

    // A container on the default bridge joins the network while running, then leaves it.
    const outsider = `out${RUN}`;
    await ok(["run", "-d", "--name", outsider, "busybox", "sleep", "300"]);
    await ok(["network", "connect", name, outsider]);
    const nets = JSON.parse(await ok(["inspect", "--format", "{{json .NetworkSettings.Networks}}", outsider])) as Record<string, { IPAddress: string }>;
    assert.deepEqual(Object.keys(nets).sort(), ["bridge", name].sort());
    assert.match(nets[name]!.IPAddress, new RegExp(`^${NET_B.replace(/\./g, "\\.")}\\.`));
    assert.equal((await get(outsider)).stdout, "hello-peer\n");
    await fails(["network", "connect", name, outsider], /already exists/);
    await ok(["network", "disconnect", name, outsider]);
    const after = JSON.parse(await ok(["inspect", "--format", "{{json .NetworkSettings.Networks}}", outsider])) as Record<string, unknown>;
    assert.deepEqual(Object.keys(after), ["bridge"]);
    // (busybox 1.35's wget -T crashes: timeout(1) bounds it instead.)
    const gone = await docker(["exec", outsider, "timeout", "2", "wget", "-q", "-O", "-", `http://${srv}:8080/`]);
    assert.notEqual(gone.code, 0, "not reachable by name after disconnect");
    await ok(["rm", "-f", srv, peer, outsider]);
    await ok(["network", "rm", name]);
    assert.equal((await ok(["network", "prune", "-f"])).trim(), "", "nothing left to prune");
  });
});

describe("volumes (docker volume ..., -v)", { skip: READY ? false : "needs root, the CNI plugins and the docker CLI" }, () => {
  const NONE = ["--network", "none"];

  test("create, ls, inspect, rm; data outlives the container; ro is enforced", async () => {
    const vol = `data${RUN}`;
    assert.equal(await ok(["volume", "create", "--label", "suite=compat", vol]), `${vol}\n`);
    assert.ok((await ok(["volume", "ls", "-q"])).split("\n").includes(vol));
    assert.equal(await ok(["volume", "ls", "-q", "--filter", "label=suite=compat"]), `${vol}\n`);
    const [j] = JSON.parse(await ok(["volume", "inspect", vol])) as Record<string, any>[];
    assert.equal(j!.Name, vol);
    assert.equal(j!.Driver, "local");
    assert.equal(j!.Scope, "local");
    assert.match(j!.Mountpoint, new RegExp(`/volumes/${vol}/_data$`));

    await ok(["run", "--rm", ...NONE, "-v", `${vol}:/data`, "busybox", "sh", "-c", "echo kept > /data/file"]);
    assert.equal(await ok(["run", "--rm", ...NONE, "-v", `${vol}:/data`, "busybox", "cat", "/data/file"]), "kept\n");
    const ro = await docker(["run", "--rm", ...NONE, "-v", `${vol}:/data:ro`, "busybox", "sh", "-c", "echo x > /data/other"]);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);

    const holder = (await ok(["create", ...NONE, "-v", `${vol}:/data`, "busybox", "true"])).trim();
    await fails(["volume", "rm", vol], /volume is in use/);
    await ok(["rm", holder]);
    assert.equal(await ok(["volume", "rm", vol]), `${vol}\n`);
    await fails(["volume", "inspect", vol], /no such volume/);
  });

  test("copy-up from the image; --rm removes the anonymous volume", async () => {
    const etc = `etc${RUN}`;
    assert.match(await ok(["run", "--rm", ...NONE, "-v", `${etc}:/etc`, "busybox", "cat", "/etc/passwd"]), /^root:x:0:0:/);
    const [j] = JSON.parse(await ok(["volume", "inspect", etc])) as { Mountpoint: string }[];
    assert.match(await fs.readFile(path.join(j!.Mountpoint, "passwd"), "utf8"), /^root:/);
    await ok(["volume", "rm", etc]);

    const before = new Set((await ok(["volume", "ls", "-q"])).split("\n").filter(Boolean));
    const kept = (await ok(["create", ...NONE, "-v", "/anon", "busybox", "true"])).trim();
    const anon = (await ok(["volume", "ls", "-q"])).split("\n").filter((v) => v && !before.has(v));
    assert.equal(anon.length, 1);
    await ok(["rm", kept]);
    assert.ok((await ok(["volume", "ls", "-q"])).split("\n").includes(anon[0]!), "rm without -v keeps it");
    await ok(["volume", "rm", anon[0]!]);

    await ok(["run", "--rm", ...NONE, "-v", "/anon", "busybox", "sh", "-c", "echo x > /anon/f"]);
    assert.deepEqual((await ok(["volume", "ls", "-q"])).split("\n").filter((v) => v && !before.has(v)), [], "--rm removed the anonymous volume");
  });

  test("prune removes only unused volumes (anonymous ones without -a, as docker 23+)", async () => {
    const used = `used${RUN}`;
    const unusedNamed = `idle${RUN}`;
    await ok(["volume", "create", unusedNamed]);
    const holder = (await ok(["create", ...NONE, "-v", `${used}:/u`, "-v", "/anon-used", "busybox", "true"])).trim();
    const idleAnon = (await ok(["volume", "create"])).trim();
    const pruned = await ok(["volume", "prune", "-f"]);
    assert.match(pruned, new RegExp(`Deleted Volumes:\\n${idleAnon}\\n`));
    let left = (await ok(["volume", "ls", "-q"])).split("\n");
    assert.ok(left.includes(used) && left.includes(unusedNamed) && !left.includes(idleAnon));
    const all = await ok(["volume", "prune", "-a", "-f"]);
    assert.match(all, new RegExp(`${unusedNamed}\\n`));
    left = (await ok(["volume", "ls", "-q"])).split("\n");
    assert.ok(left.includes(used) && !left.includes(unusedNamed), "a volume in use is never pruned");
    assert.match(await ok(["system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}"]), /^Local Volumes 2 2$/m);
    await ok(["rm", "-v", holder]);
    await ok(["volume", "rm", used]);
  });
});
