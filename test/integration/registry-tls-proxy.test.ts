// Registries as users meet them: Debian's docker-registry behind TLS with a private CA (made here
// with openssl) that also asks for a client certificate, reached through certs.d; insecure-
// registries; an HTTP proxy on 127.0.0.1 (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) that counts what
// went through it; Docker Hub mirrors, a dead one first.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { Readable } from "node:stream";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { makeTestPki, startFakeRegistry, startProxy, startRegistry, type TestRegistry } from "../helpers/registry.js";
import { isBerthError } from "../../src/containerd/index.js";
import {
  buildBusyboxImage, busyboxLayer, createImageService, MediaType, RegistryHosts, sha256Digest,
  type ImageService, type RegistryHostsOptions,
} from "../../src/images/index.js";

let ctd: TestContainerd;
let dir: string;
let registry: TestRegistry;
let pki: Awaited<ReturnType<typeof makeTestPki>>;
const opened: RegistryHosts[] = [];

before(async () => {
  ctd = await startTestContainerd("regtls");
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-regtls-"));
  pki = await makeTestPki(path.join(dir, "pki"));
  registry = await startRegistry({ tls: { certificate: pki.serverCert, key: pki.serverKey, clientcas: pki.caCert } });
});
after(async () => {
  await Promise.all(opened.map((h) => h.close()));
  await registry?.stop();
  const left = await ctd.leftovers();
  await ctd.stop();
  await fs.rm(dir, { recursive: true, force: true });
  assert.deepEqual(left.leases, []);
});

/** certs.d/<registry host>/ with the named files (ca.crt, client.cert, client.key). */
async function certsDir(name: string, files: { ca?: boolean; client?: boolean }): Promise<string> {
  const d = path.join(dir, name);
  const h = path.join(d, registry.host);
  await fs.mkdir(h, { recursive: true });
  if (files.ca) await fs.copyFile(pki.caCert, path.join(h, "ca.crt"));
  if (files.client) {
    await fs.copyFile(pki.clientCert, path.join(h, "client.cert"));
    await fs.copyFile(pki.clientKey, path.join(h, "client.key"));
  }
  return d;
}

function service(o: RegistryHostsOptions): ImageService {
  const hosts = new RegistryHosts({ systemCaFiles: [], env: {}, ...o });
  opened.push(hosts);
  return createImageService({ containerd: ctd.client, registry: { hosts } });
}

async function removeAll(images: ImageService): Promise<void> {
  for (const i of await images.list()) await images.remove(i.id, { force: true });
}

const ref = () => `${registry.host}/test/busybox:1`;
let busyboxId = "";

describe("a registry behind TLS with a private CA and client certificates", () => {
  test("certs.d's CA and client certificate: push, then pull into an empty store", async () => {
    const images = service({ noDefaultInsecure: true, certsDirs: [await certsDir("full", { ca: true, client: true })] });
    const loaded = await images.load(Readable.from([await buildBusyboxImage()]));
    busyboxId = loaded.images[0]!.id;
    await images.tag("busybox", ref());
    await images.push(ref());
    await removeAll(images);
    const res = await images.pull(ref());
    assert.equal(res.id, busyboxId);
    assert.deepEqual((await images.list()).map((i) => i.id), [busyboxId]);
    await removeAll(images);
  });

  test("without the CA the certificate is refused; with the CA but no client certificate the registry refuses", async () => {
    const none = service({ noDefaultInsecure: true, certsDirs: [path.join(dir, "absent")] });
    await assert.rejects(none.pull(ref()), (e: unknown) => {
      assert.ok(isBerthError(e, "unavailable"), String(e));
      assert.match((e as Error).message, /certificate|self.signed|UNABLE_TO_VERIFY|SELF_SIGNED/i);
      return true;
    });
    const caOnly = service({ noDefaultInsecure: true, certsDirs: [await certsDir("ca-only", { ca: true })] });
    await assert.rejects(caOnly.pull(ref()), (e: unknown) => isBerthError(e, "unavailable"));
    assert.deepEqual(await none.list(), []);
  });

  test("docker login reaches the registry with the same TLS settings as pulls (certs.d's CA and client certificate)", async () => {
    const full = service({ noDefaultInsecure: true, certsDirs: [await certsDir("login", { ca: true, client: true })] });
    const ok = await full.login({ serverAddress: `https://${registry.host}`, username: "", password: "" });
    assert.equal(ok.status, "Login Succeeded");
    const none = service({ noDefaultInsecure: true, certsDirs: [path.join(dir, "absent")] });
    await assert.rejects(none.login({ serverAddress: `https://${registry.host}`, username: "", password: "" }), /certificate|self.signed|UNABLE_TO_VERIFY|SELF_SIGNED/i);
  });

  test("insecure-registries: the host's certificate is not verified (the client certificate is still sent)", async () => {
    const images = service({ noDefaultInsecure: true, insecure: () => [registry.host], certsDirs: [await certsDir("client-only", { client: true })] });
    assert.equal((await images.pull(ref())).id, busyboxId);
    await removeAll(images);
  });
});

