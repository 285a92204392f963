/**
 * berth's own implementation of the CNI `bridge` plugin with `host-local` IPAM, for the
 * configuration berth writes (cni-config.ts): the same veth on the same bridge, the same address,
 * routes, hairpin mode, MTU and result, and host-local's lease files (host-local-store.ts). The two
 * plugins are Go programs, two executions on ADD and two on DEL, ~12 ms of CPU each way per
 * container; this is two runs of `ip` on ADD and none on DEL (the container's namespace is removed
 * right after, and its veth pair with it).
 *
 * ADD:
 *   the bridge, when it is missing or lacks the gateway address: `ip link add BR type bridge`,
 *   the gateway address, up, and net.ipv4.ip_forward (isGateway), once per bridge and daemon;
 *   a lease; `ip -batch`: the veth pair, its container end (with its MAC) moved into the namespace
 *   by path, the host end on the bridge, hairpin, up; `nsenter --net=NS ip -batch`: address, up,
 *   routes.
 * DEL: the lease; the veth only when the namespace stays (a disconnect of a running container).
 * CHECK: the container interface has its address, the host end is on the bridge.
 *
 * The container's MAC is the `mac` capability's, else dockerd's: 02:42 and the four bytes of the
 * IPv4 address.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, readlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CniResult, RuntimeConf } from "./cni.js";
import { parseIPv4 } from "./cidr.js";
import { runCommand } from "./exec.js";
import { deleteLink, ipv4Addresses, linkExists } from "./host-net.js";
import { allocateLease, rangeBounds, releaseLease, type LeaseRange } from "./host-local-store.js";

/** The subset of a bridge plugin configuration (with host-local IPAM) this implements. */
export interface BridgeConf {
  name: string;
  cniVersion: string;
  bridge: string;
  isGateway?: boolean;
  ipMasq?: boolean;
  hairpinMode?: boolean;
  mtu?: number;
  ipam: { type: string; ranges: LeaseRange[][]; routes?: { dst: string; gw?: string }[]; dataDir: string };
  runtimeConfig?: { ips?: string[]; mac?: string };
  prevResult?: CniResult;
}

/** Whether this implementation covers a plugin configuration (else the plugin binary runs). */
export function isBuiltinBridge(plugin: Record<string, unknown>): boolean {
  const ipam = plugin.ipam as { type?: unknown; ranges?: unknown } | undefined;
  return plugin.type === "bridge" && ipam?.type === "host-local" && Array.isArray(ipam.ranges) && ipam.ranges.length === 1 &&
    Array.isArray(ipam.ranges[0]) && ipam.ranges[0].length === 1 && !plugin.ipMasq && !plugin.promiscMode && !plugin.vlan;
}

