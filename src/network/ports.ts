/**
 * Published ports: the `-p` / `-P` grammar, the Docker API's `HostConfig.PortBindings` map, and the
 * `NetworkSettings.Ports` view. Pure. The grammar is go-connections' `nat.ParsePortSpec`, which the
 * docker CLI uses before it sends the map form; berth's own CLI and the API layer share it here.
 */
import { errInvalidArgument } from "./errors.js";
import { isIPv4 } from "./cidr.js";

export type PortProtocol = "tcp" | "udp";

/** One requested binding of a container port. `hostPort` is "" (any free port), "8080" or "8000-8010". */
export interface PortBindingRequest {
  hostIp: string;
  hostPort: string;
}

/** Keyed by `"<port>/<proto>"` as dockerd keys them ("80/tcp"). */
export type PortBindings = Record<string, PortBindingRequest[]>;

/** A binding after berth chose the host port: what the portmap plugin programs. */
export interface PublishedPort {
  containerPort: number;
  protocol: PortProtocol;
  /** "0.0.0.0" when the request had no host IP. */
  hostIp: string;
  hostPort: number;
}

/** `NetworkSettings.Ports`: exposed-but-unpublished ports map to null, as dockerd shows them. */
export type PortMapView = Record<string, { hostIp: string; hostPort: string }[] | null>;

/** One container port with the host port range to take it from, after validation. */
export interface PortRequest {
  containerPort: number;
  protocol: PortProtocol;
  hostIp: string;
  /** undefined: any free port. */
  hostPorts: { from: number; to: number } | undefined;
}

export const ANY_IPV4 = "0.0.0.0";

function parsePortNumber(s: string, what: string, allowZero = false): number {
  if (!/^\d{1,5}$/.test(s)) throw errInvalidArgument(`invalid ${what}: ${s}`);
  const n = Number(s);
  if (n > 65535 || (n === 0 && !allowZero)) throw errInvalidArgument(`invalid ${what}: ${s}`);
  return n;
}

/** `"8000"` or `"8000-8010"` as an inclusive range. */
export function parsePortRange(s: string, what = "port"): { from: number; to: number } {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw errInvalidArgument(`invalid ${what}: ${s}`);
  const from = parsePortNumber(m[1]!, what, true);
  const to = m[2] === undefined ? from : parsePortNumber(m[2], what, true);
  if (to < from) throw errInvalidArgument(`invalid ${what}: ${s}`);
  return { from, to };
}

function parseProtocol(p: string): PortProtocol {
  const proto = p.toLowerCase();
  if (proto === "tcp" || proto === "udp") return proto;
  if (proto === "sctp") throw errInvalidArgument("sctp ports are not supported by berth");
  throw errInvalidArgument(`invalid proto: ${p}`);
}

/** `"80/tcp"` or `"80"` (tcp) as a number and protocol. */
export function parsePortKey(key: string): { port: number; protocol: PortProtocol } {
  const slash = key.indexOf("/");
  const port = parsePortNumber(slash < 0 ? key : key.slice(0, slash), "port");
  return { port, protocol: slash < 0 ? "tcp" : parseProtocol(key.slice(slash + 1)) };
}

export function portKey(port: number, protocol: PortProtocol): string {
  return `${port}/${protocol}`;
}

function checkHostIp(ip: string): string {
  if (ip === "") return ip;
  if (ip.includes(":")) throw errInvalidArgument(`IPv6 host addresses are not supported by berth: ${ip}`);
  if (!isIPv4(ip)) throw errInvalidArgument(`invalid IP address: ${ip}`);
  return ip;
}

/**
 * One `-p` argument: `[[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTO]`, ports or equal-length ranges;
 * a host range with a single container port is the range to pick a free port from.
 */
export function parsePublish(spec: string): PortBindings {
  const parts = spec.split(":");
  const n = parts.length;
  let containerPart = parts[n - 1]!;
  const hostPort = n >= 2 ? parts[n - 2]! : "";
  let ip = n === 3 ? parts[0]! : n > 3 ? parts.slice(0, n - 2).join(":") : "";
  let proto = "tcp";
  const slash = containerPart.indexOf("/");
  if (slash >= 0) {
    proto = containerPart.slice(slash + 1);
    containerPart = containerPart.slice(0, slash);
  }
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
  checkHostIp(ip);
  if (containerPart === "") throw errInvalidArgument(`no port specified: ${spec}<empty>`);
  let c: { from: number; to: number };
  try {
    c = parsePortRange(containerPart, "containerPort");
  } catch {
    throw errInvalidArgument(`invalid containerPort: ${containerPart}`);
  }
  if (c.from === 0) throw errInvalidArgument(`invalid containerPort: ${containerPart}`);
  let h: { from: number; to: number } | undefined;
  if (hostPort !== "") {
    try {
      h = parsePortRange(hostPort, "hostPort");
    } catch {
      throw errInvalidArgument(`invalid hostPort: ${hostPort}`);
    }
    if (c.to - c.from !== h.to - h.from && c.to !== c.from) {
      throw errInvalidArgument(`invalid ranges specified for container and host Ports: ${containerPart} and ${hostPort}`);
    }
  }
  const protocol = parseProtocol(proto);
  const out: PortBindings = {};
  const count = c.to - c.from + 1;
  for (let i = 0; i < count; i++) {
    let hp = "";
    if (h) {
      hp = String(h.from + i);
      if (count === 1 && h.from !== h.to) hp += `-${h.to}`;
    }
    (out[portKey(c.from + i, protocol)] ??= []).push({ hostIp: ip, hostPort: hp });
  }
  return out;
}

