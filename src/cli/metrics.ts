// Prometheus metrics of berthd (issue 9 item 4), served at /metrics on a loopback address:
// containerd calls by method and outcome with their latency, engine operations by kind with
// their latency (from the berth:engine:op diagnostics channel), CNI plugin executions by plugin,
// command and outcome with their latency (from berth:network:cni), containers by state, the event
// queue's depth and the event loop's delay. prom-client 15 writes the exposition format.
import http from "node:http";
import net from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { errInvalidArgument } from "../base/errors.js";
import type { RpcCounter, RpcFinish } from "../containerd/rpc-counter.js";
import { engineOpChannel } from "../daemon/engine/index.js";
import { cniChannel, type CniInvocation } from "../network/index.js";

export interface MetricsOptions {
  /** `127.0.0.1:PORT`, `[::1]:PORT` or `localhost:PORT`; port 0 picks a free one. */
  address: string;
  /** Every containerd call berth makes (the client's counter). */
  counter: Pick<RpcCounter, "onFinish">;
  engine: { counts(): { total: number; running: number; paused: number; stopped: number } };
  /** Events received from containerd and not yet processed by the engine. */
  queueDepth: () => number;
  /** Default: a registry of its own, with prom-client's default Node.js metrics. */
  registry?: Registry;
  /** Serve on a non-loopback address: the metrics name containers' activity to anyone who can reach it. */
  allowNonLoopback?: boolean;
}

export interface MetricsServer {
  /** Where it listens, `host:port` (the real port when 0 was asked). */
  readonly address: string;
  readonly port: number;
  readonly registry: Registry;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Engine operation message on engineOpChannel. */
interface EngineOp { op: string; durationMs: number; outcome: string }

// containerd calls range from ~0.1 ms (Containers/Get) to ~100 ms (Tasks/Create) and seconds
// under load; engine operations reach the stop timeout (10 s by default) and more.
const CALL_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const OP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function parseMetricsAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw errInvalidArgument(`invalid metrics address ${JSON.stringify(address)}: use 127.0.0.1:PORT`);
  return { host: (m[1] ?? m[2])!, port };
}

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  if (net.isIPv6(host)) {
    const h = host.toLowerCase();
    return h === "::1" || /^::ffff:127\./.test(h);
  }
  return false;
}

export async function startMetricsServer(o: MetricsOptions): Promise<MetricsServer> {
  const { host, port } = parseMetricsAddress(o.address);
  if (!isLoopback(host) && !o.allowNonLoopback) {
    throw errInvalidArgument(`metrics address ${o.address} is not a loopback address; serving metrics elsewhere needs allowNonLoopback`);
  }
  const registry = o.registry ?? new Registry();
  const registered: string[] = [];
  const own = <T>(name: string, m: T): T => {
    registered.push(name);
    return m;
  };

  // Node.js process metrics, including nodejs_eventloop_lag_*; skipped when the registry given already has them.
  if (!registry.getSingleMetric("nodejs_eventloop_lag_seconds")) collectDefaultMetrics({ register: registry });

  const calls = own("berth_containerd_calls_total", new Counter({
    name: "berth_containerd_calls_total",
    help: "containerd gRPC calls made by berth, by method (Service/Method) and gRPC outcome",
    labelNames: ["method", "outcome"] as const,
    registers: [registry],
  }));
  const callSeconds = own("berth_containerd_call_duration_seconds", new Histogram({
    name: "berth_containerd_call_duration_seconds",
    help: "Duration of containerd gRPC calls as berth sees them (client side), by method",
    labelNames: ["method"] as const,
    buckets: CALL_BUCKETS,
    registers: [registry],
  }));
  const ops = own("berth_engine_operations_total", new Counter({
    name: "berth_engine_operations_total",
    help: "Engine operations, by operation and outcome (ok or the error kind)",
    labelNames: ["op", "outcome"] as const,
    registers: [registry],
  }));
  const opSeconds = own("berth_engine_operation_duration_seconds", new Histogram({
    name: "berth_engine_operation_duration_seconds",
    help: "Duration of engine operations, by operation",
    labelNames: ["op"] as const,
    buckets: OP_BUCKETS,
    registers: [registry],
  }));
  const cniSeconds = own("berth_cni_plugin_duration_seconds", new Histogram({
    name: "berth_cni_plugin_duration_seconds",
    help: "Duration of CNI plugin executions (one process each), by plugin, command (ADD, DEL, CHECK) and outcome (ok or error)",
    labelNames: ["plugin", "command", "outcome"] as const,
    buckets: CALL_BUCKETS,
    registers: [registry],
  }));
  own("berth_containers", new Gauge({
    name: "berth_containers",
    help: "Containers by state",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      const c = o.engine.counts();
      this.set({ state: "running" }, c.running);
      this.set({ state: "paused" }, c.paused);
      this.set({ state: "stopped" }, c.stopped);
    },
  }));
  own("berth_event_queue_depth", new Gauge({
    name: "berth_event_queue_depth",
    help: "containerd events received and not yet processed by the engine",
    registers: [registry],
    collect() {
      this.set(o.queueDepth());
    },
  }));
  // p99 of the event loop's delay since the previous scrape (the histogram restarts at each
  // scrape, so a stall shows up once, in the scrape that follows it).
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  own("berth_event_loop_delay_p99_seconds", new Gauge({
    name: "berth_event_loop_delay_p99_seconds",
    help: "99th percentile of the event loop delay since the previous scrape (monitorEventLoopDelay, 10 ms resolution)",
    registers: [registry],
    collect() {
      this.set(loopDelay.count > 0 ? loopDelay.percentile(99) / 1e9 : 0);
      loopDelay.reset();
    },
  }));

  const unsubscribeCalls = o.counter.onFinish((f: RpcFinish) => {
    calls.inc({ method: f.rpc, outcome: f.outcome });
    callSeconds.observe({ method: f.rpc }, f.durationMs / 1000);
  });
  const onOp = (m: unknown) => {
    const e = m as EngineOp;
    ops.inc({ op: e.op, outcome: e.outcome });
    opSeconds.observe({ op: e.op }, e.durationMs / 1000);
  };
  engineOpChannel.subscribe(onOp);
  const onCni = (m: unknown) => {
    const c = m as CniInvocation;
    cniSeconds.observe({ plugin: c.plugin, command: c.command, outcome: c.error === undefined ? "ok" : "error" }, c.durationMs / 1000);
  };
  cniChannel.subscribe(onCni);

  const server = http.createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (url !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: metrics are at /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? undefined : text),
      (e: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`collecting metrics failed: ${e instanceof Error ? e.message : String(e)}\n`),
    );
  });
  const detach = () => {
    unsubscribeCalls();
    engineOpChannel.unsubscribe(onOp);
    cniChannel.unsubscribe(onCni);
    loopDelay.disable();
    for (const name of registered) registry.removeSingleMetric(name);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    detach();
    throw e;
  }
  const bound = server.address() as net.AddressInfo;
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      detach();
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  return {
    address: `${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}`,
    port: bound.port,
    registry,
    close,
    [Symbol.asyncDispose]: close,
  };
}
