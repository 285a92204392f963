/**
 * Chooses host ports for published ports. portmap programs DNAT rules and holds no socket (dockerd's
 * docker-proxy does), so berth checks both its own bindings and the host's sockets: a port another
 * container publishes is "already allocated"; a port a host process listens on is refused rather
 * than silently shadowed by the DNAT rule. A free port is the one the kernel hands out for a bind
 * to port 0 (from net.ipv4.ip_local_port_range), as for dockerd's ephemeral ports.
 */
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { BerthError, errConflict, errInvalidArgument } from "./errors.js";
import { bindingsClash, type PortProtocol, type PortRequest, type PublishedPort } from "./ports.js";

/**
 * Binds `hostIp:port` (0: any) for `protocol`, releases it and returns the port bound; rejects with
 * the bind error (code EADDRINUSE, EADDRNOTAVAIL, ...).
 */
export type PortProbe = (hostIp: string, port: number, protocol: PortProtocol) => Promise<number>;

export const probeHostPort: PortProbe = (hostIp, port, protocol) =>
  new Promise<number>((resolve, reject) => {
    if (protocol === "udp") {
      const s = createSocket({ type: "udp4" });
      s.once("error", (e) => {
        s.close();
        reject(e);
      });
      s.bind({ address: hostIp, port, exclusive: true }, () => {
        const bound = s.address().port;
        s.close(() => resolve(bound));
      });
      return;
    }
    const srv = createServer();
    srv.once("error", reject);
    srv.listen({ host: hostIp, port, exclusive: true }, () => {
      const addr = srv.address();
      const bound = typeof addr === "object" && addr ? addr.port : port;
      srv.close(() => resolve(bound));
    });
  });

export interface AllocateOptions {
  /** Host bindings other containers hold. */
  taken: readonly PublishedPort[];
  probe?: PortProbe;
  /** Tries for an ephemeral port before giving up (a kernel-chosen port may be one berth holds). */
  attempts?: number;
}

function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function bindError(hostIp: string, port: number, protocol: PortProtocol, e: unknown): BerthError {
  const code = errnoOf(e);
  const where = `${hostIp}:${port}/${protocol}`;
  if (code === "EADDRINUSE") return errConflict(`failed to bind host port ${where}: address already in use`, { cause: e });
  if (code === "EADDRNOTAVAIL") return errInvalidArgument(`failed to bind host port ${where}: cannot assign requested address`, { cause: e });
  if (code === "EACCES") return errInvalidArgument(`failed to bind host port ${where}: permission denied`, { cause: e });
  return new BerthError("internal", `failed to bind host port ${where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** Host ports for every request, in request order; all or nothing. */
export async function allocatePorts(requests: readonly PortRequest[], o: AllocateOptions): Promise<PublishedPort[]> {
  const probe = o.probe ?? probeHostPort;
  const attempts = o.attempts ?? 32;
  const out: PublishedPort[] = [];
  const isTaken = (p: Omit<PublishedPort, "containerPort">) => [...o.taken, ...out].some((t) => bindingsClash(t, p));
  for (const r of requests) {
    const { hostIp, protocol } = r;
    if (r.hostPorts && r.hostPorts.from === r.hostPorts.to) {
      const hostPort = r.hostPorts.from;
      if (isTaken({ hostIp, hostPort, protocol })) throw errConflict(`Bind for ${hostIp}:${hostPort} failed: port is already allocated`);
      await probe(hostIp, hostPort, protocol).catch((e: unknown) => {
        throw bindError(hostIp, hostPort, protocol, e);
      });
      out.push({ containerPort: r.containerPort, protocol, hostIp, hostPort });
      continue;
    }
    let chosen: number | undefined;
    let lastError: unknown;
    if (r.hostPorts) {
      for (let port = Math.max(1, r.hostPorts.from); port <= r.hostPorts.to && chosen === undefined; port++) {
        if (isTaken({ hostIp, hostPort: port, protocol })) continue;
        try {
          chosen = await probe(hostIp, port, protocol);
        } catch (e) {
          lastError = e;
          if (errnoOf(e) !== "EADDRINUSE") throw bindError(hostIp, port, protocol, e);
        }
      }
      if (chosen === undefined) {
        throw errConflict(`Bind for ${hostIp}:${r.hostPorts.from}-${r.hostPorts.to} failed: all ports are allocated`, { cause: lastError });
      }
    } else {
      for (let i = 0; i < attempts && chosen === undefined; i++) {
        const port = await probe(hostIp, 0, protocol).catch((e: unknown) => {
          throw bindError(hostIp, 0, protocol, e);
        });
        if (!isTaken({ hostIp, hostPort: port, protocol })) chosen = port;
      }
      if (chosen === undefined) throw errConflict(`Bind for ${hostIp}:0 failed: no free host port found`);
    }
    out.push({ containerPort: r.containerPort, protocol, hostIp, hostPort: chosen });
  }
  return out;
}