/** Merges binding maps (several `-p` flags); bindings of one port accumulate, as dockerd keeps them. */
export function mergePortBindings(...maps: PortBindings[]): PortBindings {
  const out: PortBindings = {};
  for (const m of maps) for (const [k, list] of Object.entries(m)) (out[k] ??= []).push(...list.map((b) => ({ ...b })));
  return out;
}

/**
 * `HostConfig.PortBindings` as the API sends it: `{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}`;
 * a null or empty list, or a missing HostPort, means one binding to any free port (dockerd).
 */
export function portBindingsFromApi(value: unknown): PortBindings {
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw errInvalidArgument("PortBindings must be an object");
  const out: PortBindings = {};
  for (const [key, list] of Object.entries(value as Record<string, unknown>)) {
    const { port, protocol } = parsePortKey(key);
    const k = portKey(port, protocol);
    const items = list === null ? [] : list;
    if (!Array.isArray(items)) throw errInvalidArgument(`PortBindings[${key}] must be a list`);
    const bindings = (out[k] ??= []);
    if (items.length === 0) bindings.push({ hostIp: "", hostPort: "" });
    for (const item of items as unknown[]) {
      const b = (item ?? {}) as { HostIp?: unknown; HostPort?: unknown };
      const hostIp = typeof b.HostIp === "string" ? b.HostIp : "";
      const hostPort = typeof b.HostPort === "string" ? b.HostPort : typeof b.HostPort === "number" ? String(b.HostPort) : "";
      checkHostIp(hostIp);
      if (hostPort !== "") parsePortRange(hostPort, "hostPort");
      bindings.push({ hostIp, hostPort });
    }
  }
  return out;
}

/** The API map form of a binding map (for `HostConfig.PortBindings` in inspect). */
export function portBindingsToApi(b: PortBindings): Record<string, { HostIp: string; HostPort: string }[]> {
  return Object.fromEntries(Object.entries(b).map(([k, list]) => [k, list.map((x) => ({ HostIp: x.hostIp, HostPort: x.hostPort }))]));
}

/** `-P` / `PublishAllPorts`: every exposed port without a binding gets one to any free port. */
export function withPublishAll(bindings: PortBindings, exposedPorts: readonly string[]): PortBindings {
  const out = mergePortBindings(bindings);
  for (const key of exposedPorts) {
    const { port, protocol } = parsePortKey(key);
    const k = portKey(port, protocol);
    if (!out[k] || out[k].length === 0) out[k] = [{ hostIp: "", hostPort: "" }];
  }
  return out;
}

/** The bindings as validated requests, in a stable order (port, protocol, request order). */
export function portRequests(bindings: PortBindings): PortRequest[] {
  const keys = Object.keys(bindings)
    .map((k) => ({ k, ...parsePortKey(k) }))
    .sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
  const out: PortRequest[] = [];
  for (const { k, port, protocol } of keys) {
    for (const b of bindings[k]!) {
      const hostIp = checkHostIp(b.hostIp) || ANY_IPV4;
      const r = b.hostPort === "" ? undefined : parsePortRange(b.hostPort, "hostPort");
      out.push({ containerPort: port, protocol, hostIp, hostPorts: r && r.from === 0 && r.to === 0 ? undefined : r });
    }
  }
  return out;
}

/** Whether two host bindings claim the same socket: same port and protocol, and the same or a wildcard IP. */
export function bindingsClash(a: { hostIp: string; hostPort: number; protocol: PortProtocol }, b: { hostIp: string; hostPort: number; protocol: PortProtocol }): boolean {
  return a.hostPort === b.hostPort && a.protocol === b.protocol && (a.hostIp === b.hostIp || a.hostIp === ANY_IPV4 || b.hostIp === ANY_IPV4);
}

/** `NetworkSettings.Ports` as dockerd fills it for a running container. */
export function portMapView(exposedPorts: readonly string[], published: readonly PublishedPort[]): PortMapView {
  const view: PortMapView = {};
  for (const key of exposedPorts) {
    const { port, protocol } = parsePortKey(key);
    view[portKey(port, protocol)] = null;
  }
  for (const p of published) {
    const k = portKey(p.containerPort, p.protocol);
    (view[k] ??= []).push({ hostIp: p.hostIp, hostPort: String(p.hostPort) });
  }
  return view;
}
