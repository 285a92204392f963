// testcontainers (node, 11.9) against berthd, unchanged: it probes the daemon (/info, /version,
// the image), creates, starts, waits for the listening port (host side and inside, via exec),
// maps the port, stops and removes. Ryuk (the reaper container) is disabled: berthd's cleanup in
// after() removes whatever is left. busybox is loaded first, so no pull happens (a pull could
// not succeed here: it would fail the test). Traffic goes only to 127.0.0.1 and to this test's
// containers; the bridges, iptables rules and chains the run makes are removed in after().
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { startBerthd, type Berthd } from "../helpers/berthd.js";
import { chainsNow, deleteRulesMatching, removeSharedChainsCreatedSince } from "../helpers/network.js";

const pexec = promisify(execFile);
const CNI_OK = existsSync("/usr/lib/cni/bridge") && process.getuid?.() === 0;
const RUN = randomBytes(3).toString("hex");
const octet = () => 1 + Math.floor(Math.random() * 250);
const DEF = `10.224.${octet()}`;
const NET = `10.225.${octet()}`;
const BRIDGE = `bt${RUN}1`;

let b: Berthd | undefined;
let tmp = "";
let chainsBefore = new Set<string>();
let ipForwardBefore = "";
let tc: typeof import("testcontainers");
let docker: Docker;
const networkIds = new Set<string>();
/** testcontainers' cross-process lock file: removed after the run unless it was there before. */
const TC_LOCK = path.join(os.tmpdir(), "testcontainers-node.lock");
let lockExisted = true;

before(async () => {
  if (!CNI_OK) return;
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-tc-"));
  lockExisted = existsSync(TC_LOCK);
  chainsBefore = await chainsNow();
  ipForwardBefore = (await fs.readFile("/proc/sys/net/ipv4/ip_forward", "utf8")).trim();
  b = await startBerthd({ label: "tc", args: ["--bridge", BRIDGE, "--bip", `${DEF}.1/24`] });
  docker = new Docker({ socketPath: b.socket });
  const tar = path.join(tmp, "busybox.tar");
  await pexec(process.execPath, ["--import", "tsx", "scripts/busybox-image.ts", tar], { cwd: new URL("../..", import.meta.url).pathname });
  const loaded = await docker.loadImage(tar);
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(loaded, (err) => (err ? reject(err) : resolve())));
  // testcontainers reads its configuration when it first builds its client.
  process.env.DOCKER_HOST = b.dockerHost;
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
  process.env.TESTCONTAINERS_HOST_OVERRIDE = "127.0.0.1";
  tc = await import("testcontainers");
});

after(async () => {
  if (!CNI_OK) return;
  if (b) {
    const ns = await b.request("GET", "/networks").catch(() => undefined);
    const cs = await b.request("GET", "/containers/json?all=1").catch(() => undefined);
    for (const c of cs?.status === 200 ? (JSON.parse(cs.body) as { Id: string }[]) : []) await b.request("DELETE", `/containers/${c.Id}?force=1&v=1`).catch(() => {});
    for (const n of ns?.status === 200 ? (JSON.parse(ns.body) as { Id: string; Name: string }[]) : []) {
      if (n.Name === "host" || n.Name === "none") continue;
      networkIds.add(n.Id);
      if (n.Name !== "bridge") await b.request("DELETE", `/networks/${n.Id}`).catch(() => {});
    }
    await b.destroy();
  }
  await pexec("ip", ["link", "delete", BRIDGE]).catch(() => {});
  for (const id of networkIds) await pexec("ip", ["link", "delete", `br-${id.slice(0, 12)}`]).catch(() => {});
  for (const id of networkIds) await deleteRulesMatching(`berth-${id.slice(0, 12)}`, [DEF, NET]);
  await removeSharedChainsCreatedSince(chainsBefore).catch(() => {});
  if (ipForwardBefore === "0") await fs.writeFile("/proc/sys/net/ipv4/ip_forward", "0").catch(() => {});
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  if (!lockExisted) await fs.rm(TC_LOCK, { recursive: true, force: true });
});

const HTTPD = (text: string) => ["sh", "-c", `mkdir -p /www && echo ${text} > /www/index.html && httpd -f -p 8080 -h /www`];