/** dockerd's MAC for an address: 02:42 followed by its four bytes. */
export function macOf(ip: string): string {
  const n = parseIPv4(ip);
  if (n === undefined) throw new Error(`invalid IPv4 address ${ip}`);
  const b = [0x02, 0x42, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
/** How long the kernel is given to delete a removed namespace's veth pairs before berth does. */
const LINGER_MS = 2000;
const sys = (dev: string, f = "") => path.join("/sys/class/net", dev, f);
const readSys = async (dev: string, f: string) => (await readFile(sys(dev, f), "utf8")).trim();
/** The container's address ("a.b.c.d/len") and the host end of its veth in an ADD result. */
const containerAddress = (r: CniResult | undefined) => r?.ips?.find((x) => x.interface === 2)?.address;
const hostVeth = (r: CniResult | undefined) => {
  const name = r?.interfaces?.[1]?.name;
  return name && IFNAME.test(name) ? name : undefined;
};

export class BuiltinBridge {
  /** Bridges made or checked by this daemon: "<device> <gateway>/<prefix>". */
  readonly #ready = new Set<string>();
  readonly #pending = new Map<string, Promise<void>>();

  async add(c: BridgeConf, rt: RuntimeConf, signal?: AbortSignal): Promise<CniResult> {
    validate(c, rt);
    if (!rt.netns) throw new Error("ADD needs the container's network namespace");
    const range = c.ipam.ranges[0]![0]!;
    const { prefix } = rangeBounds(range);
    await this.#ensureBridge(c.bridge, c.isGateway ? range.gateway : undefined, prefix, c.mtu);
    const requested = c.runtimeConfig?.ips?.[0]?.split("/")[0];
    const ip = await allocateLease(c.ipam.dataDir, c.name, range, rt.containerId, rt.ifName, requested);
    const veth = `veth${randomBytes(4).toString("hex")}`;
    const mac = c.runtimeConfig?.mac ?? macOf(ip);
    const mtu = c.mtu ? ` mtu ${c.mtu}` : "";
    const gw = range.gateway;
    try {
      await runCommand("ip", ["-batch", "-"], signal, [
        `link add name ${veth}${mtu} type veth peer name ${rt.ifName}${mtu} address ${mac} netns ${rt.netns}`,
        `link set ${veth} master ${c.bridge}`,
        ...(c.hairpinMode ? [`link set dev ${veth} type bridge_slave hairpin on`] : []),
        `link set ${veth} up`,
      ].join("\n") + "\n");
      const routes = (c.ipam.routes ?? []).map((r) => {
        const via = r.gw ?? gw;
        return `route add ${r.dst === "0.0.0.0/0" ? "default" : r.dst}${via ? ` via ${via}` : ""} dev ${rt.ifName}`;
      });
      await runCommand("nsenter", [`--net=${rt.netns}`, "ip", "-batch", "-"], signal, [
        `addr add ${ip}/${prefix} dev ${rt.ifName}`,
        `link set ${rt.ifName} up`,
        ...routes,
      ].join("\n") + "\n");
      const [brMac, vethMac] = await Promise.all([readSys(c.bridge, "address"), readSys(veth, "address")]);
      return {
        cniVersion: c.cniVersion,
        interfaces: [{ name: c.bridge, mac: brMac }, { name: veth, mac: vethMac }, { name: rt.ifName, mac, sandbox: rt.netns }],
        ips: [{ interface: 2, address: `${ip}/${prefix}`, ...(gw ? { gateway: gw } : {}) }],
        routes: (c.ipam.routes ?? []).map((r) => ({ ...r })),
        dns: {},
      };
    } catch (e) {
      await deleteLink(veth).catch(() => {});
      await releaseLease(c.ipam.dataDir, c.name, rt.containerId, rt.ifName, ip).catch(() => {});
      throw e;
    }
  }

  async del(c: BridgeConf, rt: RuntimeConf, signal?: AbortSignal): Promise<void> {
    validate(c, rt);
    const veth = hostVeth(c.prevResult);
    if (rt.namespaceGoes) {
      // The kernel deletes the pair with the namespace, unless something else still holds the
      // namespace (a container sharing it with --network container:X): then it is deleted here, as
      // the plugin would have, so its address is not on the bridge twice.
      if (veth) setTimeout(() => void deleteLink(veth).catch(() => {}), LINGER_MS).unref();
    } else if (rt.netns) {
      if (veth && linkExists(veth)) await deleteLink(veth, signal);
      else await runCommand("nsenter", [`--net=${rt.netns}`, "ip", "link", "del", rt.ifName], signal).catch(notFoundOk);
    }
    await releaseLease(c.ipam.dataDir, c.name, rt.containerId, rt.ifName, containerAddress(c.prevResult)?.split("/")[0]);
  }

  async check(c: BridgeConf, rt: RuntimeConf, signal?: AbortSignal): Promise<void> {
    validate(c, rt);
    const want = containerAddress(c.prevResult);
    const veth = hostVeth(c.prevResult);
    if (!want || !veth) throw new Error("CHECK needs the ADD result");
    const master = await readlink(sys(veth, "master")).catch(() => "");
    if (path.basename(master) !== c.bridge) throw new Error(`${veth} is not on bridge ${c.bridge}`);
    if (!(await ipv4Addresses(rt.ifName, rt.netns, signal)).includes(want)) throw new Error(`${rt.ifName} does not have ${want}`);
  }

  /**
   * The bridge with its gateway address, up; IPv4 forwarding on. Once per bridge and address.
   * Attaches waiting on it share the work, so no one attach's signal can cancel it.
   */
  async #ensureBridge(dev: string, gateway: string | undefined, prefix: number, mtu: number | undefined): Promise<void> {
    const key = `${dev} ${gateway ?? ""}/${prefix}`;
    if (this.#ready.has(key) && linkExists(dev)) return;
    let p = this.#pending.get(key);
    if (!p) {
      p = (async () => {
        if (!linkExists(dev)) {
          await runCommand("ip", ["link", "add", "name", dev, ...(mtu ? ["mtu", String(mtu)] : []), "type", "bridge"]).catch((e) => {
            if (!linkExists(dev)) throw e;
          });
        }
        if (!existsSync(sys(dev, "bridge"))) throw new Error(`${JSON.stringify(dev)} already exists but is not a bridge`);
        if (gateway) {
          const want = `${gateway}/${prefix}`;
          if (!(await ipv4Addresses(dev)).includes(want)) await runCommand("ip", ["addr", "add", want, "dev", dev]);
          const fwd = "/proc/sys/net/ipv4/ip_forward";
          if ((await readFile(fwd, "utf8")).trim() !== "1") await writeFile(fwd, "1");
        }
        if ((Number.parseInt(await readSys(dev, "flags"), 16) & 1) === 0) await runCommand("ip", ["link", "set", dev, "up"]);
        this.#ready.add(key);
      })().finally(() => this.#pending.delete(key));
      this.#pending.set(key, p);
    }
    await p;
  }
}

function validate(c: BridgeConf, rt: RuntimeConf): void {
  if (!IFNAME.test(c.bridge) || !IFNAME.test(rt.ifName)) throw new Error(`invalid interface name ${JSON.stringify(IFNAME.test(c.bridge) ? rt.ifName : c.bridge)}`);
  if (/\s/.test(rt.netns)) throw new Error(`invalid namespace path ${JSON.stringify(rt.netns)}`);
  if (c.mtu !== undefined && !Number.isInteger(c.mtu)) throw new Error(`invalid mtu ${String(c.mtu)}`);
  if (c.runtimeConfig?.mac !== undefined && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(c.runtimeConfig.mac)) throw new Error(`invalid MAC address ${c.runtimeConfig.mac}`);
}

function notFoundOk(e: unknown): void {
  if (e instanceof Error && /Cannot find device|does not exist/.test(e.message)) return;
  throw e;
}
