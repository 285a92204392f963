/**
 * The embedded DNS of user-defined networks, aardvark-dns's way rather than dockerd's: no server
 * inside each container's namespace (127.0.0.11), but one UDP server per network bound to the
 * network's gateway address, port 53, on the host. A container on the network reaches it through
 * its bridge; its resolv.conf names the gateway. Names of the network are answered from the
 * manager's records (dns-names.ts); other names are forwarded to the host's upstream resolvers.
 *
 * Binding can fail (another resolver holds gateway:53, no privilege): the network then has no
 * server, the caller keeps the host's resolv.conf, and /etc/hosts still names the peers.
 */
import dgram from "node:dgram";
import { buildAnswer, buildError, messageId, parseQuery, RCODE_FORMERR, RCODE_NXDOMAIN, RCODE_SERVFAIL, TYPE_A, CLASS_IN } from "./dns-codec.js";

export interface DnsServerDeps {
  /** The addresses of `name` on this network, asked from `clientIp` ([]: not a name of the network). */
  lookup(name: string, clientIp: string): string[];
  /** The upstream resolvers' addresses (host resolv.conf's, as containers get them); read per query. */
  upstreams(clientIp: string): Promise<readonly string[]>;
  /** The upstream port (53; tests point it at a private server). */
  upstreamPort?: number;
  forwardTimeoutMs?: number;
  warn?: (msg: string) => void;
}

export interface NetworkDnsServer {
  readonly address: string;
  close(): Promise<void>;
}

/** Starts a server on `address`:`port`; rejects when the address cannot be bound. */
export async function startDnsServer(address: string, deps: DnsServerDeps, port = 53): Promise<NetworkDnsServer> {
  const sock = dgram.createSocket({ type: "udp4", reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind({ address, port, exclusive: true }, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  sock.on("error", (e) => deps.warn?.(`embedded DNS on ${address}: ${e.message}`));
  sock.on("message", (msg, rinfo) => {
    void answer(msg, rinfo.address, deps).then(
      (out) => {
        if (out) sock.send(out, rinfo.port, rinfo.address);
      },
      () => {},
    );
  });
  return {
    address,
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}

/** The reply to one message from `clientIp` (undefined: drop it). */
export async function answer(msg: Buffer, clientIp: string, deps: DnsServerDeps): Promise<Buffer | undefined> {
  const q = parseQuery(msg);
  if (!q) {
    const id = messageId(msg);
    return id === undefined || msg.length < 12 || msg.readUInt16BE(2) & 0x8000 ? undefined : buildError({ id }, RCODE_FORMERR);
  }
  if (q.class === CLASS_IN && q.name !== "") {
    const ips = deps.lookup(q.name, clientIp);
    // A name of the network: A records for A, an empty answer for other types (AAAA: berth's
    // networks are IPv4 only), so a resolver asking both does not go upstream for it.
    if (ips.length > 0) return buildAnswer(q, q.type === TYPE_A ? ips : []);
  }
  const upstreams = await deps.upstreams(clientIp).catch(() => [] as readonly string[]);
  // dockerd answers SERVFAIL when it has nowhere to forward; a single-label name no peer has is NXDOMAIN.
  if (upstreams.length === 0) return buildError(q, q.name.includes(".") ? RCODE_SERVFAIL : RCODE_NXDOMAIN);
  for (const up of upstreams) {
    const reply = await forward(msg, up, deps.upstreamPort ?? 53, deps.forwardTimeoutMs ?? 2000).catch(() => undefined);
    if (reply) return reply;
  }
  return buildError(q, RCODE_SERVFAIL);
}

/** One UDP exchange with an upstream resolver; the reply is relayed as it came. */
function forward(msg: Buffer, server: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(server.includes(":") ? "udp6" : "udp4");
    const id = msg.readUInt16BE(0);
    const done = (e?: Error, reply?: Buffer) => {
      clearTimeout(timer);
      sock.close();
      if (reply) resolve(reply);
      else reject(e ?? new Error("no reply"));
    };
    const timer = setTimeout(() => done(new Error(`upstream ${server} timed out`)), timeoutMs);
    sock.on("error", (e) => done(e));
    sock.on("message", (reply) => {
      if (reply.length >= 12 && reply.readUInt16BE(0) === id) done(undefined, reply);
    });
    sock.send(msg, port, server);
  });
}