describe("testcontainers", { skip: CNI_OK ? false : "needs root and the CNI plugins" }, () => {
  test("GenericContainer: exposed port, wait for listening ports, mapped port from 127.0.0.1, stop", async () => {
    const image = await docker.getImage("busybox").inspect();
    const c = await new tc.GenericContainer("busybox")
      .withCommand(HTTPD("hello-testcontainers"))
      .withExposedPorts(8080)
      .withWaitStrategy(tc.Wait.forListeningPorts())
      .withStartupTimeout(20_000)
      .start();
    try {
      assert.equal(c.getHost(), "127.0.0.1");
      const port = c.getMappedPort(8080);
      const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
      assert.equal(await r.text(), "hello-testcontainers\n");
      const info = await docker.getContainer(c.getId()).inspect();
      assert.equal(info.Image, image.Id, "the loaded busybox, not a pulled one");
      assert.equal(info.Config.Labels["org.testcontainers"], "true");
    } finally {
      await c.stop();
    }
    await assert.rejects(docker.getContainer(c.getId()).inspect(), /no such container/i, "stop removes it");
  });

  test("network aliases: a container reaches another by its alias on a user network", async () => {
    const name = `tcnet${RUN}`;
    const net = await docker.createNetwork({ Name: name, CheckDuplicate: true, IPAM: { Driver: "default", Config: [{ Subnet: `${NET}.0/24` }] } });
    networkIds.add(net.id);
    // With aliases, testcontainers creates on the default network and connects with the aliases.
    const web = await new tc.GenericContainer("busybox").withCommand(HTTPD("by-alias")).withNetworkMode(name).withNetworkAliases(`web${RUN}`).start();
    const client = await new tc.GenericContainer("busybox").withCommand(["sleep", "300"]).withNetworkMode(name).start();
    try {
      const r = await client.exec(["sh", "-c", `for i in $(seq 50); do wget -q -O - http://web${RUN}:8080/ && exit 0; sleep 0.1; done; exit 1`]);
      assert.equal(r.exitCode, 0, r.output);
      assert.equal(r.stdout, "by-alias\n");
      assert.deepEqual(Object.keys((await docker.getContainer(web.getId()).inspect()).NetworkSettings.Networks).sort(), ["bridge", name].sort());
    } finally {
      await client.stop();
      await web.stop();
    }
    await net.remove();
    networkIds.delete(net.id);
  });

  test("shared memory size, ulimits, privileged mode and IPC mode, as their users write them", async () => {
    const c = await new tc.GenericContainer("busybox")
      .withCommand(["sleep", "300"])
      .withSharedMemorySize(128 * 2 ** 20)
      .withUlimits({ nofile: { soft: 1024, hard: 2048 } })
      .withPrivilegedMode()
      .withIpcMode("host")
      .start();
    try {
      const r = await c.exec(["sh", "-c", "ulimit -n; ulimit -Hn; grep CapEff /proc/self/status; readlink /proc/self/ns/ipc"]);
      assert.equal(r.exitCode, 0, r.output);
      const [soft, hard, capEff, ipc] = r.stdout.trim().split("\n");
      assert.equal(soft, "1024");
      assert.equal(hard, "2048");
      // Privileged: every capability the host grants berthd, of the 38 dockerd 20.10 knows.
      assert.match(capEff ?? "", /^CapEff:\s+0000003f[0-9a-f]{8}$/);
      assert.equal(ipc, await fs.readlink("/proc/self/ns/ipc"));
      // With the host's IPC the host's /dev/shm is bound in, so ShmSize is only recorded.
      assert.equal((await docker.getContainer(c.getId()).inspect()).HostConfig.ShmSize, 128 * 2 ** 20);
    } finally {
      await c.stop();
    }
    const shm = await new tc.GenericContainer("busybox").withCommand(["sleep", "300"]).withSharedMemorySize(32 * 2 ** 20).start();
    try {
      const r = await shm.exec(["sh", "-c", "df -k /dev/shm | tail -n 1"]);
      assert.equal(r.stdout.trim().split(/\s+/)[1], String(32 * 1024));
    } finally {
      await shm.stop();
    }
  });
});
