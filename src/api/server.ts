// The Engine API server: node:http + find-my-way, one router per resource over narrow backends.
// Version handling, error → status mapping and stream framing live in versions.ts, errors.ts and
// stdcopy.ts; this file owns the connection: dispatch, body limits, the hijack for attach/exec
// (node's 'upgrade' event), the unix socket's permissions and a graceful close.
import { readFileSync } from "node:fs";
import fs from "node:fs/promises";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import net, { type AddressInfo } from "node:net";
import tls from "node:tls";
import { Readable, type Duplex } from "node:stream";
import FindMyWay from "find-my-way";
import type { Logger } from "pino";
import { errInvalidArgument } from "../base/errors.js";
import type { Backends } from "./backends.js";
import { containerRoutes } from "./containers-router.js";
import type { Hijacked, HijackOptions, Method, RequestContext, RouteDef } from "./context.js";
import { bodyTooLarge, errorBody, errorMessage, httpStatusOf, pageNotFound } from "./errors.js";
import { execRoutes } from "./exec-router.js";
import { checkJsonContentType, parseJsonBody } from "./http-io.js";
import { imageRoutes } from "./images-router.js";
import { buildRoutes } from "./build-router.js";
import { networkRoutes } from "./networks-router.js";
import { pruneRoutes } from "./prune-router.js";
import { registryRoutes } from "./registry-router.js";
import { swarmRoutes } from "./swarm-router.js";
import { systemRoutes } from "./system-router.js";
import { MAX_API_VERSION, negotiatedVersion, splitVersionedPath } from "./versions.js";
import { volumeRoutes } from "./volumes-router.js";

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

export interface ApiServerOptions {
  backends: Backends;
  logger?: Logger;
  /** Cap for JSON request bodies (default 10 MiB). Streamed bodies (image load, archive upload) are not capped. */
  maxBodyBytes?: number;
  /** Version in the Server header and /version; default berth's package version. */
  serverVersion?: string;
  /** How long close() leaves hijacked streams (attach, exec) to finish before destroying them. */
  shutdownGraceMs?: number;
  /** Interval of streamed stats (default 1 s, as dockerd). */
  statsIntervalMs?: number;
}

export type ListenOptions =
  | { socketPath: string; /** Default 0o660. */ mode?: number; /** Group name or gid to own the socket. */ group?: string | number }
  | { host: string; port: number; tls?: TlsOptions }
  /** A listening socket inherited from systemd socket activation (`-H fd://`). */
  | { fd: number };

/** PEM contents. With `ca`, a client must present a certificate it signed (mutual TLS). */
export interface TlsOptions {
  cert: Buffer | string;
  key: Buffer | string;
  ca?: Buffer | string;
}