describe("an HTTP proxy from the environment", () => {
  test("HTTPS_PROXY: the pull tunnels through the proxy (CONNECT to the registry); NO_PROXY bypasses it", async () => {
    const proxy = await startProxy();
    try {
      const certs = await certsDir("proxied", { ca: true, client: true });
      const images = service({ noDefaultInsecure: true, certsDirs: [certs], env: { HTTPS_PROXY: proxy.url } });
      assert.equal((await images.pull(ref())).id, busyboxId);
      assert.ok(proxy.seen.length > 0 && proxy.seen.every((s) => s === `CONNECT ${registry.host}`), JSON.stringify(proxy.seen));
      await removeAll(images);
      const seen = proxy.seen.length;
      const bypass = service({ noDefaultInsecure: true, certsDirs: [certs], env: { HTTPS_PROXY: proxy.url, NO_PROXY: "localhost,127.0.0.1" } });
      assert.equal((await bypass.pull(ref())).id, busyboxId);
      assert.equal(proxy.seen.length, seen, "NO_PROXY names the host: no request through the proxy");
      await removeAll(images);
    } finally {
      await proxy.close();
    }
  });

  test("HTTP_PROXY: a plain-HTTP registry is reached through the proxy too (undici tunnels with CONNECT)", async () => {
    const p = await fixture();
    const fake = await startFakeRegistry({ manifests: new Map([["x/bb:1", { mediaType: MediaType.dockerManifest, bytes: p.manifest }]]), blobs: p.blobs });
    const proxy = await startProxy();
    try {
      const images = service({ env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url } });
      await images.pull(`${fake.host}/x/bb:1`);
      assert.ok(fake.requests.some((r) => r.url === "/v2/x/bb/manifests/1"));
      assert.ok(proxy.seen.length > 0 && proxy.seen.every((s) => s === `CONNECT ${fake.host}`), JSON.stringify(proxy.seen));
      await removeAll(images);
      // Without the proxy variables: nothing goes through it.
      const seen = proxy.seen.length;
      const direct = service({});
      await direct.pull(`${fake.host}/x/bb:1`);
      assert.equal(proxy.seen.length, seen);
      await removeAll(images);
    } finally {
      await proxy.close();
      await fake.close();
    }
  });
});

describe("registry-mirrors", () => {
  test("Docker Hub images come from the first mirror that answers (a dead one is skipped)", async () => {
    const p = await fixture();
    const fake = await startFakeRegistry({ manifests: new Map([["library/busybox:latest", { mediaType: MediaType.dockerManifest, bytes: p.manifest }]]), blobs: p.blobs });
    try {
      const images = service({ mirrors: () => ["http://127.0.0.1:1", `http://${fake.host}`] });
      const res = await images.pull("busybox");
      assert.equal(res.name, "docker.io/library/busybox:latest");
      assert.ok(fake.requests.some((r) => r.url === "/v2/library/busybox/manifests/latest"), JSON.stringify(fake.requests));
      assert.ok(fake.requests.some((r) => r.url.startsWith("/v2/library/busybox/blobs/")));
      await removeAll(images);
    } finally {
      await fake.close();
    }
  });
});

async function fixture() {
  const layer = await busyboxLayer();
  const blob = gzipSync(layer);
  const config = Buffer.from(JSON.stringify({
    architecture: "amd64", os: "linux", created: "2024-01-01T00:00:00Z",
    config: { Env: ["PATH=/bin"], Cmd: ["sh"] }, rootfs: { type: "layers", diff_ids: [sha256Digest(layer)] },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.dockerManifest,
    config: { mediaType: MediaType.dockerConfig, digest: sha256Digest(config), size: config.length },
    layers: [{ mediaType: MediaType.dockerLayerGzip, digest: sha256Digest(blob), size: blob.length }],
  }));
  return { manifest, blobs: new Map([[sha256Digest(config), config], [sha256Digest(blob), blob]]) };
}
