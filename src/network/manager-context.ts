/**
 * The state the network manager's operations share: the options, the plugin runner, the state
 * directories, the locks and the in-memory records (networks by ID, sandboxes by container ID).
 * The operations (network-ops.ts, sandbox-ops.ts, reconcile.ts, default-bridge.ts) are functions
 * over this context; manager.ts is the facade that implements NetworkManager with them.
 *
 * Bookkeeping (records, port choice, /etc/hosts of peers) runs under `lock`; the slow part (the
 * plugin executions) runs outside it, so containers on one network attach concurrently.
 */
import path from "node:path";
import { Mutex } from "../base/lock.js";
import { createCniRunner, type CniRunner } from "./cni.js";
import { errInvalidArgument, errNotFound } from "./errors.js";
import { writeJsonAtomic } from "./json-files.js";
import type { NetworkDnsServer } from "./dns-server.js";
import { createNetnsDir, type NetnsDir } from "./netns.js";
import { DEFAULT_NETWORK, newNetworkId, type NetworkRecord } from "./network-record.js";
import { CONTAINER_ID, type AttachmentRecord, type SandboxRecord } from "./endpoint-record.js";
import { DEFAULT_ADDRESS_POOLS, type AddressPool } from "./subnet-pool.js";
import type { NetworkManagerOptions } from "./types.js";

const DEFAULT_CNI_PATHS = ["/usr/lib/cni", "/opt/cni/bin"];

export interface NetCtx {
  readonly o: NetworkManagerOptions;
  readonly now: () => Date;
  readonly cni: CniRunner;
  readonly netns: NetnsDir;
  readonly networksDir: string;
  readonly endpointsDir: string;
  readonly ipamDir: string;
  readonly pools: readonly AddressPool[];
  readonly firewall: boolean;
  readonly lock: Mutex;
  /** Serialises the per-network iptables rules: two reconciles listing at once would both add. */
  readonly rulesLock: Mutex;
  /** Networks whose rules were reconciled by this manager (at open, create, or the first attach). */
  readonly rulesReady: Set<string>;
  readonly networks: Map<string, NetworkRecord>;
  readonly sandboxes: Map<string, SandboxRecord>;
  /** The embedded DNS servers of user networks, by network ID (embedded-dns.ts). */
  readonly dnsServers: Map<string, NetworkDnsServer>;
  readonly dnsStarting: Map<string, Promise<NetworkDnsServer | undefined>>;
  dnsClosed: boolean;
}

export function createNetCtx(o: NetworkManagerOptions): NetCtx {
  return {
    o,
    now: o.now ?? (() => new Date()),
    cni: createCniRunner({ paths: o.cniPaths ?? DEFAULT_CNI_PATHS, ...(o.pluginTimeoutMs ? { timeoutMs: o.pluginTimeoutMs } : {}) }),
    netns: createNetnsDir(o.netnsDir ?? path.join(o.stateDir, "netns")),
    networksDir: path.join(o.stateDir, "networks"),
    endpointsDir: path.join(o.stateDir, "endpoints"),
    ipamDir: path.join(o.stateDir, "ipam"),
    pools: o.defaultAddressPools ?? DEFAULT_ADDRESS_POOLS,
    firewall: o.firewall ?? true,
    lock: new Mutex(),
    rulesLock: new Mutex(),
    rulesReady: new Set(),
    networks: new Map(),
    sandboxes: new Map(),
    dnsServers: new Map(),
    dnsStarting: new Map(),
    dnsClosed: false,
  };
}

// ---- network records ------------------------------------------------------------------------

export function newRecord(ctx: NetCtx, name: string, driver: NetworkRecord["driver"], o: { builtin?: boolean; isDefault?: boolean } = {}): NetworkRecord {
  return {
    id: newNetworkId(),
    name,
    driver,
    created: ctx.now().toISOString(),
    builtin: o.builtin ?? false,
    isDefault: o.isDefault ?? false,
    attachable: false,
    internal: false,
    labels: {},
    options: {},
  };
}

export function networkFile(ctx: NetCtx, id: string): string {
  return path.join(ctx.networksDir, `${id}.json`);
}

export async function saveNetwork(ctx: NetCtx, n: NetworkRecord): Promise<void> {
  await writeJsonAtomic(networkFile(ctx, n.id), n);
  ctx.networks.set(n.id, n);
}

export function byName(ctx: NetCtx, name: string): NetworkRecord | undefined {
  for (const n of ctx.networks.values()) if (n.name === name) return n;
  return undefined;
}

export function bridgeNetworks(ctx: NetCtx): NetworkRecord[] {
  return [...ctx.networks.values()].filter((n) => n.driver === "bridge" && n.bridge);
}

/**
 * dockerd's lookup order: full ID, name, unique ID prefix. Names need not be unique (a network
 * created with CheckDuplicate=false): a name shared by several is ambiguous, as in dockerd.
 */
export function findNetwork(ctx: NetCtx, ref: string): NetworkRecord {
  const byId = ctx.networks.get(ref);
  if (byId) return byId;
  const named = [...ctx.networks.values()].filter((n) => n.name === ref);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) throw errInvalidArgument(`network ${ref} is ambiguous (${named.length} matches found based on name)`);
  if (/^[0-9a-f]+$/.test(ref)) {
    const hits = [...ctx.networks.values()].filter((n) => n.id.startsWith(ref));
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) throw errInvalidArgument(`network ${ref} is ambiguous (${hits.length} matches found based on ID prefix)`);
  }
  throw errNotFound(`network ${ref} not found`);
}

export function endpointsOn(ctx: NetCtx, networkId: string): { sb: SandboxRecord; att: AttachmentRecord }[] {
  const out: { sb: SandboxRecord; att: AttachmentRecord }[] = [];
  for (const sb of ctx.sandboxes.values()) for (const att of sb.attachments) if (att.networkId === networkId) out.push({ sb, att });
  return out;
}

/** The default bridge's gateway (what `host-gateway` stands for). */
export function hostGateway(ctx: NetCtx): string | undefined {
  return byName(ctx, DEFAULT_NETWORK)?.bridge?.gateway;
}

// ---- sandbox records ------------------------------------------------------------------------

export function endpointFile(ctx: NetCtx, containerId: string): string {
  return path.join(ctx.endpointsDir, `${containerId}.json`);
}

export async function saveSandbox(ctx: NetCtx, sb: SandboxRecord): Promise<void> {
  await writeJsonAtomic(endpointFile(ctx, sb.containerId), sb);
}

export function checkContainerId(id: string): void {
  if (!CONTAINER_ID.test(id)) throw errInvalidArgument(`invalid container ID ${JSON.stringify(id)}`);
}
