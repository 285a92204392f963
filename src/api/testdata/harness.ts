// Starts the API server on a temporary unix socket over the fake backends, and talks to it with
// plain node:http, raw sockets (to see exact bytes) and the real docker CLI.
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createApiServer, type ApiServer } from "../server.js";
import type { Backends } from "../backends.js";
import { fakeBackends, type FakeEngine, type FakeImages } from "./fake-backend.js";
import type { FakeNetworks } from "./fake-networks.js";

export const DOCKER = "/usr/local/bin/docker";
export const hasDocker = fs.existsSync(DOCKER);

export interface Harness {
  socketPath: string;
  server: ApiServer;
  engine: FakeEngine;
  images: FakeImages;
  networks: FakeNetworks;
  dir: string;
  close(): Promise<void>;
}

export async function startHarness(
  o: { maxBodyBytes?: number; shutdownGraceMs?: number; statsIntervalMs?: number; backends?: Partial<Backends> } = {},
): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-api-"));
  const socketPath = path.join(dir, "docker.sock");
  const fakes = fakeBackends();
  const { engine, images, networks } = fakes;
  const { backends: overrides, ...rest } = o;
  const backends = { ...fakes.backends, ...overrides };
  const server = createApiServer({ backends, serverVersion: "0.1.0", statsIntervalMs: o.statsIntervalMs ?? 50, ...rest });
  await server.listen({ socketPath });
  return {
    socketPath,
    server,
    engine,
    images,
    networks,
    dir,
    async close() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  json<T = unknown>(): T;
}

/** One request over a fresh connection (no keep-alive pooling between tests). */
export function request(
  socketPath: string,
  method: string,
  urlPath: string,
  o: { body?: unknown; headers?: Record<string, string>; raw?: Buffer | string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = o.raw !== undefined ? Buffer.from(o.raw) : o.body !== undefined ? Buffer.from(JSON.stringify(o.body)) : undefined;
    const headers: Record<string, string> = { ...(o.body !== undefined ? { "Content-Type": "application/json" } : {}), ...o.headers };
    if (payload) headers["Content-Length"] = String(payload.length);
    const req = http.request({ socketPath, method, path: urlPath, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body,
          json: <T>() => JSON.parse(body.toString()) as T,
        });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

/** Raw bytes: writes `data` on a new connection and collects everything until the server's FIN. */
export function rawExchange(
  socketPath: string,
  data: string | Buffer,
  o: { halfClose?: boolean; onData?: (all: Buffer, sock: net.Socket) => void; timeoutMs?: number } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`raw exchange timed out; got ${JSON.stringify(Buffer.concat(chunks).toString())}`));
    }, o.timeoutMs ?? 5000);
    sock.on("connect", () => {
      sock.write(data);
      if (o.halfClose) sock.end();
    });
    sock.on("data", (c: Buffer) => {
      chunks.push(c);
      o.onData?.(Buffer.concat(chunks), sock);
    });
    sock.on("end", () => {
      clearTimeout(timer);
      sock.end();
      resolve(Buffer.concat(chunks));
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real docker CLI against the socket, with a private config dir. */
export function docker(h: Harness, args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const env = { ...process.env, DOCKER_HOST: `unix://${h.socketPath}`, DOCKER_CONFIG: path.join(h.dir, "cli-config"), DOCKER_CLI_HINTS: "false" };
    if (o.input === undefined) {
      execFile(DOCKER, args, { env, timeout: o.timeoutMs ?? 10_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      });
      return;
    }
    const child = spawn(DOCKER, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 10_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(o.input);
  });
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface UpgradeReply {
  /** Status line and headers, as sent. */
  head: string;
  /** Everything after the blank line, until the server's FIN. */
  payload: Buffer;
}

/**
 * A request with `Connection: Upgrade` + `Upgrade: tcp`, as the docker CLI sends attach and exec
 * start. `stdin` is written after the 101; then the client half-closes (FIN), as the CLI does.
 */
export async function upgradeRequest(
  socketPath: string,
  method: string,
  urlPath: string,
  o: { body?: unknown; stdin?: string; keepOpenMs?: number; afterUpgrade?: () => void } = {},
): Promise<UpgradeReply> {
  const body = o.body === undefined ? "" : JSON.stringify(o.body);
  const head =
    `${method} ${urlPath} HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: Upgrade\r\n` +
    (o.body === undefined ? "Content-Type: text/plain\r\n" : "Content-Type: application/json\r\n") +
    `Upgrade: tcp\r\n\r\n${body}`;
  let sent = false;
  const all = await rawExchange(socketPath, head, {
    onData: (data, sock) => {
      if (sent || !data.includes("\r\n\r\n")) return;
      sent = true;
      if (!data.toString().startsWith("HTTP/1.1 101")) return;
      o.afterUpgrade?.();
      if (o.stdin !== undefined) sock.write(o.stdin);
      if (o.keepOpenMs) setTimeout(() => sock.end(), o.keepOpenMs);
      else sock.end();
    },
  });
  const i = all.indexOf("\r\n\r\n");
  return { head: all.subarray(0, i + 4).toString(), payload: all.subarray(i + 4) };
}
