import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { RegistryHosts, hostnameOf, isInsecureHost, parseInsecureRegistries, readCertsDir } from "./registry-hosts.js";

const resolve = (table: Record<string, string[]>) => async (h: string) => table[h] ?? [];

test("insecure-registries: CIDRs and host[:port], checked as dockerd checks them", () => {
  const p = parseInsecureRegistries(["10.0.0.0/8", "reg.local:5000", "fd00::/8"]);
  assert.deepEqual([...p.hosts], ["reg.local:5000"]);
  assert.equal(p.cidrs.check("10.1.2.3", "ipv4"), true);
  assert.equal(p.cidrs.check("11.1.2.3", "ipv4"), false);
  assert.equal(p.cidrs.check("fd00::1", "ipv6"), true);
  assert.throws(() => parseInsecureRegistries(["http://reg.local"]), /insecure registry http:\/\/reg.local should not contain '::\/\/'|should not contain '/);
  assert.throws(() => parseInsecureRegistries(["10.0.0.0/40"]), /invalid prefix length/);
});

test("a host is insecure when named with its port, or when an address of it is in a CIDR", async () => {
  const r = resolve({ "reg.corp": ["10.2.3.4"], "pub.example": ["93.184.216.34"] });
  assert.equal(await isInsecureHost("reg.local:5000", ["reg.local:5000"], r), true);
  assert.equal(await isInsecureHost("reg.local:5001", ["reg.local:5000"], r), false, "another port is another registry");
  assert.equal(await isInsecureHost("reg.corp:443", ["10.0.0.0/8"], r), true);
  assert.equal(await isInsecureHost("pub.example", ["10.0.0.0/8"], r), false);
  assert.equal(await isInsecureHost("127.0.0.1:5000", ["127.0.0.0/8"], r), true);
  assert.equal(await isInsecureHost("[::1]:5000", ["::1/128"], r), true);
  assert.equal(hostnameOf("[::1]:5000"), "::1");
  assert.equal(hostnameOf("example.com:5000"), "example.com");
});

test("endpoints: Docker Hub through its mirrors first; an insecure host over HTTPS then HTTP; a secure one HTTPS only", async () => {
  let mirrors = ["https://mirror.example.com/", "http://10.0.0.5:5000"];
  const hosts = new RegistryHosts({ mirrors: () => mirrors, insecure: () => ["10.0.0.0/8"], resolve: resolve({}), certsDirs: [], systemCaFiles: [] });
  try {
    const hub = await hosts.endpoints("docker.io");
    assert.deepEqual(hub.map((e) => [e.url, e.mirror]), [["https://mirror.example.com", true], ["http://10.0.0.5:5000", true], ["https://registry-1.docker.io", false]]);
    mirrors = [];
    assert.deepEqual((await hosts.endpoints("docker.io")).map((e) => e.url), ["https://registry-1.docker.io"], "a reload's mirrors apply at the next pull");
    assert.deepEqual((await hosts.endpoints("10.1.1.1:5000")).map((e) => e.url), ["https://10.1.1.1:5000", "http://10.1.1.1:5000"]);
    assert.deepEqual((await hosts.endpoints("127.0.0.1:5000")).map((e) => e.url), ["https://127.0.0.1:5000", "http://127.0.0.1:5000"], "loopback is always insecure");
    assert.deepEqual((await hosts.endpoints("ghcr.io")).map((e) => e.url), ["https://ghcr.io"]);
  } finally {
    await hosts.close();
  }
  const strict = new RegistryHosts({ noDefaultInsecure: true, certsDirs: [], systemCaFiles: [] });
  assert.deepEqual((await strict.endpoints("127.0.0.1:5000")).map((e) => e.url), ["https://127.0.0.1:5000"]);
  await strict.close();
});

test("certs.d: *.crt are CAs, a *.cert needs its *.key (and a key its cert), both directories read", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "berth-certsd-"));
  try {
    const a = path.join(dir, "berth", "reg:5000");
    const b = path.join(dir, "docker", "reg:5000");
    await mkdir(a, { recursive: true });
    await mkdir(b, { recursive: true });
    await writeFile(path.join(a, "ca.crt"), "CA-A");
    await writeFile(path.join(b, "ca.crt"), "CA-B");
    await writeFile(path.join(b, "client.cert"), "CERT");
    await writeFile(path.join(b, "client.key"), "KEY");
    const t = await readCertsDir([path.join(dir, "berth"), path.join(dir, "docker")], "reg:5000");
    assert.deepEqual(t.ca.map(String), ["CA-A", "CA-B"]);
    assert.equal(String(t.cert), "CERT");
    assert.equal(String(t.key), "KEY");
    assert.deepEqual(await readCertsDir([path.join(dir, "berth")], "other:1"), { ca: [] });
    await writeFile(path.join(a, "lonely.cert"), "X");
    await assert.rejects(readCertsDir([path.join(dir, "berth")], "reg:5000"), /missing key lonely.key/);
    await rm(path.join(a, "lonely.cert"));
    await writeFile(path.join(a, "orphan.key"), "X");
    await assert.rejects(readCertsDir([path.join(dir, "berth")], "reg:5000"), /missing client certificate orphan.cert/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
