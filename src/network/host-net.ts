/**
 * The host-side facts and fix-ups the CNI plugins do not cover: the host's routes (for the subnet
 * choice), bridge devices (deleted when their network is), and the bridge plugin's per-container
 * masquerade chain when the container's namespace is already gone (endpoints added by a berth whose
 * bridge plugin still had ipMasq on; masquerade is a per-network rule now, network-rules.ts).
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { runCommand } from "./exec.js";
import type { HostRoute } from "./subnet-pool.js";

/** The IPv4 routes of the main table (`ip -4 -j route`). */
export async function readHostRoutes(signal?: AbortSignal): Promise<HostRoute[]> {
  const out = await runCommand("ip", ["-4", "-j", "route", "show", "table", "main"], signal);
  const parsed = JSON.parse(out || "[]") as { dst?: string; dev?: string }[];
  return parsed.filter((r) => typeof r.dst === "string").map((r) => ({ dst: r.dst!, ...(r.dev ? { dev: r.dev } : {}) }));
}

/** Whether the host namespace has the device: its sysfs entry, no `ip` run. */
export function linkExists(dev: string): boolean {
  return /^[^/\0]{1,15}$/.test(dev) && dev !== "." && dev !== ".." && existsSync(path.join("/sys/class/net", dev));
}

/** `ip -j addr show` output of a device. */
export interface IpAddrJson {
  ifname?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[];
}

/** The IPv4 addresses of a device ("a.b.c.d/len"), in the host namespace or in `netnsPath`. */
export async function ipv4Addresses(dev: string, netnsPath?: string, signal?: AbortSignal): Promise<string[]> {
  const args = ["-j", "-4", "addr", "show", "dev", dev];
  const out = netnsPath ? await runCommand("nsenter", [`--net=${netnsPath}`, "ip", ...args], signal) : await runCommand("ip", args, signal);
  return (JSON.parse(out || "[]") as IpAddrJson[]).flatMap((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
}

/** `--link-local-ip`: the address on the container's interface, /16 as dockerd adds it. */
export async function addLinkLocalAddress(netnsPath: string, ifName: string, ip: string, signal?: AbortSignal): Promise<void> {
  await runCommand("nsenter", [`--net=${netnsPath}`, "ip", "addr", "add", `${ip}/16`, "dev", ifName], signal);
}

/** Deletes a device; no error when it does not exist. */
export async function deleteLink(dev: string, signal?: AbortSignal): Promise<void> {
  if (linkExists(dev)) await runCommand("ip", ["link", "delete", dev], signal);
}

/** The chain name and comment the bridge plugin's ipMasq uses (plugins/pkg/utils FormatChainName). */
export function masqChainOf(cniName: string, containerId: string): { chain: string; comment: string } {
  const hash = createHash("sha512").update(cniName + containerId).digest("hex");
  return { chain: ("CNI-" + hash).slice(0, 28), comment: `name: ${JSON.stringify(cniName)} id: ${JSON.stringify(containerId)}` };
}

/**
 * Removes the bridge plugin's masquerade rules for a container. The plugin's own DEL removes them
 * only when it finds the container's interface; after the namespace is gone (a reboot, a crash
 * between unmount and DEL) berth removes them itself. Missing rules are not an error.
 */
export async function sweepMasquerade(cniName: string, containerId: string, ip: string): Promise<void> {
  const { chain, comment } = masqChainOf(cniName, containerId);
  await runCommand("iptables", ["-w", "-t", "nat", "-D", "POSTROUTING", "-s", ip, "-j", chain, "-m", "comment", "--comment", comment]).catch(() => {});
  await runCommand("iptables", ["-w", "-t", "nat", "-F", chain]).catch(() => {});
  await runCommand("iptables", ["-w", "-t", "nat", "-X", chain]).catch(() => {});
}