export interface ApiServer {
  /** Resolves once the server accepts connections (a unix socket already has its mode and group). */
  listen(o: ListenOptions): Promise<{ socketPath?: string; address?: AddressInfo }>;
  /**
   * Stops accepting, ends idle keep-alive connections and open non-hijacked streams (events,
   * logs -f, wait), leaves hijacked streams `shutdownGraceMs` to finish, then destroys what is left.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

let packageVersion: string | undefined;
function berthVersion(): string {
  if (packageVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
      packageVersion = pkg.version ?? "0.0.0";
    } catch {
      packageVersion = "0.0.0";
    }
  }
  return packageVersion;
}

interface Upgraded {
  socket: Duplex;
  head: Buffer;
}

export function createApiServer(o: ApiServerOptions): ApiServer {
  const log = o.logger;
  const maxBodyBytes = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const serverVersion = o.serverVersion ?? berthVersion();
  const graceMs = o.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  // dockerd's version middleware headers, on every response (Go canonicalises them to this case).
  const commonHeaders: [string, string][] = [
    ["Api-Version", MAX_API_VERSION],
    ["Docker-Experimental", "false"],
    ["Ostype", "linux"],
    ["Server", `Berth/${serverVersion} (linux)`],
  ];

  const router = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: 1024 });
  const routes: RouteDef[] = [
    ...systemRoutes(o.backends.system, { serverVersion }),
    ...containerRoutes(o.backends.containers, {
      images: o.backends.images,
      networks: o.backends.networks,
      statsIntervalMs: o.statsIntervalMs ?? 1000,
    }),
    ...execRoutes(o.backends.exec),
    ...imageRoutes(o.backends.images),
    ...(o.backends.build ? buildRoutes(o.backends.build) : []),
    ...networkRoutes(o.backends.networks),
    ...volumeRoutes(o.backends.volumes),
    ...pruneRoutes({ containers: o.backends.containers, images: o.backends.images, ...(o.backends.build ? { build: o.backends.build } : {}) }),
    ...registryRoutes(o.backends.images),
    ...swarmRoutes(),
  ];
  const noop = () => {};
  for (const r of routes) router.on(r.method, r.path, noop, r);

  const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 5_000 });
  let closing = false;
  const closingController = new AbortController();
  const hijackedSockets = new Set<Duplex>();
  // TLS listeners hand their decrypted sockets to the one HTTP server, so every connection is
  // served, tracked and closed the same way whatever it came in on.
  const tlsServers: tls.Server[] = [];
  const tlsSockets = new Set<tls.TLSSocket>();

  server.on("request", (req, res) => void dispatch(req, res, undefined));
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands the socket over without an error handler; a reset must not crash berthd.
    socket.on("error", () => {});
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as net.Socket);
    res.shouldKeepAlive = false;
    res.once("finish", () => socket.end());
    void dispatch(req, res, { socket, head });
  });
  server.on("clientError", (err, socket) => {
    if (!socket.writable) return socket.destroy();
    socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });

  async function dispatch(req: IncomingMessage, res: ServerResponse, up: Upgraded | undefined): Promise<void> {
    // Per-request debug lines cost a timestamp and an object each: only when they are written
    // (the level can change at run time: SIGHUP).
    const debug = log?.isLevelEnabled("debug") ?? false;
    const started = debug ? process.hrtime.bigint() : 0n;
    const url = req.url ?? "/";
    const qi = url.indexOf("?");
    const rawPath = qi < 0 ? url : url.slice(0, qi);
    const query = new URLSearchParams(qi < 0 ? "" : url.slice(qi + 1));
    for (const [k, v] of commonHeaders) res.setHeader(k, v);
    if (closing) res.shouldKeepAlive = false;

    // The request's signal is made when a handler first asks for it: most (ping, inspect, exec
    // create and inspect) never do, and two AbortControllers and an AbortSignal.any per
    // request are measurable at this rate.
    let client: AbortController | undefined;
    let signal: AbortSignal | undefined;
    let gone = false;
    const clientSignal = (): AbortSignal => {
      client ??= new AbortController();
      if (gone && !client.signal.aborted) client.abort(new Error("client disconnected"));
      return client.signal;
    };
    res.once("close", () => {
      if (!res.writableFinished) {
        gone = true;
        client?.abort(new Error("client disconnected"));
      }
      if (closing) server.closeIdleConnections();
      if (debug) log!.debug({ method: req.method, url, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }, "api request");
    });

    let hijacked: Hijacked | undefined;
    try {
      const split = splitVersionedPath(rawPath);
      const version = negotiatedVersion(split.version);
      const found = router.find((req.method ?? "GET") as Method, split.path);
      if (!found) throw pageNotFound();
      const route = found.store as RouteDef;
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(found.params)) if (v !== undefined) params[k] = v;
      const body = makeBodyReaders(req, res, up, maxBodyBytes);
      const ctx: RequestContext = {
        req,
        res,
        path: split.path,
        params,
        query,
        version,
        get signal() {
          return (signal ??= AbortSignal.any([clientSignal(), closingController.signal]));
        },
        upgrade: up !== undefined,
        log,
        bodyStream: body.stream,
        readBody: body.read,
        readJson: async () => {
          const buf = await body.read();
          checkJsonContentType(req.headers["content-type"], buf.length > 0);
          return parseJsonBody(buf);
        },
        hijack: (h) => {
          if (!route.hijack) throw new Error(`route ${route.path} does not hijack`);
          if (hijacked) throw new Error("connection already hijacked");
          hijacked = up ? hijackUpgraded(up, res, h) : hijackResponse(req, res, clientSignal(), h);
          return hijacked;
        },
      };
      await route.handler(ctx);
      if (!hijacked && !res.headersSent) {
        res.statusCode = 200;
        res.setHeader("Content-Length", 0);
        res.end();
      }
    } catch (err) {
      respondError(req, res, err, hijacked);
    }
  }

  function respondError(req: IncomingMessage, res: ServerResponse, err: unknown, hijacked: Hijacked | undefined): void {
    const status = httpStatusOf(err);
    if (status >= 500) log?.error({ err, method: req.method, url: req.url }, "api handler failed");
    else log?.debug({ method: req.method, url: req.url, status, message: errorMessage(err) }, "api request refused");
    if (hijacked) {
      // Handlers report in-band; anything that escapes one just ends the connection.
      hijacked.end();
      return;
    }
    if (res.headersSent) {
      if (!res.writableEnded) res.destroy();
      return;
    }
    const data = Buffer.from(errorBody(err));
    res.statusCode = status;
    res.setHeader("Content-Type", "application/json");
    res.setHeader("Content-Length", data.length);
    // An unread request body (a refused upload) is not worth reading: close after answering.
    if (!req.complete) res.shouldKeepAlive = false;
    res.end(data);
    if (!req.complete) req.resume();
  }

  function hijackUpgraded(up: Upgraded, res: ServerResponse, h: HijackOptions): Hijacked {
    const { socket } = up;
    res.detachSocket(socket as net.Socket);
    hijackedSockets.add(socket);
    const gone = new AbortController();
    socket.once("close", () => {
      hijackedSockets.delete(socket);
      gone.abort(new Error("client disconnected"));
    });
    const lines = ["HTTP/1.1 101 UPGRADED", `Content-Type: ${h.contentType}`, "Connection: Upgrade", "Upgrade: tcp"];
    if (h.withVersionHeaders) for (const [k, v] of commonHeaders) lines.push(`${k}: ${v}`);
    socket.write(lines.join("\r\n") + "\r\n\r\n");
    return {
      input: socket,
      upgraded: true,
      signal: gone.signal,
      write(chunk) {
        if (!socket.destroyed && !socket.writableEnded) socket.write(chunk);
      },
      end() {
        if (socket.destroyed || socket.writableEnded) return;
        socket.end();
        // The client closes its side when it reads our FIN; one that never does is dropped.
        // The timer goes with the socket: left to run, it would hold every closed connection
        // (and its buffers) for 30 s, into V8's old generation.
        const drop = setTimeout(() => socket.destroy(), 30_000).unref();
        socket.once("close", () => clearTimeout(drop));
      },
    };
  }

  function hijackResponse(req: IncomingMessage, res: ServerResponse, clientGone: AbortSignal, h: HijackOptions): Hijacked {
    // Not upgraded: dockerd answers 200 with the raw stream as the body.
    res.statusCode = 200;
    res.setHeader("Content-Type", h.contentType);
    res.flushHeaders();
    return {
      input: req,
      upgraded: false,
      signal: clientGone,
      write(chunk) {
        if (!res.writableEnded && !res.destroyed) res.write(chunk);
      },
      end() {
        if (!res.writableEnded) res.end();
      },
    };
  }

  let closed: Promise<void> | undefined;
  let socketPath: string | undefined;
  const fdServers: net.Server[] = [];

  return {
    async listen(l) {
      if ("fd" in l) {
        // One net.Server per inherited socket handing its connections to the HTTP server: a
        // server listens once, and systemd may pass several sockets.
        const fdServer = net.createServer((socket) => server.emit("connection", socket));
        await new Promise<void>((resolve, reject) => {
          fdServer.once("error", reject);
          fdServer.listen({ fd: l.fd }, () => { fdServer.off("error", reject); resolve(); });
        });
        fdServers.push(fdServer);
        return {};
      }
      if ("socketPath" in l) {
        await refuseLiveDaemon(l.socketPath);
        await listenOn(server, l.socketPath);
        socketPath = l.socketPath;
        try {
          // chmod after bind, before anyone is told the socket exists: independent of the umask.
          await fs.chmod(l.socketPath, l.mode ?? 0o660);
          if (l.group !== undefined) await fs.chown(l.socketPath, -1, await resolveGroup(l.group));
        } catch (e) {
          await new Promise<void>((r) => server.close(() => r()));
          throw e;
        }
        return { socketPath: l.socketPath };
      }
      if (l.tls) {
        const t = tls.createServer({
          cert: l.tls.cert,
          key: l.tls.key,
          minVersion: "TLSv1.2",
          ...(l.tls.ca ? { ca: l.tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
        });
        t.on("secureConnection", (socket) => {
          tlsSockets.add(socket);
          socket.once("close", () => tlsSockets.delete(socket));
          server.emit("connection", socket);
        });
        // A failed handshake (no or a wrong client certificate) ends that connection only.
        t.on("tlsClientError", (_err, socket) => socket.destroy());
        await listenOn(t, { host: l.host, port: l.port });
        tlsServers.push(t);
        return { address: t.address() as AddressInfo };
      }
      await listenOn(server, { host: l.host, port: l.port });
      return { address: server.address() as AddressInfo };
    },
    close() {
      closed ??= (async () => {
        closing = true;
        closingController.abort(new Error("server shutting down"));
        for (const f of fdServers) f.close();
        const done = Promise.all([server, ...tlsServers].map((srv) => new Promise<void>((resolve) => {
          if (!srv.listening) return resolve();
          srv.close(() => resolve());
        })));
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          for (const s of hijackedSockets) s.destroy();
          server.closeAllConnections();
          for (const s of tlsSockets) s.destroy();
        }, graceMs);
        await done;
        clearTimeout(timer);
        if (socketPath) await fs.unlink(socketPath).catch(() => {});
      })();
      return closed;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

/** Body readers for a request: the socket's bytes after the headers when upgraded, else `req`. */
function makeBodyReaders(req: IncomingMessage, res: ServerResponse, up: Upgraded | undefined, limit: number) {
  const declared = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
  let cached: Promise<Buffer> | undefined;
  const read = (): Promise<Buffer> => {
    cached ??= (async () => {
      if (declared !== undefined && declared > limit) throw bodyTooLarge(limit);
      if (up) {
        if (req.headers["transfer-encoding"] !== undefined) throw errInvalidArgument("a chunked body cannot be sent with Upgrade");
        return readExact(up.socket, up.head, declared ?? 0);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of req as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > limit) {
          res.shouldKeepAlive = false;
          throw bodyTooLarge(limit);
        }
        chunks.push(c);
      }
      return Buffer.concat(chunks);
    })();
    return cached;
  };
  if (up && (declared ?? 0) === 0 && up.head.length > 0) {
    // Bytes that came with the headers of a bodiless upgrade are the client's first stdin bytes.
    up.socket.unshift(up.head);
  }
  const stream = (): Readable => {
    if (!up) return req;
    return Readable.from(
      (async function* () {
        yield await read();
      })(),
    );
  };
  return { read, stream };
}

