// Legacy container links (`docker run --link name:alias` on the default bridge): the link
// reference and the environment dockerd 20.10 gives the linking container (moby's links
// package: <ALIAS>_NAME, <ALIAS>_PORT*, <ALIAS>_ENV_*). Pure; the engine supplies the linked
// container's address, exposed ports and environment at start.
import { errInvalidArgument } from "../base/errors.js";

/** "name:alias" or "name" (alias = name), a leading "/" dropped, as moby's ParseLink. */
export function parseLink(spec: string): { name: string; alias: string } {
  const parts = spec.split(":");
  const name = (parts[0] ?? "").replace(/^\//, "");
  const alias = (parts[1] ?? name).replace(/^\//, "");
  if (parts.length > 2 || name === "" || alias === "") throw errInvalidArgument(`bad format for links: ${spec}`);
  return { name, alias };
}

interface Port {
  port: number;
  proto: string;
}

function parsePort(p: string): Port {
  const [num = "", proto = "tcp"] = p.split("/");
  return { port: Number.parseInt(num, 10), proto: proto.toLowerCase() };
}

/** Ascending by number; at the same number tcp first (moby's link sort). */
function sortPorts(ports: Port[]): Port[] {
  return [...ports].sort((a, b) => a.port - b.port || (a.proto === "tcp" ? -1 : 0) - (b.proto === "tcp" ? -1 : 0));
}

/**
 * The last index of the run of ports from `index` whose numbers go up by one per entry — moby's
 * rule, which counts every entry (a udp port after the tcp one of the same number too).
 */
function runEnd(ports: readonly Port[], index: number): number {
  let value = ports[index]!.port;
  for (let i = index + 1; i < ports.length; i++) {
    if (ports[i]!.port > value + 1) return i - 1;
    value++;
  }
  return ports.length - 1;
}

export interface LinkEnvInput {
  /** The link's full name: "/<linking container>/<alias>". */
  linkName: string;
  /** The linked container's address on the default bridge ("" without one). */
  ip: string;
  /** The linked container's exposed ports: "80/tcp", "53/udp", "8080". */
  exposedPorts: readonly string[];
  /** The linked container's configured environment ("K=v"). */
  env: readonly string[];
}

/** The variables one link adds, in dockerd's order. */
export function linkEnv(l: LinkEnvInput): string[] {
  const alias = l.linkName.slice(l.linkName.lastIndexOf("/") + 1).toUpperCase().replaceAll("-", "_");
  const ports = sortPorts(l.exposedPorts.map(parsePort).filter((p) => Number.isInteger(p.port)));
  const out: string[] = [];
  const key = (p: Port) => `${alias}_PORT_${p.port}_${p.proto.toUpperCase()}`;
  const url = (p: Port) => `${p.proto}://${l.ip}:${p.port}`;
  if (ports.length > 0) out.push(`${alias}_PORT=${url(ports[0]!)}`);
  for (let i = 0; i < ports.length; ) {
    const p = ports[i]!;
    const j = runEnd(ports, i);
    if (j > i + 1) {
      const q = ports[j]!;
      out.push(`${key(p)}_START=${url(p)}`, `${key(p)}_ADDR=${l.ip}`, `${key(p)}_PROTO=${p.proto}`, `${key(p)}_PORT_START=${p.port}`);
      // The end keeps the start's number with the last port's protocol (as moby names it).
      const endKey = `${alias}_PORT_${p.port}_${q.proto.toUpperCase()}`;
      out.push(`${endKey}_END=${url(q)}`, `${endKey}_PORT_END=${q.port}`);
      i = j + 1;
    } else {
      i++;
    }
  }
  for (const p of ports) {
    out.push(`${key(p)}=${url(p)}`, `${key(p)}_ADDR=${l.ip}`, `${key(p)}_PORT=${p.port}`, `${key(p)}_PROTO=${p.proto}`);
  }
  out.push(`${alias}_NAME=${l.linkName}`);
  for (const v of l.env) {
    const eq = v.indexOf("=");
    if (eq < 0) continue;
    const k = v.slice(0, eq);
    // Variables every image has say nothing about the linked container.
    if (k === "HOME" || k === "PATH") continue;
    out.push(`${alias}_ENV_${k}=${v.slice(eq + 1)}`);
  }
  // A run's start repeats the port's _ADDR and _PROTO: one variable each, as the process sees it.
  const byKey = new Map<string, string>();
  for (const v of out) byKey.set(v.slice(0, v.indexOf("=")), v);
  return [...byKey.values()];
}
