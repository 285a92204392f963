/**
 * A container's endpoints: planned (validated, no I/O), attached before the task starts (namespace,
 * CNI ADD per network, ports), connected and disconnected while it runs, torn down after it exits.
 */
import { randomBytes } from "node:crypto";
import { parseMac } from "../base/go-parse.js";
import { ensureDns } from "./embedded-dns.js";
import { BerthError, errConflict, errFailedPrecondition, errInvalidArgument, errNotFound } from "./errors.js";
import { bridgeConfList, portMappingsArg } from "./cni-config.js";
import { cidrContains, cidrLast, parseCidr, parseIPv4 } from "./cidr.js";

const LINK_LOCAL = parseCidr("169.254.0.0/16");
import { addressOf, SCHEMA_VERSION, type AttachmentRecord, type SandboxRecord } from "./endpoint-record.js";
import { addLinkLocalAddress, sweepMasquerade } from "./host-net.js";
import { parseExtraHosts, writeInPlace } from "./hosts-file.js";
import { removeFile } from "./json-files.js";
import { checkContainerId, endpointFile, findNetwork, hostGateway, saveSandbox, type NetCtx } from "./manager-context.js";
import { allocatePorts } from "./port-allocator.js";
import { portRequests, withPublishAll } from "./ports.js";
import { ensureRules } from "./rules-sync.js";
import { endpointView, peersOf, refreshHosts, resolvConfOf, settingsView } from "./sandbox-views.js";
import type { AttachRequest, AttachResult, EndpointView, NetworkAttachmentRequest } from "./types.js";

/**
 * Validates one network of a request and builds its attachment (no I/O). The primary (first)
 * network gets the default route, and the published ports when there are any.
 */
function plan(ctx: NetCtx, sb: SandboxRecord, req: NetworkAttachmentRequest, primary: boolean): AttachmentRecord {
  const n = findNetwork(ctx, req.network);
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
    // host-local would refuse it too (the lease file exists), with a less helpful message.
    const aux = Object.values(n.bridge.auxAddresses ?? {}).map(parseIPv4);
    if (aux.includes(ip) || ip === parseIPv4(n.bridge.gateway)) throw errConflict(`Address already in use: ${req.ipv4Address} is reserved on network ${n.name}`);
    requestedIp = req.ipv4Address;
    capabilityArgs.ips = [`${req.ipv4Address}/${subnet.prefix}`];
  }
  if (req.macAddress) {
    // The bridge plugin sets it on the container's interface (its `mac` capability).
    const mac = parseMac(req.macAddress);
    if (!mac) throw errInvalidArgument(`invalid MAC address ${req.macAddress}`);
    capabilityArgs.mac = mac;
  }
  const links = [...(req.links ?? [])];
  for (const l of links) if (!/^[^:]+(:[^:]+)?$/.test(l)) throw errInvalidArgument(`invalid link ${JSON.stringify(l)}: expected name or name:alias`);
  const linkLocalIPs = [...(req.linkLocalIPs ?? [])];
  for (const l of linkLocalIPs) {
    const ip = parseIPv4(l);
    // dockerd accepts IPv6 link-local addresses too; berth's endpoints are IPv4 only (docs/api.md).
    if (ip === undefined || !cidrContains(LINK_LOCAL, ip)) throw errInvalidArgument(`invalid link local IP address: ${l}`);
  }
  const driverOpts = req.driverOpts && Object.keys(req.driverOpts).length > 0 ? { ...req.driverOpts } : undefined;
  const used = new Set(sb.attachments.map((a) => a.ifName));
  let i = 0;
  while (used.has(`eth${i}`)) i++;
  // dockerd publishes no port of a container whose gateway network is internal (its ports show {}).
  const publishes = primary && sb.published.length > 0 && !n.internal;
  if (publishes) capabilityArgs.portMappings = portMappingsArg(sb.published);
  return {
    networkId: n.id,
    networkName: n.name,
    ifName: `eth${i}`,
    endpointId: randomBytes(32).toString("hex"),
    aliases,
    ...(requestedIp ? { requestedIp } : {}),
    ...(links.length > 0 ? { links } : {}),
    ...(driverOpts ? { driverOpts } : {}),
    ...(linkLocalIPs.length > 0 ? { linkLocalIPs } : {}),
    conf: bridgeConfList(n, { ipamDir: ctx.ipamDir, primary, portmap: publishes }),
    capabilityArgs,
  };
}