/** Exactly `n` bytes from `head` and then the socket; what follows is pushed back for stdin. */
async function readExact(socket: Duplex, head: Buffer, n: number): Promise<Buffer> {
  let buf = head;
  while (buf.length < n) {
    const chunk = await nextChunk(socket);
    if (chunk === null) throw errInvalidArgument("unexpected EOF in request body");
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
  }
  if (buf.length > n) socket.unshift(buf.subarray(n));
  return buf.subarray(0, n);
}

function nextChunk(s: Duplex): Promise<Buffer | null> {
  const c = s.read() as Buffer | null;
  if (c !== null) return Promise.resolve(c);
  if (s.readableEnded || s.destroyed) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = () => {
      s.off("readable", onReadable);
      s.off("end", onEnd);
      s.off("close", onEnd);
    };
    const onReadable = () => {
      const x = s.read() as Buffer | null;
      if (x === null) return;
      done();
      resolve(x);
    };
    const onEnd = () => {
      done();
      resolve(null);
    };
    s.on("readable", onReadable);
    s.once("end", onEnd);
    s.once("close", onEnd);
  });
}

function listenOn(server: net.Server, target: string | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once("error", onError);
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    if (typeof target === "string") server.listen(target, onListening);
    else server.listen(target.port, target.host, onListening);
  });
}

/**
 * A socket file at `path` is either a live daemon (refuse: two daemons must not share a socket)
 * or the leftover of one that died (ECONNREFUSED: remove it).
 */
async function refuseLiveDaemon(path: string): Promise<void> {
  let st;
  try {
    st = await fs.lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve, reject) => {
    const c = net.connect(path);
    const timer = setTimeout(() => {
      c.destroy();
      resolve(true); // accepted but silent: something is there
    }, 1000);
    c.once("connect", () => {
      clearTimeout(timer);
      c.destroy();
      resolve(true);
    });
    c.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === "ECONNREFUSED" || e.code === "ENOENT") resolve(false);
      else reject(e);
    });
  });
  if (alive) throw new Error(`another daemon is listening on ${path}`);
  await fs.unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "ENOENT") throw e;
  });
}

async function resolveGroup(group: string | number): Promise<number> {
  if (typeof group === "number") return group;
  if (/^[0-9]+$/.test(group)) return Number(group);
  const text = await fs.readFile("/etc/group", "utf8");
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === group && gid !== undefined) return Number(gid);
  }
  throw new Error(`group ${JSON.stringify(group)} not found in /etc/group`);
}
