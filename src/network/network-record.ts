/**
 * A network as berth keeps it: `<state>/networks/<id>.json`. The predefined `bridge`, `host` and
 * `none` networks have records too, so their IDs are stable like dockerd's.
 */
import { randomBytes } from "node:crypto";
import { errInvalidArgument } from "./errors.js";

export type NetworkDriver = "bridge" | "host" | "null";

export interface BridgeSettings {
  /** The Linux bridge device: "berth0", "br-<id12>". */
  device: string;
  subnet: string;
  gateway: string;
  /** `--ip-range`: the part of the subnet container addresses come from. */
  ipRange?: string;
  mtu?: number;
  /** Outbound NAT for the subnet (bridge plugin ipMasq; dockerd's enable_ip_masquerade). */
  ipMasq: boolean;
  /** The subnet came from the user (--subnet): fixed container addresses (--ip) are allowed. */
  userSubnet?: boolean;
  /** The gateway came from the user (--gateway); inspect shows a gateway only then or when berth chose the subnet, as dockerd. */
  userGateway?: boolean;
  /** `--aux-address`: name → address, reserved in the subnet (never given to a container). */
  auxAddresses?: Record<string, string>;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: NetworkDriver;
  /** RFC 3339. */
  created: string;
  /** The predefined bridge, host and none networks: cannot be removed. */
  builtin: boolean;
  /** The default network of containers without a network (`bridge`): no name resolution between peers. */
  isDefault: boolean;
  attachable: boolean;
  internal: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** The create request's IPAM options: dockerd shows null when the request had none, else the map. */
  ipamOptions?: Record<string, string>;
  bridge?: BridgeSettings;
}

export const DEFAULT_NETWORK = "bridge";
export const HOST_NETWORK = "host";
export const NONE_NETWORK = "none";
export const PREDEFINED_NETWORKS: readonly string[] = [DEFAULT_NETWORK, HOST_NETWORK, NONE_NETWORK];

/** dockerd's bridge driver options that berth honours. */
export const OPT_BRIDGE_NAME = "com.docker.network.bridge.name";
export const OPT_MTU = "com.docker.network.driver.mtu";
export const OPT_IP_MASQ = "com.docker.network.bridge.enable_ip_masquerade";
export const OPT_DEFAULT_BRIDGE = "com.docker.network.bridge.default_bridge";

/**
 * dockerd 20.10 takes any non-empty network name (spaces, "/", a leading "-"): names are data in
 * berth too, never a path or a device (those use the ID).
 */
export function validateNetworkName(name: string): void {
  if (name === "") throw errInvalidArgument("invalid name: ");
}

/** Linux interface names: at most 15 bytes, no "/" or whitespace. */
export function validateDeviceName(dev: string): void {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(dev)) throw errInvalidArgument(`invalid bridge name ${JSON.stringify(dev)}: at most 15 of [A-Za-z0-9_.-]`);
}

export function newNetworkId(): string {
  return randomBytes(32).toString("hex");
}

/** The name of the network in CNI (chain names, IPAM directory): stable for the network's life. */
export function cniNetworkName(n: Pick<NetworkRecord, "id">): string {
  return `berth-${n.id.slice(0, 12)}`;
}

export function decodeNetworkRecord(v: unknown): NetworkRecord {
  const r = v as Partial<NetworkRecord> | null;
  if (!r || typeof r !== "object" || typeof r.id !== "string" || !/^[0-9a-f]{64}$/.test(r.id) || typeof r.name !== "string") {
    throw new Error("not a network record");
  }
  if (r.driver !== "bridge" && r.driver !== "host" && r.driver !== "null") throw new Error(`unknown driver ${String(r.driver)}`);
  if (r.driver === "bridge" && (!r.bridge || typeof r.bridge.subnet !== "string" || typeof r.bridge.device !== "string")) {
    throw new Error("bridge network without bridge settings");
  }
  return {
    id: r.id,
    name: r.name,
    driver: r.driver,
    created: typeof r.created === "string" ? r.created : new Date(0).toISOString(),
    builtin: r.builtin === true,
    isDefault: r.isDefault === true,
    attachable: r.attachable === true,
    internal: r.internal === true,
    labels: { ...(r.labels ?? {}) },
    options: { ...(r.options ?? {}) },
    ...(r.ipamOptions ? { ipamOptions: { ...r.ipamOptions } } : {}),
    ...(r.bridge ? { bridge: { ...r.bridge } } : {}),
  };
}
