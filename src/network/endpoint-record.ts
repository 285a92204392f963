/** A container's network sandbox as berth persists it: `<state>/endpoints/<container id>.json`. */
import type { CniResult, NetworkConfList } from "./cni.js";
import type { HostsEntry } from "./hosts-file.js";
import type { PublishedPort } from "./ports.js";
import type { DnsOverrides } from "./resolv-conf.js";

export const SCHEMA_VERSION = 1;

/** One network of a container, as persisted: the exact configuration ADD ran with, and its result. */
export interface AttachmentRecord {
  networkId: string;
  networkName: string;
  ifName: string;
  endpointId: string;
  aliases: string[];
  requestedIp?: string;
  links?: string[];
  driverOpts?: Record<string, string>;
  linkLocalIPs?: string[];
  conf: NetworkConfList;
  capabilityArgs: Record<string, unknown>;
  /** The bridge plugin's result; set as soon as it exists (DEL's prevResult). */
  result?: CniResult;
}

/** A container's network sandbox: `<state>/endpoints/<container id>.json`. */
export interface SandboxRecord {
  schemaVersion: number;
  containerId: string;
  sandboxId: string;
  name: string;
  hostname: string;
  domainname: string;
  netnsPath: string;
  /** attaching: ADD under way (or died); detaching: DEL under way (or failed). */
  state: "attaching" | "attached" | "detaching";
  files: { hosts?: string; resolvConf?: string };
  extraHosts: HostsEntry[];
  dns: DnsOverrides;
  exposedPorts: string[];
  published: PublishedPort[];
  attachments: AttachmentRecord[];
}

export interface Address {
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
}

export const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function decodeSandbox(v: unknown): SandboxRecord {
  const r = v as Partial<SandboxRecord> | null;
  if (!r || typeof r !== "object" || r.schemaVersion !== SCHEMA_VERSION || typeof r.containerId !== "string" || !Array.isArray(r.attachments)) {
    throw new Error("not an endpoint record");
  }
  return {
    ...(r as SandboxRecord),
    files: r.files ?? {},
    extraHosts: r.extraHosts ?? [],
    dns: r.dns ?? {},
    exposedPorts: r.exposedPorts ?? [],
    published: r.published ?? [],
  };
}

/** The container-side address of an attachment, from the bridge plugin's result. */
export function addressOf(a: AttachmentRecord): Address | undefined {
  const r = a.result;
  if (!r?.ips) return undefined;
  for (const ipc of r.ips) {
    const iface = ipc.interface !== undefined ? r.interfaces?.[ipc.interface] : undefined;
    if (iface && (iface.name !== a.ifName || !iface.sandbox)) continue;
    if (!ipc.address.includes(".")) continue;
    const [ip, len] = ipc.address.split("/");
    return { ip: ip!, prefixLen: Number(len), gateway: ipc.gateway ?? "", mac: iface?.mac ?? "" };
  }
  return undefined;
}

/** The names an endpoint answers to on a user network: dockerd's DNSNames (name, short ID, aliases). */
export function dnsNames(sb: SandboxRecord, att: AttachmentRecord): string[] {
  return [...new Set([sb.name, sb.containerId.slice(0, 12), ...att.aliases])];
}
