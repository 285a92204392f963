// Registries for pull/push tests, on 127.0.0.1 only:
// - startRegistry(): Debian's `docker-registry` (distribution 2.8) with its storage in a temp
//   dir and a free port, started and stopped by PID (`apt-get install docker-registry`).
// - startFakeRegistry(): a small registry v2 in Node serving given manifests and blobs, with
//   bearer/basic auth and faults (status codes, a connection closed mid-blob) for the cases a
//   real registry will not produce on demand.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const REGISTRY_BINARY = "/usr/bin/docker-registry";

export interface TestRegistry {
  /** "127.0.0.1:PORT", the registry part of image references. */
  readonly host: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function registryAvailable(): Promise<boolean> {
  try { await fs.access(REGISTRY_BINARY); return true; } catch { return false; }
}

/**
 * A user the registry's htpasswd auth knows (distribution's Basic auth). The hash is bcrypt
 * (cost 4) of the password, made once with Python's crypt module; the registry checks it.
 */
export const HTPASSWD_USER = { username: "berth", password: "s3cret", bcrypt: "$2b$04$VK2sGU4VcA3HJMPapGQBye0gloJpPfIlzptSmTTLIi074rK3EzHg2" };

export interface RegistryTls {
  /** PEM files: the server's certificate (for 127.0.0.1) and key; clientcas makes client certificates mandatory. */
  certificate: string;
  key: string;
  clientcas?: string;
}

export async function startRegistry(o: { htpasswd?: boolean; tls?: RegistryTls } = {}): Promise<TestRegistry> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-registry-"));
  if (o.htpasswd) await fs.writeFile(path.join(dir, "htpasswd"), `${HTPASSWD_USER.username}:${HTPASSWD_USER.bcrypt}\n`);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${dir}/data`,
    "  delete:",
    "    enabled: true",
    ...(o.htpasswd ? ["auth:", "  htpasswd:", "    realm: berth-test", `    path: ${dir}/htpasswd`] : []),
    "http:",
    `  addr: ${host}`,
    ...(o.tls ? [
      "  tls:",
      `    certificate: ${o.tls.certificate}`,
      `    key: ${o.tls.key}`,
      ...(o.tls.clientcas ? ["    clientcas:", `      - ${o.tls.clientcas}`] : []),
    ] : []),
    "",
  ].join("\n");
  await fs.writeFile(path.join(dir, "config.yml"), config);
  const child: ChildProcess = spawn(REGISTRY_BINARY, ["serve", path.join(dir, "config.yml")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    try {
      if (o.tls) {
        // Its certificate is not trusted here: listening is enough.
        await new Promise<void>((resolve, reject) => {
          const c = net.connect(port, "127.0.0.1", () => { c.destroy(); resolve(); });
          c.once("error", reject);
        });
        break;
      }
      const r = await fetch(`http://${host}/v2/`);
      await r.body?.cancel();
      if (r.status === 200 || (o.htpasswd && r.status === 401)) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { child.kill("SIGKILL"); throw new Error(`docker-registry did not come up: ${stderr}`); }
    await sleep(50);
  }
  return {
    host,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) {
        process.kill(child.pid!, "SIGTERM");
        const t = setTimeout(() => { try { process.kill(child.pid!, "SIGKILL"); } catch { /* gone */ } }, 5000);
        await exited;
        clearTimeout(t);
      }
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

export interface FakeManifest {
  mediaType: string;
  bytes: Buffer;
}

export interface FakeRegistryOptions {
  /** Manifests by "repo:reference" (tag or digest); digests are added for tags automatically. */
  manifests: Map<string, FakeManifest>;
  blobs: Map<string, Buffer>;
  auth?: { kind: "bearer" | "basic"; username: string; password: string };
  /** Called first for every request: answer it (return true) to inject a fault. */
  fault?: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => boolean;
}

export interface FakeRegistry {
  readonly host: string;
  /** Every request seen: method, path, Range header, Authorization header. */
  readonly requests: { method: string; url: string; range: string | undefined; authorization: string | undefined }[];
  close(): Promise<void>;
}

const digestOf = (b: Buffer) => "sha256:" + createHash("sha256").update(b).digest("hex");

