// A default bridge device that exists already (left by an earlier berthd, another root, or made
// by hand) keeps its address: berth takes its subnet, as dockerd does with an existing docker0,
// instead of choosing another one and failing at every `docker run` when the CNI bridge plugin
// finds the device with a different address.
import { errFailedPrecondition } from "../base/errors.js";
import { runCommand } from "./exec.js";
import type { IpAddrJson } from "./host-net.js";

/** The first global IPv4 address of the device in `ip -j addr show` output, as "a.b.c.d/len". */
export function firstIPv4(json: string): string | undefined {
  let links: IpAddrJson[];
  try {
    links = JSON.parse(json) as IpAddrJson[];
  } catch {
    return undefined;
  }
  for (const l of links) {
    const a = (l.addr_info ?? []).find((x) => x.family === "inet" && x.local && x.prefixlen !== undefined && x.scope !== "host");
    if (a) return `${a.local}/${a.prefixlen}`;
  }
  return undefined;
}

/**
 * The --bip to use for the default bridge `device`: the configured one, else the address the
 * device already has (undefined when it does not exist or has none: berth chooses).
 */
export async function adoptBridgeAddress(device: string, bip: string | undefined, read: (dev: string) => Promise<string> = readAddr): Promise<string | undefined> {
  if (bip) return bip;
  let out: string;
  try {
    out = await read(device);
  } catch {
    return undefined; // no such device
  }
  const have = firstIPv4(out);
  if (!have) return undefined;
  const prefix = Number(have.split("/")[1]);
  if (prefix > 30) {
    throw errFailedPrecondition(
      `the bridge ${device} exists with address ${have}, too small a subnet for containers: ` +
        `delete it (ip link delete ${device}) or give berthd --bip with the subnet to use`,
    );
  }
  return have;
}

async function readAddr(dev: string): Promise<string> {
  return runCommand("ip", ["-j", "-4", "addr", "show", "dev", dev]);
}
