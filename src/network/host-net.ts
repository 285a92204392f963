/**
 * The host-side facts and fix-ups the CNI plugins do not cover: the host's routes (for the subnet
 * choice), bridge devices (deleted when their network is), and the bridge plugin's per-container
 * masquerade chain when the container's namespace is already gone (endpoints added by a berth whose
 * bridge plugin still had ipMasq on; masquerade is a per-network rule now, network-rules.ts).
 */
import { createHash } from "node:crypto";
import { runCommand } from "./exec.js";
import type { HostRoute } from "./subnet-pool.js";

/** The IPv4 routes of the main table (`ip -4 -j route`). */
export async function readHostRoutes(signal?: AbortSignal): Promise<HostRoute[]> {
  const out = await runCommand("ip", ["-4", "-j", "route", "show", "table", "main"], signal);
  const parsed = JSON.parse(out || "[]") as { dst?: string; dev?: string }[];
  return parsed.filter((r) => typeof r.dst === "string").map((r) => ({ dst: r.dst!, ...(r.dev ? { dev: r.dev } : {}) }));
}

export async function linkExists(dev: string): Promise<boolean> {
  try {
    await runCommand("ip", ["-j", "link", "show", "dev", dev]);
    return true;
  } catch {
    return false;
  }
}

/** Deletes a device; no error when it does not exist. */
/** `--link-local-ip`: the address on the container's interface, /16 as dockerd adds it. */
export async function addLinkLocalAddress(netnsPath: string, ifName: string, ip: string, signal?: AbortSignal): Promise<void> {
  await runCommand("nsenter", [`--net=${netnsPath}`, "ip", "addr", "add", `${ip}/16`, "dev", ifName], signal);
}

export async function deleteLink(dev: string): Promise<void> {
  if (await linkExists(dev)) await runCommand("ip", ["link", "delete", dev]);
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
