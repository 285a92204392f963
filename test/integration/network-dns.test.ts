// The embedded DNS of user networks against the real CNI plugins, without containerd: a
// "container" is the namespace berth creates, and busybox nslookup runs in it (nsenter) with that
// container's resolv.conf bind-mounted, so the query goes where the container's would. Upstream
// is a tiny DNS server of the test on 127.0.0.1 (the host's resolv.conf given to the manager).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createNetworkManager, type AttachRequest, type NetworkManager } from "../../src/network/index.js";
import { buildAnswer, buildError, parseQuery, RCODE_NXDOMAIN, TYPE_A } from "../../src/network/dns-codec.js";
import { chainsNow, deleteRulesMatching, removeSharedChainsCreatedSince } from "../helpers/network.js";

const pexec = promisify(execFile);
const RUN = randomBytes(3).toString("hex");
const octet = () => 1 + Math.floor(Math.random() * 250);
const DEF = `10.223.${octet()}`;
const NET1 = `10.224.${octet()}`;
const NET2 = `10.225.${octet()}`;
const BRIDGE = `bd${RUN}0`;
const CNI_OK = existsSync("/usr/lib/cni/bridge") && process.getuid?.() === 0;

let root: string;
let m: NetworkManager | undefined;
let upstream: dgram.Socket;
const warnings: string[] = [];
const ids = new Set<string>();
const networks = new Set<string>();
const bridges = new Set<string>([BRIDGE]);
let chainsBefore = new Set<string>();

async function open(): Promise<NetworkManager> {
  return createNetworkManager({
    stateDir: path.join(root, "state"),
    netnsDir: path.join(root, "netns"),
    defaultBridge: { name: BRIDGE, bip: `${DEF}.1/24` },
    readRoutes: async () => [],
    resolvConfPath: path.join(root, "host-resolv.conf"),
    embeddedDns: { upstreamPort: (upstream.address() as AddressInfo).port },
    warn: (w) => warnings.push(w),
  });
}

function newId(): string {
  const id = RUN + randomBytes(29).toString("hex");
  ids.add(id);
  return id;
}

async function attach(name: string, networks: AttachRequest["networks"]) {
  const id = newId();
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  const files = { hosts: path.join(dir, "hosts"), resolvConf: path.join(dir, "resolv.conf") };
  await fs.writeFile(files.resolvConf, "");
  await fs.writeFile(files.hosts, "");
  const r = await m!.attach(id, { name, hostname: name, networks, files });
  return { id, ...r, files };
}

