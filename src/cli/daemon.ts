// berthd assembled: containerd (embedded or external) → engine + images → Docker API on a unix
// socket. The CLI (berthd.ts) only parses flags into DaemonOptions.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createRequire } from "node:module";
import { createHash, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pino, { type Logger } from "pino";
import { BerthError, createContainerdClient, errInvalidArgument, errNotFound, type ContainerdClient } from "../containerd/index.js";
import { superviseContainerd, supervisorChannel, type ContainerdSupervisor } from "../daemon/containerd-supervisor.js";
import { createEngine } from "../daemon/engine.js";
import { loadDaemonSeccomp, seccompSecurityOption } from "../daemon/oci/seccomp.js";
import { jsonFileLogs } from "../daemon/json-file-logs.js";
import { createImageService, createImageSource } from "../images/index.js";
import { createApiServer, type ApiServer, type NetworkBackend, type SystemBackend, type SystemVersion } from "../api/index.js";
import type { Engine, EngineEvent } from "../daemon/types.js";
import { eventStreamChannel } from "../libcontainerd/index.js";
import { createVolumeStore } from "../volumes/index.js";
import { startMetricsServer } from "./metrics.js";
import { createNetworkManager, type NetworkManager, type NetworkView } from "../network/index.js";

export interface DaemonOptions {
  /** State directory (default /var/lib/berth). */
  root: string;
  /** `unix:///path.sock` (default /run/berth/berth.sock) or `tcp://host:port` (only when asked). */
  hosts: string[];
  /** Group owning the unix socket (its mode is 0660). */
  group?: string;
  /** An existing containerd's socket; without it berthd runs its own. */
  containerd?: string;
  /** containerd's state dir when external (for reading running containers' rootfs). */
  containerdState?: string;
  namespace: string;
  /** Default bridge device, or "none" to run without CNI networking (dockerd's --bridge none). */
  bridge?: string;
  /** Address of the default bridge with its prefix, e.g. 172.30.0.1/16 (dockerd's --bip). */
  bip?: string;
  /** Prometheus metrics on this loopback host:port (dockerd's --metrics-addr). */
  metricsAddress?: string;
  /** dockerd's --seccomp-profile: a profile JSON file, or "unconfined"; dockerd's built-in when absent. */
  seccompProfile?: string;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  /** Where the log goes (default stderr). */
  logDestination?: NodeJS.WritableStream;
}

export interface RunningDaemon {
  readonly sockets: string[];
  readonly containerdAddress: string;
  readonly containerdPid: number | undefined;
  readonly containerdMetrics: string | undefined;
  readonly logger: Logger;
  close(): Promise<void>;
}

const pkg = createRequire(import.meta.url)("../../package.json") as { version: string };
const run = promisify(execFile);

export function parseHost(h: string): { socketPath: string } | { host: string; port: number } {
  if (h.startsWith("unix://")) return { socketPath: h.slice("unix://".length) };
  if (h.startsWith("/")) return { socketPath: h };
  const m = /^tcp:\/\/([^:]+|\[[^\]]+\]):(\d+)$/.exec(h);
  if (m) return { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
  throw errInvalidArgument(`invalid --host ${JSON.stringify(h)}: use unix:///path.sock or tcp://127.0.0.1:PORT`);
}

export async function startDaemon(o: DaemonOptions): Promise<RunningDaemon> {
  const logger = pino({ level: o.logLevel, base: { pid: process.pid } }, (o.logDestination ?? process.stderr) as pino.DestinationStream);
  const listens = o.hosts.map(parseHost);
  // Read and checked before anything starts: a bad profile stops the daemon, not each create.
  const seccomp = await loadDaemonSeccomp(o.seccompProfile, (f) => fs.readFile(f, "utf8"));
  await fs.mkdir(o.root, { recursive: true, mode: 0o710 });
  const unlock = await lockRoot(o.root);

  const onSupervisor = (m: unknown) => logger.info({ containerd: m }, "containerd supervisor");
  const onEvents = (m: unknown) => logger.info({ events: m }, "containerd event stream");
  supervisorChannel.subscribe(onSupervisor);
  eventStreamChannel.subscribe(onEvents);

  let supervisor: ContainerdSupervisor | undefined;
  let address: string;
  let stateDir: string;
  if (o.containerd) {
    address = o.containerd.replace(/^unix:\/\//, "");
    stateDir = o.containerdState ?? "/run/containerd";
  } else {
    supervisor = await superviseContainerd({ dir: path.join(o.root, "containerd") });
    address = supervisor.address;
    stateDir = supervisor.stateDir;
  }
  const containerd: ContainerdClient = createContainerdClient({ address, namespace: o.namespace });
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    const v = await waitForContainerd(containerd);
    logger.info({ containerd: v.version, address, embedded: !!supervisor }, "containerd ready");

    // The image service asks the engine whether an image is in use; the engine needs images.
    let usedImages: (id: string) => boolean = () => false;
    const images = createImageService({ containerd, isUsed: (id) => usedImages(id) });
    // Volume and network events go out on the engine's bus (made below) as dockerd's types.
    let publish: (e: Omit<EngineEvent, "timeNano">) => void = () => {};
    const volumes = await createVolumeStore({
      root: o.root,
      onEvent: (e) => publish({ type: "volume", action: e.action, id: e.name, attributes: e.attributes }),
    });
    let network: NetworkManager | undefined;
    if (o.bridge !== "none") {
      network = await createNetworkManager({
        stateDir: path.join(o.root, "network"),
        defaultBridge: { ...(o.bridge ? { name: o.bridge } : {}), ...(o.bip ? { bip: o.bip } : {}) },
      });
      cleanup.push(() => network!.close());
    }
    const engine = await createEngine({
      root: o.root, containerd, images: createImageSource(images), logs: jsonFileLogs(), containerdStateDir: stateDir,
      volumes, ...(network ? { network } : {}), seccomp,
    });
    usedImages = (id) => engine.list({ all: true }).some((c) => c.imageId === id);
    cleanup.push(() => engine.close());
    publish = (e) => void engine.eventBus.publish(e);
    if (o.metricsAddress) {
      const metrics = await startMetricsServer({
        address: o.metricsAddress,
        counter: containerd.counter,
        engine,
        queueDepth: () => engine.libcontainerd.queueDepth,
      });
      cleanup.push(() => metrics.close());
      logger.info({ metrics: `http://${o.metricsAddress}/metrics` }, "metrics listening");
    }
    const report = await engine.restore();
    logger.info({ restore: { ...report, problems: report.problems.map((p) => `${p.path}: ${p.message}`) } }, "containers restored");

    const daemonId = await daemonIdOf(o.root);
    const system: SystemBackend = {
      version: async (): Promise<SystemVersion> => ({
        version: pkg.version,
        components: [
          { name: "Engine", version: pkg.version, details: { ApiVersion: "1.43", MinAPIVersion: "1.24", Os: "linux", Arch: os.arch() } },
          { name: "containerd", version: v.version, details: { GitCommit: v.revision } },
          { name: "runc", version: await runcVersion() },
        ],
      }),
      info: async () => ({
        id: daemonId,
        containers: engine.counts(),
        images: (await images.list()).length,
        rootDir: o.root,
        liveRestoreEnabled: true,
        containerdCommit: v.revision,
        securityOptions: [seccompSecurityOption(seccomp)],
      }),
      events: (q) => engine.events(q),
      df: async () => {
        const list = await images.list();
        return {
          layersSize: list.reduce((a, i) => a + i.size, 0),
          images: list.map((i) => ({ ...i, containers: engine.list({ all: true }).filter((c) => c.imageId === i.id).length })),
          containers: engine.list({ all: true }),
          volumes: await volumes.list({ usage: true }),
        };
      },
    };
    const networks = networkBackend({
      manager: network ?? predefinedOnlyNetworks(daemonId),
      engine,
      inUse: (name) => engine.networkInUse(name),
      publish: (e) => publish(e),
    });
    const api: ApiServer = createApiServer({
      backends: { containers: engine, exec: engine, images, system, networks, volumes },
      logger,
      serverVersion: pkg.version,
    });
    cleanup.push(() => api.close());
    const sockets: string[] = [];
    for (const l of listens) {
      if ("socketPath" in l) {
        await fs.mkdir(path.dirname(l.socketPath), { recursive: true, mode: 0o755 });
        const r = await api.listen({ socketPath: l.socketPath, mode: 0o660, ...(o.group ? { group: o.group } : {}) });
        sockets.push(r.socketPath ?? l.socketPath);
      } else {
        logger.warn({ host: l.host, port: l.port }, "listening on TCP without TLS: anyone who can reach it controls the host");
        await api.listen(l);
        sockets.push(`tcp://${l.host}:${l.port}`);
      }
    }
    logger.info({ sockets, version: pkg.version }, "berthd ready");
    let closed = false;
    return {
      sockets,
      containerdAddress: address,
      containerdPid: supervisor?.pid,
      containerdMetrics: supervisor?.metricsAddress,
      logger,
      async close() {
        if (closed) return;
        closed = true;
        for (const c of cleanup.reverse()) await c().catch((e) => logger.error({ err: e }, "shutdown step failed"));
        await containerd.close();
        // Containers keep running in their shims; containerd restarts and reconnects to them.
        await supervisor?.stop();
        supervisorChannel.unsubscribe(onSupervisor);
        eventStreamChannel.unsubscribe(onEvents);
        await unlock();
        logger.info("berthd stopped");
        logger.flush?.();
      },
    };
  } catch (e) {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await containerd.close();
    await supervisor?.stop();
    supervisorChannel.unsubscribe(onSupervisor);
    eventStreamChannel.unsubscribe(onEvents);
    await unlock();
    throw e;
  }
}

type NetworkStore = Pick<NetworkManager, "createNetwork" | "listNetworks" | "inspectNetwork" | "removeNetwork" | "pruneNetworks">;

/**
 * The API's network backend: the network layer's networks, the engine's connect/disconnect, and
 * dockerd's network events for create/destroy/prune (the engine publishes connect/disconnect).
 */
function networkBackend(o: {
  manager: NetworkStore;
  engine: Pick<Engine, "connectNetwork" | "disconnectNetwork">;
  inUse: (name: string) => boolean;
  publish: (e: Omit<EngineEvent, "timeNano">) => void;
}): NetworkBackend {
  const { manager, engine } = o;
  const event = (action: string, n: Pick<NetworkView, "id" | "name" | "driver">) =>
    o.publish({ type: "network", action, id: n.id, attributes: { name: n.name, type: n.driver } });
  return {
    listNetworks: () => manager.listNetworks(),
    inspectNetwork: (ref) => manager.inspectNetwork(ref),
    async createNetwork(req) {
      const n = await manager.createNetwork(req);
      event("create", n);
      return n;
    },
    async removeNetwork(ref) {
      const n = manager.inspectNetwork(ref);
      await manager.removeNetwork(n.id);
      event("destroy", n);
    },
    async pruneNetworks(keep) {
      const before = new Map(manager.listNetworks().map((n) => [n.name, n]));
      const removed = await manager.pruneNetworks(keep);
      for (const name of removed) {
        const n = before.get(name);
        if (n) event("destroy", n);
      }
      o.publish({ type: "network", action: "prune", id: "", attributes: { reclaimed: "0" } });
      return removed;
    },
    connectNetwork: (ref, network, opts) => engine.connectNetwork(ref, network, opts),
    disconnectNetwork: (ref, network, opts) => engine.disconnectNetwork(ref, network, opts),
    networkInUse: o.inUse,
  };
}

/**
 * `--bridge none`: no network layer, but `host` and `none` still exist (dockerd lists them too),
 * with IDs stable for this daemon. Creating networks needs the network layer.
 */
function predefinedOnlyNetworks(daemonId: string): NetworkStore {
  const created = new Date();
  const views: NetworkView[] = (["host", "none"] as const).map((name) => ({
    id: createHash("sha256").update(`${daemonId}/network/${name}`).digest("hex"),
    name,
    driver: name === "host" ? "host" : "null",
    scope: "local",
    created,
    enableIPv6: false,
    internal: false,
    attachable: false,
    ingress: false,
    configOnly: false,
    ipam: { driver: "default", options: {}, config: [] },
    options: {},
    labels: {},
    containers: {},
  }));
  const find = (ref: string): NetworkView => {
    const hit = views.find((n) => n.name === ref || n.id === ref) ?? (ref ? views.filter((n) => n.id.startsWith(ref)) : []).at(0);
    if (!hit) throw errNotFound(`network ${ref} not found`);
    return structuredClone(hit);
  };
  return {
    listNetworks: () => views.map((n) => structuredClone(n)),
    inspectNetwork: find,
    createNetwork: async () => {
      throw errInvalidArgument("networking is disabled (berthd --bridge none): networks cannot be created");
    },
    removeNetwork: async (ref) => {
      const n = find(ref);
      throw new BerthError("permission-denied", `${n.name} is a pre-defined network and cannot be removed`);
    },
    pruneNetworks: async () => [],
  };
}

/**
 * One berthd per root: `<root>/berthd.pid` names the owner. A pid file whose process is gone (or
 * is not a berthd) is stale and taken over; a live owner is an error, before anything is touched.
 */
async function lockRoot(root: string): Promise<() => Promise<void>> {
  const file = path.join(root, "berthd.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(file, `${process.pid}\n`, { flag: "wx" });
      return async () => {
        const owner = (await fs.readFile(file, "utf8").catch(() => "")).trim();
        if (owner === String(process.pid)) await fs.rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number((await fs.readFile(file, "utf8").catch(() => "")).trim());
      const cmd = pid ? await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "") : "";
      if (pid && pid !== process.pid && /berthd/.test(cmd)) {
        throw errInvalidArgument(`another berthd (pid ${pid}) is using ${root}; stop it first`);
      }
      await fs.rm(file, { force: true });
    }
  }
  throw errInvalidArgument(`cannot lock ${root}`);
}

async function waitForContainerd(c: ContainerdClient) {
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      return await c.version.version({ timeoutMs: 2000 });
    } catch (e) {
      if (Date.now() > end) throw e;
      await sleep(200);
    }
  }
}

async function daemonIdOf(root: string): Promise<string> {
  const f = path.join(root, "daemon-id");
  const have = await fs.readFile(f, "utf8").catch(() => "");
  if (have.trim()) return have.trim();
  const id = randomBytes(16).toString("hex").toUpperCase().match(/.{4}/g)!.join(":");
  await fs.writeFile(f, id + "\n");
  return id;
}

async function runcVersion(): Promise<string> {
  try {
    const { stdout } = await run("runc", ["--version"]);
    return /runc version (\S+)/.exec(stdout)?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}
