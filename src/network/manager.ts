/**
 * berth's networks: records of bridge networks, and each container's endpoints on them realised
 * with the standard CNI plugins (bridge + host-local, portmap) in a namespace berth
 * creates (its loopback up) before the task starts; outbound NAT and FORWARD accepts are iptables rules per network
 * (network-rules.ts). See docs/network.md for the design and the engine's calls.
 *
 * This is the facade: it loads the records, tracks operations in flight for close(), and calls the
 * operations, which are functions over the shared context (manager-context.ts):
 *   network-ops.ts     network records: view, create, remove, prune (ipam-config.ts: addresses)
 *   sandbox-ops.ts     container endpoints: validate, attach, connect, disconnect, detach, check
 *   sandbox-views.ts   NetworkSettings, /etc/hosts and resolv.conf of a container
 *   default-bridge.ts  the predefined bridge, host and none networks
 *   rules-sync.ts      each network's iptables rules
 *   reconcile.ts       daemon start: stale endpoints, namespaces and leases
 */
import { stopAllDns } from "./embedded-dns.js";
import { errFailedPrecondition } from "./errors.js";
import { loadJsonDir } from "./json-files.js";
import { ensurePredefined } from "./default-bridge.js";
import { decodeSandbox } from "./endpoint-record.js";
import { bridgeNetworks, checkContainerId, createNetCtx, findNetwork, hostGateway, type NetCtx } from "./manager-context.js";
import { decodeNetworkRecord } from "./network-record.js";
import * as nets from "./network-ops.js";
import { reconcile } from "./reconcile.js";
import { reconcileRules } from "./rules-sync.js";
import * as sbs from "./sandbox-ops.js";
import { settingsView } from "./sandbox-views.js";
import type {
  AttachRequest,
  AttachResult,
  EndpointView,
  NetworkAttachmentRequest,
  NetworkCreateOptions,
  NetworkManager,
  NetworkManagerOptions,
  NetworkSettingsView,
  NetworkView,
  ReconcileReport,
} from "./types.js";

export async function createNetworkManager(o: NetworkManagerOptions): Promise<NetworkManager> {
  const m = new Manager(createNetCtx(o));
  await m.open();
  return m;
}

class Manager implements NetworkManager {
  readonly #ctx: NetCtx;
  readonly #inflight = new Set<Promise<unknown>>();
  #closed = false;
  loadProblems: { path: string; message: string }[] = [];

  constructor(ctx: NetCtx) {
    this.#ctx = ctx;
  }

  async open(): Promise<void> {
    const ctx = this.#ctx;
    const loadedNets = await loadJsonDir(ctx.networksDir, decodeNetworkRecord);
    for (const n of loadedNets.values) ctx.networks.set(n.id, n);
    const loadedSbs = await loadJsonDir(ctx.endpointsDir, decodeSandbox);
    for (const s of loadedSbs.values) ctx.sandboxes.set(s.containerId, s);
    this.loadProblems = [...loadedNets.problems, ...loadedSbs.problems];
    await ensurePredefined(ctx);
    // The per-network rules, as dockerd sets up its bridge's at start: a crash or an older berth
    // may have left them missing, doubled or for an old subnet. A host without iptables still
    // opens (none/host containers need none); the first attach to a network tries again.
    try {
      await reconcileRules(ctx, bridgeNetworks(ctx));
    } catch (e) {
      this.loadProblems.push({ path: "iptables", message: `per-network rules: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  get hostGateway(): string | undefined {
    return hostGateway(this.#ctx);
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    await stopAllDns(this.#ctx);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Runs an operation, tracked so close() can wait for it. */
  #track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(errFailedPrecondition("the network manager is closed"));
    const p = fn();
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  // ---- networks -------------------------------------------------------------------------------

  listNetworks(): NetworkView[] {
    return [...this.#ctx.networks.values()].sort((a, b) => a.name.localeCompare(b.name)).map((n) => nets.networkView(this.#ctx, n));
  }

  inspectNetwork(ref: string): NetworkView {
    return nets.networkView(this.#ctx, findNetwork(this.#ctx, ref));
  }

  createNetwork(o: NetworkCreateOptions): Promise<NetworkView> {
    return this.#track(() => this.#ctx.lock.run(() => nets.createNetwork(this.#ctx, o)));
  }

  removeNetwork(ref: string): Promise<void> {
    return this.#track(() => this.#ctx.lock.run(() => nets.removeNetwork(this.#ctx, findNetwork(this.#ctx, ref))));
  }

  pruneNetworks(keep?: (n: NetworkView) => boolean): Promise<string[]> {
    return this.#track(() => this.#ctx.lock.run(() => nets.pruneNetworks(this.#ctx, keep)));
  }

  // ---- container endpoints --------------------------------------------------------------------

  netnsPath(containerId: string): string {
    checkContainerId(containerId);
    return this.#ctx.netns.pathOf(containerId);
  }

  validate(req: Omit<AttachRequest, "signal" | "files">): void {
    sbs.validate(this.#ctx, req);
  }

  attach(containerId: string, req: AttachRequest): Promise<AttachResult> {
    return this.#track(() => sbs.attach(this.#ctx, containerId, req));
  }

  connect(containerId: string, req: NetworkAttachmentRequest, signal?: AbortSignal): Promise<EndpointView> {
    return this.#track(() => sbs.connect(this.#ctx, containerId, req, signal));
  }

  disconnect(containerId: string, networkRef: string, signal?: AbortSignal): Promise<void> {
    return this.#track(() => sbs.disconnect(this.#ctx, containerId, networkRef, signal));
  }

  detach(containerId: string, signal?: AbortSignal): Promise<void> {
    return this.#track(() => sbs.detach(this.#ctx, containerId, signal));
  }

  rename(containerId: string, name: string): Promise<void> {
    return this.#track(() => sbs.rename(this.#ctx, containerId, name));
  }

  check(containerId: string, signal?: AbortSignal): Promise<void> {
    return this.#track(() => sbs.check(this.#ctx, containerId, signal));
  }

  settings(containerId: string): NetworkSettingsView | undefined {
    const sb = this.#ctx.sandboxes.get(containerId);
    return sb && sb.state === "attached" ? settingsView(this.#ctx, sb) : undefined;
  }

  reconcile(liveContainerIds: Iterable<string>, signal?: AbortSignal): Promise<ReconcileReport> {
    return this.#track(() => reconcile(this.#ctx, new Set(liveContainerIds), signal));
  }
}