export async function startFakeRegistry(o: FakeRegistryOptions): Promise<FakeRegistry> {
  const manifests = new Map(o.manifests);
  for (const [k, m] of o.manifests) manifests.set(`${k.slice(0, k.lastIndexOf(":"))}:${digestOf(m.bytes)}`.replace(/:sha256:/, "@sha256:"), m);
  const requests: FakeRegistry["requests"] = [];
  const token = "tok-" + Math.random().toString(36).slice(2);
  const basic = o.auth ? "Basic " + Buffer.from(`${o.auth.username}:${o.auth.password}`).toString("base64") : "";
  let host = "";
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, `http://${host}`);
    requests.push({ method: req.method!, url: req.url!, range: req.headers.range, authorization: req.headers.authorization });
    if (o.fault?.(req, res, requests.length)) return;
    if (url.pathname === "/token") {
      if (req.headers.authorization !== basic) { res.writeHead(401).end(); return; }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, scope: url.searchParams.get("scope") }));
      return;
    }
    if (o.auth) {
      const ok = o.auth.kind === "bearer" ? req.headers.authorization === `Bearer ${token}` : req.headers.authorization === basic;
      if (!ok) {
        const challenge = o.auth.kind === "bearer"
          ? `Bearer realm="http://${host}/token",service="fake-registry",scope="repository:${url.pathname.split("/").slice(2, -2).join("/")}:pull"`
          : `Basic realm="fake-registry"`;
        res.writeHead(401, { "www-authenticate": challenge, "content-type": "application/json" })
          .end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
        return;
      }
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) { res.writeHead(url.pathname === "/v2/" ? 200 : 404).end(); return; }
    const [, repo, kind, ref] = m;
    if (kind === "manifests") {
      const man = manifests.get(ref!.startsWith("sha256:") ? `${repo}@${ref}` : `${repo}:${ref}`);
      if (!man) { res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] })); return; }
      res.writeHead(200, { "content-type": man.mediaType, "docker-content-digest": digestOf(man.bytes), "content-length": man.bytes.length }).end(req.method === "HEAD" ? undefined : man.bytes);
      return;
    }
    const blob = o.blobs.get(ref!);
    if (!blob) { res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown" }] })); return; }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range) {
      const start = Number(range[1]);
      res.writeHead(206, { "content-length": blob.length - start, "content-range": `bytes ${start}-${blob.length - 1}/${blob.length}` }).end(blob.subarray(start));
      return;
    }
    res.writeHead(200, { "content-length": blob.length }).end(req.method === "HEAD" ? undefined : blob);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    host,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends the first `n` bytes of a blob with its full Content-Length, then drops the connection. */
export function closeMidBlob(res: http.ServerResponse, blob: Buffer, n: number): void {
  res.writeHead(200, { "content-length": blob.length });
  res.write(blob.subarray(0, n), () => setTimeout(() => res.socket?.destroy(), 20));
}

export interface TestProxy {
  /** "http://127.0.0.1:PORT" for HTTP(S)_PROXY. */
  readonly url: string;
  /** Each request through it: CONNECT host:port, or the absolute URL of a forwarded request. */
  readonly seen: string[];
  close(): Promise<void>;
}

/** An HTTP proxy on 127.0.0.1: CONNECT tunnels and forwarded plain requests, each recorded. */
export async function startProxy(): Promise<TestProxy> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    seen.push(req.url!);
    const u = new URL(req.url!);
    const up = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    const [h, p] = [req.url!.slice(0, req.url!.lastIndexOf(":")), req.url!.slice(req.url!.lastIndexOf(":") + 1)];
    const up = net.connect(Number(p), h.replace(/^\[|\]$/g, ""), () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    for (const s of [up, client]) { sockets.add(s); s.once("close", () => sockets.delete(s)); }
    up.on("error", () => client.destroy());
    client.on("error", () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    seen,
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A private CA and certificates made with openssl: a server certificate for 127.0.0.1, a client one. */
export async function makeTestPki(dir: string): Promise<{ caCert: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string }> {
  const { execFile } = await import("node:child_process");
  const run = (args: string[]) => new Promise<void>((resolve, reject) => execFile("openssl", args, { cwd: dir }, (e, _o, err) => (e ? reject(new Error(`openssl ${args[0]}: ${err}`)) : resolve())));
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  await fs.writeFile(path.join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  await run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=berth test CA", "-keyout", "ca.key", "-out", "ca.crt"]);
  for (const who of ["server", "client"]) {
    await run(["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=berth test ${who}`, "-keyout", `${who}.key`, "-out", `${who}.csr`]);
    await run(["x509", "-req", "-in", `${who}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", `${who}.ext`, "-out", `${who}.crt`]);
  }
  const p = (f: string) => path.join(dir, f);
  return { caCert: p("ca.crt"), serverCert: p("server.crt"), serverKey: p("server.key"), clientCert: p("client.crt"), clientKey: p("client.key") };
}
