// berthd assembled: containerd (embedded or external) → engine + images → Docker API on a unix
// socket. The CLI (berthd.ts) only parses flags into DaemonOptions.
import fs from "node:fs/promises";
import path from "node:path";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import pino, { type Logger } from "pino";
import { createContainerdClient, errInvalidArgument, type ContainerdClient } from "../containerd/index.js";
import { superviseContainerd, supervisorChannel, type ContainerdSupervisor } from "../daemon/containerd-supervisor.js";
import { createEngine } from "../daemon/engine/index.js";
import { loadDaemonSeccomp } from "../daemon/oci/seccomp.js";
import { loadDaemonSecurity, remappedStateRoot, securityOptions, type DaemonSecurityFlags } from "../daemon/daemon-security.js";
import { probeCgroups } from "../daemon/cgroups.js";
import { jsonFileLogs } from "../daemon/json-file-logs.js";
import { createImageService, createImageSource } from "../images/index.js";
import { createApiServer, type ApiServer } from "../api/index.js";
import { EventBus } from "../daemon/event-bus.js";
import { networkBackend, predefinedOnlyNetworks } from "../daemon/network-backend.js";
import { daemonIdOf, systemBackend } from "../daemon/system.js";
import { eventStreamChannel } from "../libcontainerd/index.js";
import { createVolumeStore } from "../volumes/index.js";
import { lazyBuilder } from "./lazy-builder.js";
import { planListeners, readTlsFiles, type TlsFlags } from "./listeners.js";
import { createNetworkManager, type NetworkManager } from "../network/index.js";
// ---- service (config file, systemd, registries, host facts) ----
import { RegistryHosts } from "../images/index.js";
import type { AddressPoolConfig } from "./config-file.js";
import { liveSettings, type LiveSettings } from "./daemon-config.js";
import { textDestination } from "./log-format.js";
import { serviceInfoFields } from "./service-info.js";
import { fdsForHost, isFdHost } from "./systemd.js";
import { adoptBridgeAddress } from "../network/bridge-adopt.js";
// ---- end service ----

