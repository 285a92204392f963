/**
 * berth's networks: records of bridge networks, and each container's endpoints on them realised
 * with the standard CNI plugins (bridge + host-local, portmap, loopback) in a namespace berth
 * creates before the task starts; outbound NAT and FORWARD accepts are iptables rules per network
 * (network-rules.ts). See docs/network.md for the design and the engine's calls.
 *
 * Bookkeeping (records, port choice, /etc/hosts of peers) runs under one lock; the slow part (the
 * plugin executions) runs outside it, so containers on one network attach concurrently.
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile, rm, unlink } from "node:fs/promises";
import path from "node:path";
import { createCniRunner, type CniRunner } from "./cni.js";
import { bridgeConfList, LOOPBACK_CONF, portMappingsArg } from "./cni-config.js";
import { cidrContains, cidrLast, cidrOverlaps, cidrWithin, firstHost, formatCidr, formatIPv4, parseCidr, parseInterface, parseIPv4, type Cidr } from "./cidr.js";
import {
  BerthError,
  errConflict,
  errFailedPrecondition,
  errInvalidArgument,
  errNotFound,
  errNotImplemented,
  errPermissionDenied,
} from "./errors.js";
import { deleteLink, readHostRoutes, sweepMasquerade } from "./host-net.js";
import { networkRules, reconcileNetworkRules, ruleTagOf, type NetworkRule } from "./network-rules.js";
import { parseExtraHosts, renderHosts, selfNames, writeInPlace, type HostsEntry } from "./hosts-file.js";
import { loadJsonDir, removeFile, writeJsonAtomic } from "./json-files.js";
import { createNetnsDir, type NetnsDir } from "./netns.js";
import {
  cniNetworkName,
  DEFAULT_NETWORK,
  decodeNetworkRecord,
  HOST_NETWORK,
  newNetworkId,
  NONE_NETWORK,
  OPT_BRIDGE_NAME,
  OPT_DEFAULT_BRIDGE,
  OPT_IP_MASQ,
  OPT_MTU,
  validateDeviceName,
  validateNetworkName,
  type NetworkRecord,
} from "./network-record.js";
import { allocatePorts } from "./port-allocator.js";
import { portMapView, portRequests, withPublishAll } from "./ports.js";
import { renderResolvConf, SYSTEMD_RESOLVED_UPSTREAM, usesResolvedStub, type DnsOverrides } from "./resolv-conf.js";
import { chooseSubnet, DEFAULT_ADDRESS_POOLS, DEFAULT_BRIDGE_CANDIDATES, firstFree, routedPrefixes, type AddressPool } from "./subnet-pool.js";
import { addressOf, CONTAINER_ID, decodeSandbox, dnsNames, SCHEMA_VERSION, type AttachmentRecord, type SandboxRecord } from "./endpoint-record.js";
import { Mutex } from "../base/lock.js";
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

const DEFAULT_CNI_PATHS = ["/usr/lib/cni", "/opt/cni/bin"];
const DEFAULT_BRIDGE_DEVICE = "berth0";

export async function createNetworkManager(o: NetworkManagerOptions): Promise<NetworkManager> {
  const m = new Manager(o);
  await m.open();
  return m;
}

class Manager implements NetworkManager {
  readonly #o: NetworkManagerOptions;
  readonly #now: () => Date;
  readonly #cni: CniRunner;
  readonly #netns: NetnsDir;
  readonly #networksDir: string;
  readonly #endpointsDir: string;
  readonly #ipamDir: string;
  readonly #pools: readonly AddressPool[];
  readonly #firewall: boolean;
  readonly #lock = new Mutex();
  /** Serialises the per-network iptables rules: two reconciles listing at once would both add. */
  readonly #rulesLock = new Mutex();
  /** Networks whose rules were reconciled by this manager (at open, create, or the first attach). */
  readonly #rulesReady = new Set<string>();
  readonly #networks = new Map<string, NetworkRecord>();
  readonly #sandboxes = new Map<string, SandboxRecord>();
  readonly #inflight = new Set<Promise<unknown>>();
  #closed = false;
  loadProblems: { path: string; message: string }[] = [];

  constructor(o: NetworkManagerOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.#cni = createCniRunner({ paths: o.cniPaths ?? DEFAULT_CNI_PATHS, ...(o.pluginTimeoutMs ? { timeoutMs: o.pluginTimeoutMs } : {}) });
    this.#netns = createNetnsDir(o.netnsDir ?? path.join(o.stateDir, "netns"));
    this.#networksDir = path.join(o.stateDir, "networks");
    this.#endpointsDir = path.join(o.stateDir, "endpoints");
    this.#ipamDir = path.join(o.stateDir, "ipam");
    this.#pools = o.defaultAddressPools ?? DEFAULT_ADDRESS_POOLS;
    this.#firewall = o.firewall ?? true;
  }

  // ---- open / close ---------------------------------------------------------------------

  async open(): Promise<void> {
    const nets = await loadJsonDir(this.#networksDir, decodeNetworkRecord);
    for (const n of nets.values) this.#networks.set(n.id, n);
    const sbs = await loadJsonDir(this.#endpointsDir, decodeSandbox);
    for (const s of sbs.values) this.#sandboxes.set(s.containerId, s);
    this.loadProblems = [...nets.problems, ...sbs.problems];
    await this.#ensurePredefined();
    // The per-network rules, as dockerd sets up its bridge's at start: a crash or an older berth
    // may have left them missing, doubled or for an old subnet. A host without iptables still
    // opens (none/host containers need none); the first attach to a network tries again.
    try {
      await this.#reconcileRules(this.#bridgeNetworks());
    } catch (e) {
      this.loadProblems.push({ path: "iptables", message: `per-network rules: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  #rulesOf(n: NetworkRecord): { tag: string; rules: NetworkRule[] } {
    return { tag: ruleTagOf(n), rules: networkRules(n, { forward: this.#firewall }) };
  }

  /** Makes the rules of these networks what their records ask for. */
  async #reconcileRules(nets: readonly NetworkRecord[], signal?: AbortSignal): Promise<void> {
    await this.#rulesLock.run(async () => {
      await reconcileNetworkRules(new Map(nets.map((n) => [n.id, this.#rulesOf(n)])), signal);
      for (const n of nets) this.#rulesReady.add(n.id);
    });
  }

  /** Deletes a network's rules (all of them, whatever configuration made them). */
  async #removeRules(n: NetworkRecord): Promise<void> {
    await this.#rulesLock.run(async () => {
      this.#rulesReady.delete(n.id);
      await reconcileNetworkRules(new Map([[n.id, { tag: ruleTagOf(n), rules: [] }]]));
    });
  }

  /** Before an attachment: the networks' rules, unless reconciled already (the usual case: no exec). */
  async #ensureRules(networkIds: readonly string[], signal?: AbortSignal): Promise<void> {
    const missing = networkIds.filter((id) => !this.#rulesReady.has(id)).map((id) => this.#networks.get(id)).filter((n) => n !== undefined);
    if (missing.length > 0) await this.#reconcileRules(missing, signal);
  }

  async #ensurePredefined(): Promise<void> {
    for (const [name, driver] of [[HOST_NETWORK, "host"], [NONE_NETWORK, "null"]] as const) {
      if (this.#byName(name)) continue;
      await this.#saveNetwork(this.#newRecord(name, driver, { builtin: true }));
    }
    const want = this.#o.defaultBridge ?? {};
    const device = want.name ?? DEFAULT_BRIDGE_DEVICE;
    validateDeviceName(device);
    let subnet: Cidr | undefined;
    let gateway: number | undefined;
    if (want.bip) {
      const bip = parseInterface(want.bip);
      subnet = parseCidr(want.bip);
      gateway = bip.address === subnet.base ? firstHost(subnet) : bip.address;
    }
    const existing = this.#byName(DEFAULT_NETWORK);
    if (existing?.bridge) {
      const b = existing.bridge;
      const changed = b.device !== device || (subnet && (b.subnet !== formatCidr(subnet) || b.gateway !== formatIPv4(gateway!))) || (want.mtu ?? 0) !== (b.mtu ?? 0);
      // A new --bip or name applies once no container is on the old bridge (as dockerd needs a restart).
      if (!changed || this.#endpointsOn(existing.id).length > 0) return;
      await deleteLink(b.device);
      await rm(path.join(this.#ipamDir, cniNetworkName(existing)), { recursive: true, force: true });
      if (!subnet) {
        subnet = parseCidr(b.subnet);
        gateway = parseIPv4(b.gateway);
      }
      existing.bridge = { device, subnet: formatCidr(subnet), gateway: formatIPv4(gateway!), ipMasq: true, ...(want.mtu ? { mtu: want.mtu } : {}) };
      existing.options = { ...existing.options, [OPT_BRIDGE_NAME]: device };
      await this.#saveNetwork(existing);
      return;
    }
    if (!subnet) {
      const routes = await (this.#o.readRoutes ?? readHostRoutes)();
      const used = [...routedPrefixes(routes, new Set([device])), ...this.#bridgeNetworks().map((n) => parseCidr(n.bridge!.subnet))];
      subnet = firstFree(DEFAULT_BRIDGE_CANDIDATES.map((c) => parseCidr(c)), used) ?? chooseSubnet(this.#pools, used);
      gateway = firstHost(subnet);
    }
    const rec = this.#newRecord(DEFAULT_NETWORK, "bridge", { builtin: true, isDefault: true });
    rec.bridge = { device, subnet: formatCidr(subnet), gateway: formatIPv4(gateway!), ipMasq: true, ...(want.mtu ? { mtu: want.mtu } : {}) };
    rec.options = {
      [OPT_DEFAULT_BRIDGE]: "true",
      [OPT_IP_MASQ]: "true",
      [OPT_BRIDGE_NAME]: device,
      ...(want.mtu ? { [OPT_MTU]: String(want.mtu) } : {}),
    };
    await this.#saveNetwork(rec);
  }

  get hostGateway(): string | undefined {
    return this.#byName(DEFAULT_NETWORK)?.bridge?.gateway;
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
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

  // ---- network records --------------------------------------------------------------------

  #newRecord(name: string, driver: NetworkRecord["driver"], o: { builtin?: boolean; isDefault?: boolean } = {}): NetworkRecord {
    return {
      id: newNetworkId(),
      name,
      driver,
      created: this.#now().toISOString(),
      builtin: o.builtin ?? false,
      isDefault: o.isDefault ?? false,
      attachable: false,
      internal: false,
      labels: {},
      options: {},
    };
  }

  async #saveNetwork(n: NetworkRecord): Promise<void> {
    await writeJsonAtomic(path.join(this.#networksDir, `${n.id}.json`), n);
    this.#networks.set(n.id, n);
  }

  #byName(name: string): NetworkRecord | undefined {
    for (const n of this.#networks.values()) if (n.name === name) return n;
    return undefined;
  }

  #bridgeNetworks(): NetworkRecord[] {
    return [...this.#networks.values()].filter((n) => n.driver === "bridge" && n.bridge);
  }

  /** dockerd's lookup order: full ID, name, unique ID prefix. */
  #find(ref: string): NetworkRecord {
    const byId = this.#networks.get(ref);
    if (byId) return byId;
    const byName = this.#byName(ref);
    if (byName) return byName;
    if (/^[0-9a-f]+$/.test(ref)) {
      const hits = [...this.#networks.values()].filter((n) => n.id.startsWith(ref));
      if (hits.length === 1) return hits[0]!;
      if (hits.length > 1) throw errInvalidArgument(`network ${ref} is ambiguous (${hits.length} matches found based on ID prefix)`);
    }
    throw errNotFound(`network ${ref} not found`);
  }

  #endpointsOn(networkId: string): { sb: SandboxRecord; att: AttachmentRecord }[] {
    const out: { sb: SandboxRecord; att: AttachmentRecord }[] = [];
    for (const sb of this.#sandboxes.values()) for (const att of sb.attachments) if (att.networkId === networkId) out.push({ sb, att });
    return out;
  }

  #view(n: NetworkRecord): NetworkView {
    const containers: NetworkView["containers"] = {};
    for (const { sb, att } of this.#endpointsOn(n.id)) {
      const a = addressOf(att);
      containers[sb.containerId] = {
        name: sb.name,
        endpointId: att.endpointId,
        macAddress: a?.mac ?? "",
        ipv4Address: a ? `${a.ip}/${a.prefixLen}` : "",
        ipv6Address: "",
      };
    }
    const b = n.bridge;
    return {
      id: n.id,
      name: n.name,
      driver: n.driver,
      scope: "local",
      created: new Date(n.created),
      enableIPv6: false,
      internal: n.internal,
      attachable: n.attachable,
      ingress: false,
      configOnly: false,
      ipam: { driver: "default", options: {}, config: b ? [{ subnet: b.subnet, gateway: b.gateway, ...(b.ipRange ? { ipRange: b.ipRange } : {}) }] : [] },
      options: { ...n.options },
      labels: { ...n.labels },
      containers,
    };
  }

  listNetworks(): NetworkView[] {
    return [...this.#networks.values()].sort((a, b) => a.name.localeCompare(b.name)).map((n) => this.#view(n));
  }

  inspectNetwork(ref: string): NetworkView {
    return this.#view(this.#find(ref));
  }

  createNetwork(o: NetworkCreateOptions): Promise<NetworkView> {
    return this.#track(() => this.#lock.run(() => this.#createNetwork(o)));
  }

  async #createNetwork(o: NetworkCreateOptions): Promise<NetworkView> {
    validateNetworkName(o.name);
    if (this.#byName(o.name)) throw errConflict(`network with name ${o.name} already exists`);
    const driver = o.driver || "bridge";
    if (driver !== "bridge") throw errNotImplemented(`network driver ${JSON.stringify(driver)} is not supported by berth (bridge only)`);
    if (o.internal) throw errNotImplemented("internal networks are not supported by berth");
    if (o.enableIPv6) throw errNotImplemented("IPv6 networks are not supported by berth");
    const options = { ...(o.options ?? {}) };
    const others = this.#bridgeNetworks();
    let subnet: Cidr;
    let userSubnet = false;
    if (o.subnet) {
      subnet = parseCidr(o.subnet, { strict: true });
      if (subnet.prefix > 30) throw errInvalidArgument(`invalid subnet ${o.subnet}: too small for a network`);
      userSubnet = true;
      if (others.some((n) => cidrOverlaps(subnet, parseCidr(n.bridge!.subnet)))) {
        throw errConflict("Pool overlaps with other one on this address space");
      }
    } else {
      if (o.gateway || o.ipRange) throw errInvalidArgument("a gateway or an IP range needs a subnet (--subnet)");
      const routes = await (this.#o.readRoutes ?? readHostRoutes)();
      const own = new Set(others.map((n) => n.bridge!.device));
      subnet = chooseSubnet(this.#pools, [...routedPrefixes(routes, own), ...others.map((n) => parseCidr(n.bridge!.subnet))]);
    }
    let gateway = firstHost(subnet);
    if (o.gateway) {
      const g = parseIPv4(o.gateway);
      if (g === undefined) throw errInvalidArgument(`invalid gateway address ${o.gateway}`);
      if (!cidrContains(subnet, g) || g === subnet.base || g === cidrLast(subnet)) {
        throw errInvalidArgument(`gateway ${o.gateway} is not a host address of subnet ${formatCidr(subnet)}`);
      }
      gateway = g;
    }
    let ipRange: string | undefined;
    if (o.ipRange) {
      const r = parseCidr(o.ipRange, { strict: true });
      if (!cidrWithin(r, subnet)) throw errInvalidArgument(`IP range ${o.ipRange} is not inside subnet ${formatCidr(subnet)}`);
      ipRange = formatCidr(r);
    }
    const rec = this.#newRecord(o.name, "bridge");
    const device = options[OPT_BRIDGE_NAME] || `br-${rec.id.slice(0, 12)}`;
    validateDeviceName(device);
    if (others.some((n) => n.bridge!.device === device)) throw errConflict(`bridge name ${device} is used by another network`);
    let mtu: number | undefined;
    if (options[OPT_MTU]) {
      mtu = Number(options[OPT_MTU]);
      if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw errInvalidArgument(`invalid MTU ${options[OPT_MTU]}`);
    }
    rec.attachable = o.attachable ?? false;
    rec.labels = { ...(o.labels ?? {}) };
    rec.options = options;
    rec.bridge = {
      device,
      subnet: formatCidr(subnet),
      gateway: formatIPv4(gateway),
      ipMasq: options[OPT_IP_MASQ] !== "false",
      ...(ipRange ? { ipRange } : {}),
      ...(mtu ? { mtu } : {}),
      ...(userSubnet ? { userSubnet } : {}),
    };
    // The record before the rules: a crash in between leaves a network whose rules the next open
    // makes, never rules without a network.
    await this.#saveNetwork(rec);
    try {
      await this.#reconcileRules([rec]);
    } catch (e) {
      await this.#removeRules(rec).catch(() => {});
      await removeFile(path.join(this.#networksDir, `${rec.id}.json`)).catch(() => {});
      this.#networks.delete(rec.id);
      throw e;
    }
    return this.#view(rec);
  }

  removeNetwork(ref: string): Promise<void> {
    return this.#track(() => this.#lock.run(() => this.#removeNetwork(this.#find(ref))));
  }

  async #removeNetwork(n: NetworkRecord): Promise<void> {
    if (n.builtin) throw errPermissionDenied(`${n.name} is a pre-defined network and cannot be removed`);
    const eps = this.#endpointsOn(n.id);
    if (eps.length > 0) {
      const names = eps.map(({ sb }) => `name:${JSON.stringify(sb.name)} id:${JSON.stringify(sb.containerId.slice(0, 12))}`).join(", ");
      throw errConflict(`error while removing network: network ${n.name} has active endpoints (${names})`);
    }
    // The rules and the device before the record: a crash in between leaves a record to remove
    // again (its rules made again at the next open), never rules or a bridge without one.
    if (n.bridge) await this.#removeRules(n);
    if (n.bridge) await deleteLink(n.bridge.device);
    await rm(path.join(this.#ipamDir, cniNetworkName(n)), { recursive: true, force: true });
    await removeFile(path.join(this.#networksDir, `${n.id}.json`));
    this.#networks.delete(n.id);
  }

  pruneNetworks(keep?: (n: NetworkView) => boolean): Promise<string[]> {
    return this.#track(() =>
      this.#lock.run(async () => {
        const removed: string[] = [];
        for (const n of [...this.#networks.values()]) {
          if (n.builtin || this.#endpointsOn(n.id).length > 0 || keep?.(this.#view(n))) continue;
          await this.#removeNetwork(n);
          removed.push(n.name);
        }
        return removed.sort();
      }),
    );
  }

  // ---- endpoints --------------------------------------------------------------------------

  netnsPath(containerId: string): string {
    checkContainerId(containerId);
    return this.#netns.pathOf(containerId);
  }

  #endpointFile(containerId: string): string {
    return path.join(this.#endpointsDir, `${containerId}.json`);
  }

  async #saveSandbox(sb: SandboxRecord): Promise<void> {
    await writeJsonAtomic(this.#endpointFile(sb.containerId), sb);
  }

  /**
   * Validates one network of a request and builds its attachment (no I/O). The primary (first)
   * network gets the default route, and the published ports when there are any.
   */
  #plan(sb: SandboxRecord, req: NetworkAttachmentRequest, primary: boolean): AttachmentRecord {
    const n = this.#find(req.network);
    if (n.driver !== "bridge" || !n.bridge) {
      throw errInvalidArgument(`container cannot be attached to network ${n.name}: network mode ${n.name} needs no attachment`);
    }
    if (sb.attachments.some((a) => a.networkId === n.id)) {
      throw errConflict(`endpoint with name ${sb.name} already exists in network ${n.name}`);
    }
    const aliases = [...new Set(req.aliases ?? [])];
    if (n.isDefault && aliases.length > 0) throw errInvalidArgument("network-scoped alias is supported only for containers in user defined networks");
    const capabilityArgs: Record<string, unknown> = {};
    let requestedIp: string | undefined;
    if (req.ipv4Address) {
      if (n.isDefault) throw errInvalidArgument("user specified IP address is supported on user defined networks only");
      if (!n.bridge.userSubnet) throw errInvalidArgument("user specified IP address is supported only when connecting to networks with user configured subnets");
      const ip = parseIPv4(req.ipv4Address);
      const subnet = parseCidr(n.bridge.subnet);
      if (ip === undefined) throw errInvalidArgument(`invalid IPv4 address ${req.ipv4Address}`);
      if (!cidrContains(subnet, ip) || ip === subnet.base || ip === cidrLast(subnet)) {
        throw errInvalidArgument(`Invalid address ${req.ipv4Address}: It does not belong to any of this network's subnets`);
      }
      requestedIp = req.ipv4Address;
      capabilityArgs.ips = [`${req.ipv4Address}/${subnet.prefix}`];
    }
    if (req.macAddress) {
      if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(req.macAddress)) throw errInvalidArgument(`invalid MAC address ${req.macAddress}`);
      capabilityArgs.mac = req.macAddress.toLowerCase();
    }
    const used = new Set(sb.attachments.map((a) => a.ifName));
    let i = 0;
    while (used.has(`eth${i}`)) i++;
    const publishes = primary && sb.published.length > 0;
    if (publishes) capabilityArgs.portMappings = portMappingsArg(sb.published);
    return {
      networkId: n.id,
      networkName: n.name,
      ifName: `eth${i}`,
      endpointId: randomBytes(32).toString("hex"),
      aliases,
      ...(requestedIp ? { requestedIp } : {}),
      conf: bridgeConfList(n, { ipamDir: this.#ipamDir, primary, portmap: publishes }),
      capabilityArgs,
    };
  }

  validate(req: Omit<AttachRequest, "signal" | "files">): void {
    if (req.networks.length === 0) throw errInvalidArgument("at least one network is needed");
    const scratch: SandboxRecord = {
      schemaVersion: SCHEMA_VERSION, containerId: "", sandboxId: "", name: req.name, hostname: req.hostname, domainname: "",
      netnsPath: "", state: "attaching", files: {}, extraHosts: [], dns: {}, exposedPorts: [], published: [], attachments: [],
    };
    req.networks.forEach((r, i) => scratch.attachments.push(this.#plan(scratch, r, i === 0)));
    parseExtraHosts(req.extraHosts ?? [], this.hostGateway);
    portRequests(req.publishAllPorts ? withPublishAll(req.portBindings ?? {}, req.exposedPorts ?? []) : req.portBindings ?? {});
  }

  attach(containerId: string, req: AttachRequest): Promise<AttachResult> {
    return this.#track(() => this.#attach(containerId, req));
  }

  async #attach(containerId: string, req: AttachRequest): Promise<AttachResult> {
    checkContainerId(containerId);
    const { signal } = req;
    if (req.networks.length === 0) throw errInvalidArgument("attach needs at least one network");
    if (!req.name || !req.hostname) throw errInvalidArgument("attach needs the container's name and hostname");
    // A previous run's endpoint the engine did not detach (a crash between exit and detach).
    if (this.#sandboxes.has(containerId)) await this.#detach(containerId, signal);
    const sb = await this.#lock.run(async () => {
      if (this.#sandboxes.has(containerId)) throw errConflict(`container ${containerId} is being attached already`);
      const sb: SandboxRecord = {
        schemaVersion: SCHEMA_VERSION,
        containerId,
        sandboxId: randomBytes(32).toString("hex"),
        name: req.name.replace(/^\//, ""),
        hostname: req.hostname,
        domainname: req.domainname ?? "",
        netnsPath: this.#netns.pathOf(containerId),
        state: "attaching",
        files: { ...(req.files ?? {}) },
        extraHosts: parseExtraHosts(req.extraHosts ?? [], this.hostGateway),
        dns: req.dns ?? {},
        exposedPorts: [...(req.exposedPorts ?? [])],
        published: [],
        attachments: [],
      };
      const bindings = req.publishAllPorts ? withPublishAll(req.portBindings ?? {}, sb.exposedPorts) : req.portBindings ?? {};
      const requests = portRequests(bindings);
      // Validate every network before choosing ports (which probes the host).
      req.networks.forEach((r, i) => sb.attachments.push(this.#plan(sb, r, i === 0)));
      if (requests.length > 0) {
        const taken = [...this.#sandboxes.values()].flatMap((s) => s.published);
        try {
          sb.published = await allocatePorts(requests, { taken, ...(this.#o.probePort ? { probe: this.#o.probePort } : {}) });
        } catch (e) {
          if (e instanceof BerthError && e.kind === "conflict") {
            e.message = `driver failed programming external connectivity on endpoint ${sb.name} (${sb.attachments[0]!.endpointId.slice(0, 12)}): ${e.message}`;
          }
          throw e;
        }
        // The primary network again, now with its portmap plugin and the chosen ports.
        sb.attachments[0] = { ...this.#plan({ ...sb, attachments: [] }, req.networks[0]!, true), endpointId: sb.attachments[0]!.endpointId };
      }
      this.#sandboxes.set(containerId, sb);
      return sb;
    });
    try {
      // Intent before action: a crash from here on leaves a record reconcile can undo.
      await this.#saveSandbox(sb);
      await this.#ensureRules(sb.attachments.map((a) => a.networkId), signal);
      await this.#netns.create(containerId, signal);
      await this.#cni.add(LOOPBACK_CONF, { containerId, netns: sb.netnsPath, ifName: "lo" }, signal);
      for (const att of sb.attachments) await this.#add(sb, att, signal);
      if (sb.files.resolvConf) await writeInPlace(sb.files.resolvConf, (await this.#resolvConf(sb.dns)).content);
      sb.state = "attached";
      await this.#saveSandbox(sb);
      await this.#lock.run(() => this.#refreshHosts(this.#peersOf(sb, true)));
      return { netnsPath: sb.netnsPath, settings: this.#settings(sb) };
    } catch (e) {
      await this.#teardown(sb).catch(() => {});
      throw e;
    }
  }

  /** CNI ADD of one attachment; the bridge plugin's result is saved before the next plugin runs. */
  async #add(sb: SandboxRecord, att: AttachmentRecord, signal?: AbortSignal): Promise<void> {
    const rt = { containerId: sb.containerId, netns: sb.netnsPath, ifName: att.ifName, capabilityArgs: att.capabilityArgs };
    await this.#cni.add(att.conf, rt, signal, async (plugin, result) => {
      if (plugin !== "bridge") return;
      att.result = result;
      await this.#saveSandbox(sb);
    });
  }

  async #resolvConf(dns: DnsOverrides) {
    const hostPath = this.#o.resolvConfPath ?? "/etc/resolv.conf";
    let host = await readFile(hostPath, "utf8").catch(() => "");
    if (usesResolvedStub(host)) host = await readFile(SYSTEMD_RESOLVED_UPSTREAM, "utf8").catch(() => host);
    return renderResolvConf(host, dns);
  }

  connect(containerId: string, req: NetworkAttachmentRequest, signal?: AbortSignal): Promise<EndpointView> {
    return this.#track(async () => {
      const { sb, att } = await this.#lock.run(() => {
        const sb = this.#sandboxes.get(containerId);
        if (!sb || sb.state !== "attached") throw errFailedPrecondition(`container ${containerId} has no network endpoints (not running)`);
        // Not the first network: no default route, no published ports.
        const att = this.#plan(sb, req, false);
        sb.attachments.push(att);
        return { sb, att };
      });
      try {
        await this.#saveSandbox(sb);
        await this.#ensureRules([att.networkId], signal);
        await this.#add(sb, att, signal);
        await this.#saveSandbox(sb);
      } catch (e) {
        await this.#cni.del(att.conf, { containerId, netns: sb.netnsPath, ifName: att.ifName, capabilityArgs: att.capabilityArgs }, att.result).catch(() => {});
        sb.attachments = sb.attachments.filter((a) => a !== att);
        await this.#saveSandbox(sb).catch(() => {});
        throw e;
      }
      await this.#lock.run(() => this.#refreshHosts(this.#peersOf(sb, true)));
      return this.#endpointView(sb, att);
    });
  }

  disconnect(containerId: string, networkRef: string, signal?: AbortSignal): Promise<void> {
    return this.#track(async () => {
      const sb = this.#sandboxes.get(containerId);
      const n = this.#find(networkRef);
      const att = sb?.attachments.find((a) => a.networkId === n.id);
      if (!sb || !att) throw errFailedPrecondition(`container ${containerId} is not connected to network ${n.name}`);
      const before = this.#peersOf(sb, true);
      await this.#cni.del(att.conf, { containerId, netns: sb.netnsPath, ifName: att.ifName, capabilityArgs: att.capabilityArgs }, att.result, signal);
      sb.attachments = sb.attachments.filter((a) => a !== att);
      if (att.conf.plugins.some((p) => p.type === "portmap")) sb.published = [];
      await this.#saveSandbox(sb);
      await this.#lock.run(() => this.#refreshHosts(before));
    });
  }

  detach(containerId: string, signal?: AbortSignal): Promise<void> {
    return this.#track(() => this.#detach(containerId, signal));
  }

  async #detach(containerId: string, signal?: AbortSignal): Promise<void> {
    checkContainerId(containerId);
    const sb = this.#sandboxes.get(containerId);
    if (!sb) {
      // No endpoint: still drop a namespace a crashed attach may have left.
      await this.#netns.remove(containerId);
      return;
    }
    const peers = this.#peersOf(sb, false);
    await this.#teardown(sb, signal);
    await this.#lock.run(() => this.#refreshHosts(peers));
  }

  /**
   * CNI DEL of every attachment (last first), then the namespace and the record. A failed DEL keeps
   * the record, marked detaching, for the next reconcile; the namespace goes regardless.
   */
  async #teardown(sb: SandboxRecord, signal?: AbortSignal): Promise<void> {
    sb.state = "detaching";
    await this.#saveSandbox(sb).catch(() => {});
    const mounted = await this.#netns.isMounted(sb.netnsPath);
    let failure: unknown;
    for (const att of [...sb.attachments].reverse()) {
      const rt = { containerId: sb.containerId, netns: mounted ? sb.netnsPath : "", ifName: att.ifName, capabilityArgs: att.capabilityArgs };
      try {
        await this.#cni.del(att.conf, rt, att.result, signal);
        // Without the namespace the bridge plugin cannot find the address whose NAT rules it made
        // (endpoints made by a berth whose bridge plugin still had ipMasq on).
        const addr = addressOf(att);
        const masq = att.conf.plugins.some((p) => p.type === "bridge" && p.ipMasq === true);
        if (!mounted && addr && masq) await sweepMasquerade(att.conf.name, sb.containerId, addr.ip);
      } catch (e) {
        failure ??= e;
      }
    }
    await this.#netns.remove(sb.containerId);
    // Kept (in memory and on disk) on failure: the next detach or reconcile runs DEL again, and the
    // network cannot be removed meanwhile.
    if (failure !== undefined) throw failure;
    await removeFile(this.#endpointFile(sb.containerId));
    this.#sandboxes.delete(sb.containerId);
  }

  rename(containerId: string, name: string): Promise<void> {
    return this.#track(async () => {
      const sb = this.#sandboxes.get(containerId);
      if (!sb) return;
      sb.name = name.replace(/^\//, "");
      await this.#saveSandbox(sb);
      await this.#lock.run(() => this.#refreshHosts(this.#peersOf(sb, true)));
    });
  }

  check(containerId: string, signal?: AbortSignal): Promise<void> {
    return this.#track(async () => {
      const sb = this.#sandboxes.get(containerId);
      if (!sb || sb.state !== "attached") throw errNotFound(`container ${containerId} has no network endpoints`);
      for (const att of sb.attachments) {
        if (!att.result) throw errFailedPrecondition(`endpoint of ${containerId} on ${att.networkName} has no CNI result`);
        // portmap 1.1.1's CHECK also looks for its chain in ip6tables and fails for an IPv4-only
        // container (fixed upstream by "Only check ipv6 when an IPv6 is configured", fb5d195f).
        const conf = { ...att.conf, plugins: att.conf.plugins.filter((p) => p.type !== "portmap") };
        await this.#cni.check(conf, { containerId, netns: sb.netnsPath, ifName: att.ifName, capabilityArgs: att.capabilityArgs }, att.result, signal);
      }
    });
  }

  settings(containerId: string): NetworkSettingsView | undefined {
    const sb = this.#sandboxes.get(containerId);
    return sb && sb.state === "attached" ? this.#settings(sb) : undefined;
  }

  #endpointView(sb: SandboxRecord, att: AttachmentRecord): EndpointView {
    const a = addressOf(att);
    const n = this.#networks.get(att.networkId);
    const user = !n?.isDefault;
    return {
      networkId: att.networkId,
      networkName: n?.name ?? att.networkName,
      endpointId: att.endpointId,
      ifName: att.ifName,
      ipAddress: a?.ip ?? "",
      ipPrefixLen: a?.prefixLen ?? 0,
      gateway: a?.gateway ?? "",
      macAddress: a?.mac ?? "",
      aliases: [...att.aliases],
      dnsNames: user ? dnsNames(sb, att) : [],
      ...(att.requestedIp ? { ipamConfig: { ipv4Address: att.requestedIp } } : {}),
    };
  }

  #settings(sb: SandboxRecord): NetworkSettingsView {
    const networks: Record<string, EndpointView> = {};
    let top: EndpointView | undefined;
    for (const att of sb.attachments) {
      const v = this.#endpointView(sb, att);
      networks[v.networkName] = v;
      if (this.#networks.get(att.networkId)?.isDefault) top = v;
    }
    return {
      sandboxId: sb.sandboxId,
      sandboxKey: sb.netnsPath,
      ipAddress: top?.ipAddress ?? "",
      ipPrefixLen: top?.ipPrefixLen ?? 0,
      gateway: top?.gateway ?? "",
      macAddress: top?.macAddress ?? "",
      ports: portMapView(sb.exposedPorts, sb.published),
      published: sb.published.map((p) => ({ ...p })),
      networks,
    };
  }

  // ---- /etc/hosts ---------------------------------------------------------------------------

  /** Sandboxes sharing a user-defined network with `sb` (and `sb` itself when `self`). */
  #peersOf(sb: SandboxRecord, self: boolean): SandboxRecord[] {
    const nets = new Set(sb.attachments.map((a) => a.networkId).filter((id) => !this.#networks.get(id)?.isDefault));
    const out = self ? [sb] : [];
    for (const o of this.#sandboxes.values()) {
      if (o !== sb && o.attachments.some((a) => nets.has(a.networkId))) out.push(o);
    }
    return out;
  }

  async #refreshHosts(sandboxes: readonly SandboxRecord[]): Promise<void> {
    for (const sb of sandboxes) {
      if (!sb.files.hosts || !this.#sandboxes.has(sb.containerId)) continue;
      await writeInPlace(sb.files.hosts, this.#hostsContent(sb)).catch(() => {
        // The container's directory went away under it (removed concurrently): nothing to keep current.
      });
    }
  }

  #hostsContent(sb: SandboxRecord): string {
    const self: HostsEntry[] = [];
    const peers: HostsEntry[] = [];
    const seenPeers = new Set<string>();
    for (const att of sb.attachments) {
      const a = addressOf(att);
      if (!a) continue;
      const user = !this.#networks.get(att.networkId)?.isDefault;
      // A container resolves its own name and aliases on a user network too (dockerd's DNS does).
      const names = [...selfNames(sb.hostname, sb.domainname), ...(user ? [sb.name, ...att.aliases] : [])];
      self.push({ ip: a.ip, names: [...new Set(names)] });
      if (!user) continue;
      for (const o of this.#sandboxes.values()) {
        if (o === sb || seenPeers.has(o.containerId) || o.state === "detaching") continue;
        const oa = o.attachments.find((x) => x.networkId === att.networkId);
        const addr = oa && addressOf(oa);
        if (!oa || !addr) continue;
        seenPeers.add(o.containerId);
        peers.push({ ip: addr.ip, names: dnsNames(o, oa) });
      }
    }
    return renderHosts({ extra: sb.extraHosts, self, peers });
  }

  // ---- reconcile ----------------------------------------------------------------------------

  reconcile(liveContainerIds: Iterable<string>, signal?: AbortSignal): Promise<ReconcileReport> {
    return this.#track(() => this.#reconcile(new Set(liveContainerIds), signal));
  }

  async #reconcile(live: Set<string>, signal?: AbortSignal): Promise<ReconcileReport> {
    const report: ReconcileReport = { detached: [], netns: [], leases: [], errors: [] };
    for (const sb of [...this.#sandboxes.values()]) {
      if (live.has(sb.containerId) && sb.state === "attached") continue;
      try {
        await this.#teardown(sb, signal);
        report.detached.push(sb.containerId);
      } catch (e) {
        report.errors.push({ containerId: sb.containerId, message: e instanceof Error ? e.message : String(e) });
      }
    }
    for (const ns of await this.#netns.list()) {
      if (this.#sandboxes.has(ns.id)) continue;
      await this.#netns.remove(ns.id);
      report.netns.push(ns.id);
    }
    report.leases = await this.#sweepLeases();
    await this.#lock.run(() => this.#refreshHosts([...this.#sandboxes.values()]));
    report.detached.sort();
    return report;
  }

  /**
   * host-local lease files (`<ipam>/<cni name>/<ip>`, holding "<container id>\r\n<ifname>") of no
   * endpoint berth knows, and directories of networks that no longer exist.
   */
  async #sweepLeases(): Promise<string[]> {
    const removed: string[] = [];
    const byCni = new Map(this.#bridgeNetworks().map((n) => [cniNetworkName(n), n]));
    let dirs: string[];
    try {
      dirs = await readdir(this.#ipamDir);
    } catch {
      return removed;
    }
    for (const d of dirs) {
      const dir = path.join(this.#ipamDir, d);
      const n = byCni.get(d);
      if (!n) {
        await rm(dir, { recursive: true, force: true });
        removed.push(dir);
        continue;
      }
      const holders = new Set(this.#endpointsOn(n.id).map(({ sb, att }) => `${sb.containerId}\r\n${att.ifName}`));
      for (const f of await readdir(dir)) {
        if (parseIPv4(f) === undefined) continue;
        const p = path.join(dir, f);
        const content = (await readFile(p, "utf8").catch(() => "")).trim();
        if (holders.has(content)) continue;
        await unlink(p).catch(() => {});
        removed.push(p);
      }
    }
    return removed;
  }
}

function checkContainerId(id: string): void {
  if (!CONTAINER_ID.test(id)) throw errInvalidArgument(`invalid container ID ${JSON.stringify(id)}`);
}
