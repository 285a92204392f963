import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs/promises";
import { createWriteStream } from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createContainerdClient } from "../containerd/client.js";
import { errUnavailable } from "../base/errors.js";

export interface ContainerdProcessOptions {
  /** Directory that holds root/, state/, the socket, config.toml and containerd.log. */
  dir: string;
  /** containerd binary (default: `containerd` on PATH). */
  binary?: string;
  /** Prometheus metrics listener; default a free port on 127.0.0.1. */
  metricsAddress?: string;
  /** How long to wait for the socket to serve (default 20 s). */
  readyTimeoutMs?: number;
  logLevel?: "debug" | "info" | "warn" | "error";
}

export interface ContainerdProcess {
  readonly pid: number;
  readonly address: string;
  readonly root: string;
  readonly state: string;
  readonly metricsAddress: string;
  readonly logPath: string;
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; only this process, by PID. */
  stop(graceMs?: number): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound and released; good enough for a private daemon). */
export async function freeLoopbackPort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * containerd's config for a private instance: its own root, state, sockets and metrics on
 * loopback. Debian's build has no CRI; btrfs, zfs, devmapper and aufs only log noise on ext4.
 */
export function containerdConfig(o: { root: string; state: string; address: string; metricsAddress: string; logLevel: string }): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    "version = 2",
    `root = ${q(o.root)}`,
    `state = ${q(o.state)}`,
    `disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]`,
    "",
    "[grpc]",
    `  address = ${q(o.address)}`,
    "",
    "[ttrpc]",
    `  address = ${q(o.address + ".ttrpc")}`,
    "",
    "[debug]",
    `  level = ${q(o.logLevel)}`,
    "",
    "[metrics]",
    `  address = ${q(o.metricsAddress)}`,
    // Server-side handling time per method, as the reference dockerd setup has it (rpcbench).
    "  grpc_histogram = true",
    "",
  ].join("\n");
}

/** Starts containerd with a generated config under `dir` and waits until it answers Version. */
export async function startContainerdProcess(o: ContainerdProcessOptions): Promise<ContainerdProcess> {
  const dir = path.resolve(o.dir);
  const root = path.join(dir, "root");
  const state = path.join(dir, "state");
  const address = path.join(dir, "containerd.sock");
  const logPath = path.join(dir, "containerd.log");
  await fs.mkdir(root, { recursive: true, mode: 0o711 });
  await fs.mkdir(state, { recursive: true, mode: 0o711 });
  const metricsAddress = o.metricsAddress ?? `127.0.0.1:${await freeLoopbackPort()}`;
  const configPath = path.join(dir, "config.toml");
  await fs.writeFile(configPath, containerdConfig({ root, state, address, metricsAddress, logLevel: o.logLevel ?? "warn" }));
  // A stale socket from a crashed run would make containerd fail to listen.
  await fs.rm(address, { force: true });

  const log = createWriteStream(logPath, { flags: "a" });
  await once(log, "open");
  const child: ChildProcess = spawn(o.binary ?? "containerd", ["--config", configPath], {
    stdio: ["ignore", log, log],
    // Its own process group, so a Ctrl-C on the terminal does not reach it before we stop it.
    detached: true,
  });
  const spawned = once(child, "spawn").then(() => undefined);
  const failedToSpawn = once(child, "error").then(([e]) => { throw e as Error; });
  await Promise.race([spawned, failedToSpawn]).catch((e: NodeJS.ErrnoException) => {
    log.close();
    throw errUnavailable(
      e.code === "ENOENT" ? `containerd binary not found (${o.binary ?? "containerd"}); install Debian's containerd` : `cannot start containerd: ${e.message}`,
      { cause: e },
    );
  });
  child.unref();
  const pid = child.pid!;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => { log.close(); resolve({ code, signal }); });
  });
  let hasExited = false;
  void exited.then(() => { hasExited = true; });

  const proc: ContainerdProcess = {
    pid, address, root, state, metricsAddress, logPath, exited,
    async stop(graceMs = 10_000) {
      if (hasExited) return;
      try { process.kill(pid, "SIGTERM"); } catch { return; }
      const t = setTimeout(() => { try { process.kill(pid, "SIGKILL"); } catch { /* gone */ } }, graceMs);
      await exited;
      clearTimeout(t);
    },
  };

  const deadline = Date.now() + (o.readyTimeoutMs ?? 20_000);
  const probe = createContainerdClient({ address, namespace: "default", timeoutMs: 1000 });
  try {
    for (;;) {
      if (hasExited) {
        const tail = await fs.readFile(logPath, "utf8").catch(() => "");
        throw errUnavailable(`containerd exited during start-up; log ${logPath}:\n${tail.slice(-2000)}`);
      }
      try {
        await probe.version.version();
        break;
      } catch (e) {
        if (Date.now() > deadline) {
          await proc.stop(1000);
          throw errUnavailable(`containerd did not serve ${address} within ${o.readyTimeoutMs ?? 20_000} ms`, { cause: e });
        }
        // containerd serves ~60 ms after its start: a failed connect costs nothing, and every
        // 10 ms not waited is start-up time saved.
        await sleep(10);
      }
    }
  } finally {
    await probe.close();
  }
  return proc;
}

/** Prometheus text → `{ "Tasks/Create": n, ... }` from grpc_server_started_total. */
export function parseGrpcStarted(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = /^grpc_server_started_total\{([^}]*)\}\s+([0-9.e+]+)/gm;
  for (const m of text.matchAll(re)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const svc = (labels["grpc_service"] ?? "").split(".").pop()!;
    const n = Number(m[2]);
    if (n > 0) out[`${svc}/${labels["grpc_method"]}`] = n;
  }
  return out;
}

/** containerd's own count of started calls per "Service/Method" (its metrics endpoint). */
export async function fetchGrpcStarted(metricsAddress: string): Promise<Record<string, number>> {
  const res = await fetch(`http://${metricsAddress}/v1/metrics`);
  if (!res.ok) throw errUnavailable(`containerd metrics: HTTP ${res.status}`);
  return parseGrpcStarted(await res.text());
}