/** busybox nslookup inside the namespace, with the container's resolv.conf (and an empty /etc/hosts). */
async function nslookup(c: { netnsPath: string; files: { resolvConf: string } }, name: string): Promise<{ ok: boolean; out: string }> {
  const empty = path.join(root, "empty-hosts");
  await fs.writeFile(empty, "");
  const r = await pexec("nsenter", [
    `--net=${c.netnsPath}`, "unshare", "--mount", "sh", "-c",
    `mount --bind "$0" /etc/resolv.conf && mount --bind "$1" /etc/hosts && exec busybox nslookup -timeout=2 -retry=1 "$2"`,
    c.files.resolvConf, empty, name,
  ]).then((o) => ({ ok: true, out: o.stdout }), (e: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` }));
  return r;
}

/** The A address nslookup printed for the name (undefined: none). */
function addressIn(out: string): string | undefined {
  const after = out.split(/^Name:/m)[1];
  return after?.match(/Address:\s*(\d+\.\d+\.\d+\.\d+)/)?.[1];
}

before(async () => {
  if (!CNI_OK) return;
  root = await fs.mkdtemp(path.join(os.tmpdir(), `berth-dns-${RUN}-`));
  chainsBefore = await chainsNow();
  // The upstream: external.test A → 192.0.2.7; everything else NXDOMAIN.
  upstream = dgram.createSocket("udp4");
  upstream.on("message", (msg, r) => {
    const q = parseQuery(msg);
    if (!q) return;
    const out = q.name === "external.test" ? buildAnswer(q, q.type === TYPE_A ? ["192.0.2.7"] : [], 60) : buildError(q, RCODE_NXDOMAIN);
    upstream.send(out, r.port, r.address);
  });
  await new Promise<void>((res) => upstream.bind(0, "127.0.0.1", res));
  await fs.writeFile(path.join(root, "host-resolv.conf"), "nameserver 127.0.0.1\n");
  m = await open();
});

after(async () => {
  if (!CNI_OK) return;
  for (const id of ids) await m?.detach(id).catch(() => {});
  for (const n of networks) await m?.removeNetwork(n).catch(() => {});
  await m?.close();
  upstream?.close();
  for (const b of bridges) await pexec("ip", ["link", "delete", b]).catch(() => {});
  const nsDir = path.join(root, "netns");
  if (existsSync(nsDir)) for (const f of await fs.readdir(nsDir)) await pexec("umount", ["-l", path.join(nsDir, f)]).catch(() => {});
  await deleteRulesMatching(RUN, [DEF, NET1, NET2]);
  await removeSharedChainsCreatedSince(chainsBefore).catch(() => {});
  await fs.rm(root, { recursive: true, force: true });
});

describe("embedded DNS of user networks", { skip: CNI_OK ? false : "needs root and containernetworking-plugins in /usr/lib/cni" }, () => {
  test("names, aliases and link aliases per network, forwarding, restore after a restart, a held port", async () => {
    const n1 = await m!.createNetwork({ name: `d1-${RUN}`, subnet: `${NET1}.0/24` });
    const n2 = await m!.createNetwork({ name: `d2-${RUN}`, subnet: `${NET2}.0/24` });
    for (const n of [n1, n2]) {
      networks.add(n.name);
      bridges.add(`br-${n.id.slice(0, 12)}`);
    }
    const a = await attach(`a-${RUN}`, [{ network: n1.name, aliases: ["web"] }]);
    const b = await attach(`b-${RUN}`, [{ network: n1.name, links: [`a-${RUN}:al`] }]);
    const c = await attach(`c-${RUN}`, [{ network: n2.name }]);
    const ipA = a.settings.networks[n1.name]!.ipAddress;

    // The container's resolver is its network's gateway, as dockerd's is 127.0.0.11.
    const resolv = await fs.readFile(a.files.resolvConf, "utf8");
    assert.equal(resolv, `nameserver ${NET1}.1\noptions ndots:0\n`);

    const byName = await nslookup(b, `a-${RUN}`);
    assert.equal(addressIn(byName.out), ipA, byName.out);
    assert.equal(addressIn((await nslookup(b, "web")).out), ipA);
    assert.equal(addressIn((await nslookup(b, "al")).out), ipA, "b's link alias");
    // The link alias is b's only; a name of another network does not resolve.
    const notOwn = await nslookup(a, "al");
    assert.equal(addressIn(notOwn.out), undefined, notOwn.out);
    assert.match(notOwn.out, /NXDOMAIN/);
    const otherNet = await nslookup(c, `a-${RUN}`);
    assert.equal(addressIn(otherNet.out), undefined, otherNet.out);
    assert.match(otherNet.out, /NXDOMAIN/);
    // Other names go upstream.
    assert.equal(addressIn((await nslookup(a, "external.test")).out), "192.0.2.7");

    // Restart: the servers stop with the manager and come back at reconcile.
    await m!.close();
    m = undefined;
    const probe = dgram.createSocket("udp4");
    await new Promise<void>((res, rej) => probe.once("error", rej).bind(53, `${NET1}.1`, res));
    await new Promise<void>((res) => probe.close(res));
    m = await open();
    await m.reconcile(ids);
    assert.equal(addressIn((await nslookup(b, "web")).out), ipA, "after the restart");

    // Port 53 of the gateway held by someone else: a warning, the host's resolvers, no failure.
    await m.close();
    m = undefined;
    const hold = dgram.createSocket("udp4");
    await new Promise<void>((res) => hold.bind(53, `${NET1}.1`, res));
    try {
      m = await open();
      await m.reconcile(ids);
      assert.ok(warnings.some((w) => w.includes(`cannot listen on ${NET1}.1:53`)), warnings.join("\n"));
      const d = await attach(`d-${RUN}`, [{ network: n1.name }]);
      // The host file's only nameserver is a loopback one, which a container cannot reach.
      assert.equal(await fs.readFile(d.files.resolvConf, "utf8"), "");
      await m.detach(d.id);
    } finally {
      await new Promise<void>((res) => hold.close(res));
    }
  });
});