export function validate(ctx: NetCtx, req: Omit<AttachRequest, "signal" | "files">): void {
  if (req.networks.length === 0) throw errInvalidArgument("at least one network is needed");
  const scratch: SandboxRecord = {
    schemaVersion: SCHEMA_VERSION, containerId: "", sandboxId: "", name: req.name, hostname: req.hostname, domainname: "",
    netnsPath: "", state: "attaching", files: {}, extraHosts: [], dns: {}, exposedPorts: [], published: [], attachments: [],
  };
  req.networks.forEach((r, i) => scratch.attachments.push(plan(ctx, scratch, r, i === 0)));
  parseExtraHosts(req.extraHosts ?? [], hostGateway(ctx));
  portRequests(req.publishAllPorts ? withPublishAll(req.portBindings ?? {}, req.exposedPorts ?? []) : req.portBindings ?? {});
}

export async function attach(ctx: NetCtx, containerId: string, req: AttachRequest): Promise<AttachResult> {
  checkContainerId(containerId);
  const { signal } = req;
  if (req.networks.length === 0) throw errInvalidArgument("attach needs at least one network");
  if (!req.name || !req.hostname) throw errInvalidArgument("attach needs the container's name and hostname");
  // A previous run's endpoint the engine did not detach (a crash between exit and detach).
  if (ctx.sandboxes.has(containerId)) await detach(ctx, containerId, signal);
  const sb = await ctx.lock.run(async () => {
    if (ctx.sandboxes.has(containerId)) throw errConflict(`container ${containerId} is being attached already`);
    const sb: SandboxRecord = {
      schemaVersion: SCHEMA_VERSION,
      containerId,
      sandboxId: randomBytes(32).toString("hex"),
      name: req.name.replace(/^\//, ""),
      hostname: req.hostname,
      domainname: req.domainname ?? "",
      netnsPath: ctx.netns.pathOf(containerId),
      state: "attaching",
      files: { ...(req.files ?? {}) },
      extraHosts: parseExtraHosts(req.extraHosts ?? [], hostGateway(ctx)),
      dns: req.dns ?? {},
      exposedPorts: [...(req.exposedPorts ?? [])],
      published: [],
      attachments: [],
    };
    const bindings = req.publishAllPorts ? withPublishAll(req.portBindings ?? {}, sb.exposedPorts) : req.portBindings ?? {};
    let requests = portRequests(bindings);
    // Validate every network before choosing ports (which probes the host).
    req.networks.forEach((r, i) => sb.attachments.push(plan(ctx, sb, r, i === 0)));
    if (ctx.networks.get(sb.attachments[0]!.networkId)?.internal) {
      // As dockerd: nothing is published through an internal network, and NetworkSettings.Ports is {}.
      requests = [];
      sb.exposedPorts = [];
    }
    if (requests.length > 0) {
      const taken = [...ctx.sandboxes.values()].flatMap((s) => s.published);
      try {
        sb.published = await allocatePorts(requests, { taken, ...(ctx.o.probePort ? { probe: ctx.o.probePort } : {}) });
      } catch (e) {
        if (e instanceof BerthError && e.kind === "conflict") {
          e.message = `driver failed programming external connectivity on endpoint ${sb.name} (${sb.attachments[0]!.endpointId.slice(0, 12)}): ${e.message}`;
        }
        throw e;
      }
      // The primary network again, now with its portmap plugin and the chosen ports.
      sb.attachments[0] = { ...plan(ctx, { ...sb, attachments: [] }, req.networks[0]!, true), endpointId: sb.attachments[0]!.endpointId };
    }
    ctx.sandboxes.set(containerId, sb);
    return sb;
  });
  try {
    // Intent before action: a crash from here on leaves a record reconcile can undo.
    await saveSandbox(ctx, sb);
    await ensureRules(ctx, sb.attachments.map((a) => a.networkId), signal);
    // The namespace comes with its loopback up (netns.ts): no CNI loopback plugin process.
    await ctx.netns.create(containerId, signal);
    for (const att of sb.attachments) await add(ctx, sb, att, signal);
    // The first user network whose embedded DNS listens names the container's resolver (dockerd: 127.0.0.11).
    let dnsGateway: string | undefined;
    for (const att of sb.attachments) {
      const server = await ensureDns(ctx, att.networkId);
      dnsGateway ??= server?.address;
    }
    if (sb.files.resolvConf) await writeInPlace(sb.files.resolvConf, (await resolvConfOf(ctx, sb.dns, dnsGateway)).content);
    sb.state = "attached";
    await saveSandbox(ctx, sb);
    await ctx.lock.run(() => refreshHosts(ctx, peersOf(ctx, sb, true)));
    return { netnsPath: sb.netnsPath, settings: settingsView(ctx, sb) };
  } catch (e) {
    await teardown(ctx, sb).catch(() => {});
    throw e;
  }
}

/**
 * CNI ADD of one attachment; the bridge plugin's result is saved before a next plugin (portmap)
 * runs. When the bridge is the list's last plugin, the caller's save right after records it: a
 * crash in between leaves an "attaching" record without result, whose DEL (reconcile) needs none
 * (the bridge plugin finds the veth by namespace and name, host-local the lease by container ID).
 */
async function add(ctx: NetCtx, sb: SandboxRecord, att: AttachmentRecord, signal?: AbortSignal): Promise<void> {
  const rt = { containerId: sb.containerId, netns: sb.netnsPath, ifName: att.ifName, capabilityArgs: att.capabilityArgs };
  const last = att.conf.plugins.at(-1)?.type;
  await ctx.cni.add(att.conf, rt, signal, async (plugin, result) => {
    if (plugin !== "bridge") return;
    att.result = result;
    if (last !== "bridge") await saveSandbox(ctx, sb);
  });
  // The interface exists now; its extra addresses go with it at DEL.
  for (const ip of att.linkLocalIPs ?? []) await addLinkLocalAddress(sb.netnsPath, att.ifName, ip, signal);
}

export async function connect(ctx: NetCtx, containerId: string, req: NetworkAttachmentRequest, signal?: AbortSignal): Promise<EndpointView> {
  const { sb, att } = await ctx.lock.run(() => {
    const sb = ctx.sandboxes.get(containerId);
    if (!sb || sb.state !== "attached") throw errFailedPrecondition(`container ${containerId} has no network endpoints (not running)`);
    // Not the first network: no default route, no published ports.
    const att = plan(ctx, sb, req, false);
    sb.attachments.push(att);
    return { sb, att };
  });
  try {
    await saveSandbox(ctx, sb);
    await ensureRules(ctx, [att.networkId], signal);
    await add(ctx, sb, att, signal);
    await saveSandbox(ctx, sb);
    await ensureDns(ctx, att.networkId);
  } catch (e) {
    await ctx.cni.del(att.conf, { containerId, netns: sb.netnsPath, ifName: att.ifName, capabilityArgs: att.capabilityArgs }, att.result).catch(() => {});
    sb.attachments = sb.attachments.filter((a) => a !== att);
    await saveSandbox(ctx, sb).catch(() => {});
    throw e;
  }
  await ctx.lock.run(() => refreshHosts(ctx, peersOf(ctx, sb, true)));
  return endpointView(ctx, sb, att);
}

export async function disconnect(ctx: NetCtx, containerId: string, networkRef: string, signal?: AbortSignal): Promise<void> {
  const sb = ctx.sandboxes.get(containerId);
  const n = findNetwork(ctx, networkRef);
  const att = sb?.attachments.find((a) => a.networkId === n.id);
  if (!sb || !att) throw errFailedPrecondition(`container ${containerId} is not connected to network ${n.name}`);
  const before = peersOf(ctx, sb, true);
  await ctx.cni.del(att.conf, { containerId, netns: sb.netnsPath, ifName: att.ifName, capabilityArgs: att.capabilityArgs }, att.result, signal);
  sb.attachments = sb.attachments.filter((a) => a !== att);
  if (att.conf.plugins.some((p) => p.type === "portmap")) sb.published = [];
  await saveSandbox(ctx, sb);
  await ctx.lock.run(() => refreshHosts(ctx, before));
}

export async function detach(ctx: NetCtx, containerId: string, signal?: AbortSignal): Promise<void> {
  checkContainerId(containerId);
  const sb = ctx.sandboxes.get(containerId);
  if (!sb) {
    // No endpoint: still drop a namespace a crashed attach may have left.
    await ctx.netns.remove(containerId);
    return;
  }
  const peers = peersOf(ctx, sb, false);
  await teardown(ctx, sb, signal);
  await ctx.lock.run(() => refreshHosts(ctx, peers));
}

/**
 * CNI DEL of every attachment (last first), then the namespace and the record. A failed DEL keeps
 * the record, marked detaching, for the next reconcile; the namespace goes regardless.
 */
export async function teardown(ctx: NetCtx, sb: SandboxRecord, signal?: AbortSignal): Promise<void> {
  sb.state = "detaching";
  await saveSandbox(ctx, sb).catch(() => {});
  const mounted = await ctx.netns.isMounted(sb.netnsPath);
  let failure: unknown;
  for (const att of [...sb.attachments].reverse()) {
    // The namespace is removed below, with the container's end of each veth pair.
    const rt = { containerId: sb.containerId, netns: mounted ? sb.netnsPath : "", ifName: att.ifName, capabilityArgs: att.capabilityArgs, namespaceGoes: true };
    try {
      await ctx.cni.del(att.conf, rt, att.result, signal);
      // Without the namespace the bridge plugin cannot find the address whose NAT rules it made
      // (endpoints made by a berth whose bridge plugin still had ipMasq on).
      const addr = addressOf(att);
      const masq = att.conf.plugins.some((p) => p.type === "bridge" && p.ipMasq === true);
      if (!mounted && addr && masq) await sweepMasquerade(att.conf.name, sb.containerId, addr.ip);
    } catch (e) {
      failure ??= e;
    }
  }
  await ctx.netns.remove(sb.containerId);
  // Kept (in memory and on disk) on failure: the next detach or reconcile runs DEL again, and the
  // network cannot be removed meanwhile.
  if (failure !== undefined) throw failure;
  await removeFile(endpointFile(ctx, sb.containerId));
  ctx.sandboxes.delete(sb.containerId);
}

export async function rename(ctx: NetCtx, containerId: string, name: string): Promise<void> {
  const sb = ctx.sandboxes.get(containerId);
  if (!sb) return;
  sb.name = name.replace(/^\//, "");
  await saveSandbox(ctx, sb);
  await ctx.lock.run(() => refreshHosts(ctx, peersOf(ctx, sb, true)));
}

export async function check(ctx: NetCtx, containerId: string, signal?: AbortSignal): Promise<void> {
  const sb = ctx.sandboxes.get(containerId);
  if (!sb || sb.state !== "attached") throw errNotFound(`container ${containerId} has no network endpoints`);
  for (const att of sb.attachments) {
    if (!att.result) throw errFailedPrecondition(`endpoint of ${containerId} on ${att.networkName} has no CNI result`);
    // portmap 1.1.1's CHECK also looks for its chain in ip6tables and fails for an IPv4-only
    // container (fixed upstream by "Only check ipv6 when an IPv6 is configured", fb5d195f).
    const conf = { ...att.conf, plugins: att.conf.plugins.filter((p) => p.type !== "portmap") };
    await ctx.cni.check(conf, { containerId, netns: sb.netnsPath, ifName: att.ifName, capabilityArgs: att.capabilityArgs }, att.result, signal);
  }
}
