// The API over TCP: mutual TLS with --tlsverify (the docker CLI's --tlsverify and dockerode with
// certificates), and plain TCP refused on a non-loopback address unless --insecure-tcp.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { berthdCommand, startBerthd, type Berthd } from "../helpers/berthd.js";
import { DOCKER } from "../helpers/docker-cli.js";

const pexec = promisify(execFile);
const repo = new URL("../..", import.meta.url).pathname;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A CA, a server certificate for 127.0.0.1 and two client certificates: one signed by the CA, one self-signed. */
async function makeCerts(dir: string): Promise<void> {
  const ssl = (...args: string[]) => pexec("openssl", args, { cwd: dir });
  await ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=berth test CA", "-keyout", "ca-key.pem", "-out", "ca.pem");
  await fs.writeFile(path.join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  await fs.writeFile(path.join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const [name, ext] of [["server", "server.ext"], ["client", "client.ext"]] as const) {
    await ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${name}`, "-keyout", `${name}-key.pem`, "-out", `${name}.csr`);
    await ssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", `${name}-cert.pem`);
  }
  await ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=stranger", "-keyout", "stranger-key.pem", "-out", "stranger-cert.pem");
  // The docker CLI's layout for --tlsverify with DOCKER_CERT_PATH.
  await fs.mkdir(path.join(dir, "client"));
  await fs.copyFile(path.join(dir, "ca.pem"), path.join(dir, "client", "ca.pem"));
  await fs.copyFile(path.join(dir, "client-cert.pem"), path.join(dir, "client", "cert.pem"));
  await fs.copyFile(path.join(dir, "client-key.pem"), path.join(dir, "client", "key.pem"));
}

function docker(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(DOCKER, args, { env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    p.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    p.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe("TCP with TLS", () => {
  let b: Berthd | undefined;
  let dir: string;
  let port: number;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-tls-"));
    await makeCerts(dir);
    port = await freePort();
    b = await startBerthd({
      label: "tls",
      args: ["-H", `tcp://127.0.0.1:${port}`, "--tlsverify", "--tlscacert", path.join(dir, "ca.pem"), "--tlscert", path.join(dir, "server-cert.pem"), "--tlskey", path.join(dir, "server-key.pem")],
    });
  });
  after(async () => {
    await b?.destroy();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test("the docker CLI with --tlsverify and a client certificate signed by the CA is served", { skip: !existsSync(DOCKER) }, async () => {
    const r = await docker(["--tlsverify", "-H", `tcp://127.0.0.1:${port}`, "version", "--format", "{{.Server.Os}}"], { DOCKER_CERT_PATH: path.join(dir, "client") });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "linux");
  });

  test("dockerode with the client certificate is served; without one, or with a stranger's, the handshake fails", async () => {
    const read = (f: string) => fs.readFile(path.join(dir, f));
    const ok = new Docker({ host: "127.0.0.1", port, protocol: "https", ca: await read("ca.pem"), cert: await read("client-cert.pem"), key: await read("client-key.pem") });
    assert.equal(String(await ok.ping()), "OK");
    const none = new Docker({ host: "127.0.0.1", port, protocol: "https", ca: await read("ca.pem") });
    await assert.rejects(none.ping(), (e: Error) => /certificate|socket hang up|ECONNRESET|alert/i.test(e.message));
    const stranger = new Docker({ host: "127.0.0.1", port, protocol: "https", ca: await read("ca.pem"), cert: await read("stranger-cert.pem"), key: await read("stranger-key.pem") });
    await assert.rejects(stranger.ping(), (e: Error) => /certificate|socket hang up|ECONNRESET|alert/i.test(e.message));
    // A plain HTTP client gets no answer from a TLS port.
    const plain = new Docker({ host: "127.0.0.1", port, protocol: "http" });
    await assert.rejects(plain.ping());
  });

  test("the unix socket keeps serving beside the TLS listener", async () => {
    assert.equal((await b!.request("GET", "/_ping")).body, "OK");
  });
});

describe("plain TCP", () => {
  test("a non-loopback TCP host without TLS is refused at start, naming the way out", async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-insecure-"));
    try {
      const port = await freePort();
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, [...berthdCommand(), "--root", root, "-H", `tcp://0.0.0.0:${port}`, "--bridge", "none"], { cwd: repo, stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        const t = setTimeout(() => p.kill("SIGKILL"), 30_000);
        p.once("exit", (code) => {
          clearTimeout(t);
          resolve({ code, stderr });
        });
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /refusing to serve tcp:\/\/0\.0\.0\.0:\d+ without TLS/);
      assert.match(r.stderr, /--insecure-tcp/);
      // Refused before it made anything: no containerd was started under the root.
      assert.equal(existsSync(path.join(root, "containerd")), false);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