export interface DaemonOptions {
  /** State directory (default /var/lib/berth). */
  root: string;
  /** `unix:///path.sock` (default /run/berth/berth.sock) or `tcp://host:port` (only when asked). */
  hosts: string[];
  /** TLS for TCP hosts, and whether plain TCP may listen on a non-loopback address. */
  tls?: TlsFlags;
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
  /** dockerd's --no-new-privileges, --default-ulimit, --userns-remap. */
  security?: DaemonSecurityFlags;
  /** dockerd's --exec-opt (native.cgroupdriver=cgroupfs|systemd). */
  execOpts?: string[];
  /** Containers per shared runc v2 shim (`--shim-group-size`); absent or 1: a shim per container. */
  shimGroupSize?: number;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  /** Where the log goes (default stderr). */
  logDestination?: NodeJS.WritableStream;
  // ---- service options (config-file.ts, daemon-config.ts) ----
  /** "text" (logfmt, as dockerd's default) or "json" (pino's lines; the default here). */
  logFormat?: "text" | "json";
  /** MTU of the default bridge (dockerd's --mtu). */
  mtu?: number;
  /** DNS for containers that set none (dockerd's --dns, --dns-search, --dns-opt). */
  dns?: { servers?: string[]; search?: string[]; options?: string[] };
  /** dockerd's --default-address-pools. */
  defaultAddressPools?: AddressPoolConfig[];
  /** Settings SIGHUP changes in place: labels, debug, registries, concurrency. */
  live?: LiveSettings;
  /** Descriptors from systemd socket activation, for `fd://` hosts. */
  listenFds?: number[];
  // ---- end service options ----
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


export async function startDaemon(o: DaemonOptions): Promise<RunningDaemon> {
  const logOut = o.logDestination ?? process.stderr;
  const logger = pino({ level: o.logLevel, base: { pid: process.pid } }, (o.logFormat === "text" ? textDestination(logOut) : logOut) as pino.DestinationStream);
  const live = o.live ?? liveSettings({});
  const fdListens = o.hosts.filter(isFdHost).flatMap((h) => fdsForHost(h, o.listenFds ?? []));
  const listens = planListeners(o.hosts.filter((h) => !isFdHost(h)), o.tls ?? {});
  const tlsContents = await Promise.all(listens.map((l) => ("tls" in l && l.tls ? readTlsFiles(l.tls) : undefined)));
  // Read and checked before anything starts: a bad profile stops the daemon, not each create.
  const seccomp = await loadDaemonSeccomp(o.seccompProfile, (f) => fs.readFile(f, "utf8"));
  const security = await loadDaemonSecurity(o.security ?? {});
  const cgroups = probeCgroups({ execOpts: o.execOpts ?? [] });
  await fs.mkdir(o.root, { recursive: true, mode: 0o710 });
  const unlock = await lockRoot(o.root);
  // Containers, volumes and networks: in <root>/<uid>.<gid> under --userns-remap, as dockerd.
  const stateRoot = security.remap ? await remappedStateRoot(o.root, security.remap) : o.root;

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
    logger.info({ cgroupVersion: cgroups.version, cgroupDriver: cgroups.driver, controllers: cgroups.controllers }, "cgroups");

    // The bus first: volumes, networks and the engine publish on it, /events reads it.
    const events = new EventBus();
    // The image service asks the engine whether an image is in use; the engine needs images:
    // the one question that is answered late, once the engine exists.
    let usedImages: (id: string) => boolean = () => false;
    const registryHosts = new RegistryHosts({ mirrors: () => live.registryMirrors, insecure: () => live.insecureRegistries });
    cleanup.push(() => registryHosts.close());
    const images = createImageService({
      containerd, isUsed: (id) => usedImages(id),
      registry: { hosts: registryHosts, concurrency: () => live.maxConcurrentDownloads, pushConcurrency: () => live.maxConcurrentUploads },
    });
    const volumes = await createVolumeStore({
      root: stateRoot,
      ...(security.remap ? { dataOwner: { uid: security.remap.uids[0]!.hostID, gid: security.remap.gids[0]!.hostID } } : {}),
      onEvent: (e) => void events.publish({ type: "volume", action: e.action, id: e.name, attributes: e.attributes }),
    });
    let network: NetworkManager | undefined;
    if (o.bridge !== "none") {
      // An existing default bridge keeps its address (as dockerd's docker0): bridge-adopt.ts.
      const bip = await adoptBridgeAddress(o.bridge ?? "berth0", o.bip);
      if (bip && !o.bip) logger.info({ bridge: o.bridge ?? "berth0", bip }, "the default bridge exists: its address is kept");
      network = await createNetworkManager({
        stateDir: path.join(stateRoot, "network"),
        defaultBridge: { ...(o.bridge ? { name: o.bridge } : {}), ...(bip ? { bip } : {}), ...(o.mtu ? { mtu: o.mtu } : {}) },
        ...(o.defaultAddressPools ? { defaultAddressPools: o.defaultAddressPools } : {}),
        ...(o.dns ? { defaultDns: o.dns } : {}),
        warn: (message) => logger.warn(message),
      });
      cleanup.push(() => network!.close());
    }
    const engine = await createEngine({
      root: stateRoot, containerd, images: createImageSource(images), logs: jsonFileLogs(), containerdStateDir: stateDir,
      volumes, events, ...(network ? { network } : {}), seccomp, security, cgroups,
      ...(o.shimGroupSize ? { shimGroupSize: o.shimGroupSize } : {}),
    });
    if (o.shimGroupSize) logger.info({ shimGroupSize: o.shimGroupSize }, "containers share shims");
    usedImages = (id) => engine.list({ all: true }).some((c) => c.imageId === id);
    cleanup.push(() => engine.close());
    if (o.metricsAddress) {
      // prom-client (and perf_hooks, cluster, v8) load only when metrics are asked for.
      const { startMetricsServer } = await import("./metrics.js");
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
    // The classic builder: contexts and mounts under <root>/builder (a crash's leftovers go).
    const builderDir = path.join(o.root, "builder");
    const builder = await lazyBuilder({
      engine, images, client: containerd, workDir: builderDir,
      ...(security.remap ? { refuse: "docker build under --userns-remap is not supported by berth yet: RUN steps would record the remapped host ids in their layers" } : {}),
    });
    const system = systemBackend({
      version: pkg.version, root: stateRoot, daemonId, containerd: v, engine, images, volumes, securityOptions: securityOptions(seccomp, security),
      configured: () => serviceInfoFields(live), buildCache: () => builder.cacheEntries(), cgroups,
    });
    const networks = networkBackend({
      manager: network ?? predefinedOnlyNetworks(daemonId),
      engine,
      inUse: (name) => engine.networkInUse(name),
      events,
    });
    const api: ApiServer = createApiServer({
      backends: { build: builder, containers: engine, exec: engine, images, system, networks, volumes },
      logger,
      serverVersion: pkg.version,
    });
    cleanup.push(() => api.close());
    const sockets: string[] = [];
    for (const fd of fdListens) {
      await api.listen({ fd });
      sockets.push(`fd://${fd}`);
    }
    for (const [i, l] of listens.entries()) {
      if ("socketPath" in l) {
        await fs.mkdir(path.dirname(l.socketPath), { recursive: true, mode: 0o755 });
        const r = await api.listen({ socketPath: l.socketPath, mode: 0o660, ...(o.group ? { group: o.group } : {}) });
        sockets.push(r.socketPath ?? l.socketPath);
      } else {
        const tls = tlsContents[i];
        if (!tls) logger.warn({ host: l.host, port: l.port }, "listening on TCP without TLS: anyone who can reach it controls the host");
        else if (l.insecure) logger.warn({ host: l.host, port: l.port }, "listening on TCP with TLS but without --tlsverify: any client that reaches it controls the host");
        const r = await api.listen({ host: l.host, port: l.port, ...(tls ? { tls } : {}) });
        sockets.push(`tcp://${l.host}:${r.address?.port ?? l.port}`);
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
