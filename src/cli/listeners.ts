// What berthd listens on, decided before anything starts: unix sockets, TCP with TLS (mutual with
// --tlsverify), and plain TCP only on loopback or when --insecure-tcp says so. A TCP listener
// that anyone can reach without a client certificate hands out root on the host, so berth
// refuses it by default where dockerd 20.10 only warns (docs/security.md).
import { readFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { errInvalidArgument } from "../base/errors.js";

export type HostAddress = { socketPath: string } | { host: string; port: number };

export interface TlsFlags {
  /** --tls: serve TCP with TLS, no client certificate asked. */
  tls?: boolean;
  /** --tlsverify: TLS, and only clients with a certificate signed by --tlscacert. Implies --tls. */
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  /** --insecure-tcp: allow plain TCP on a non-loopback address. */
  insecureTcp?: boolean;
}

export interface TlsFiles {
  cert: string;
  key: string;
  /** Present when clients must present a certificate signed by it. */
  ca?: string;
}

export type Listener =
  | { socketPath: string }
  | { host: string; port: number; tls?: TlsFiles; insecure: boolean };

export function parseHost(h: string): HostAddress {
  if (h.startsWith("unix://")) return { socketPath: h.slice("unix://".length) };
  if (h.startsWith("/")) return { socketPath: h };
  const m = /^tcp:\/\/([^:]+|\[[^\]]+\]):(\d+)$/.exec(h);
  if (m) {
    const port = Number(m[2]);
    if (port > 65535) throw errInvalidArgument(`invalid --host ${JSON.stringify(h)}: port out of range`);
    return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
  }
  throw errInvalidArgument(`invalid --host ${JSON.stringify(h)}: use unix:///path.sock or tcp://HOST:PORT`);
}

/** Whether `host` names only this machine: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  if (net.isIPv6(host)) return host === "::1" || /^::ffff:127\./i.test(host);
  return false;
}

/** dockerd's default certificate directory: $DOCKER_CERT_PATH, else ~/.docker. */
export function defaultCertDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CERT_PATH || path.join(os.homedir(), ".docker");
}

/**
 * The listeners for `hosts` under `flags`, or an error that says what to change. Certificate
 * paths default as dockerd's do (ca.pem, cert.pem, key.pem in the default directory).
 */
export function planListeners(hosts: string[], flags: TlsFlags, certDir = defaultCertDir()): Listener[] {
  const tls = flags.tls === true || flags.tlsverify === true;
  const files: TlsFiles | undefined = tls
    ? {
        cert: flags.tlscert ?? path.join(certDir, "cert.pem"),
        key: flags.tlskey ?? path.join(certDir, "key.pem"),
        ...(flags.tlsverify ? { ca: flags.tlscacert ?? path.join(certDir, "ca.pem") } : {}),
      }
    : undefined;
  if (!tls && (flags.tlscacert || flags.tlscert || flags.tlskey)) {
    throw errInvalidArgument("--tlscacert, --tlscert and --tlskey need --tls or --tlsverify");
  }
  return hosts.map((h): Listener => {
    const a = parseHost(h);
    if ("socketPath" in a) return a;
    if (files) return { ...a, tls: files, insecure: !files.ca };
    if (!isLoopback(a.host) && !flags.insecureTcp) {
      throw errInvalidArgument(
        `refusing to serve ${h} without TLS: anyone who reaches that port is root on this host. ` +
          "Use --tlsverify with --tlscacert/--tlscert/--tlskey, bind to 127.0.0.1, or pass --insecure-tcp to accept the risk",
      );
    }
    return { ...a, insecure: true };
  });
}

/** Reads the PEM files of a TLS listener, naming the one that cannot be read. */
export async function readTlsFiles(f: TlsFiles): Promise<{ cert: Buffer; key: Buffer; ca?: Buffer }> {
  const read = async (what: string, p: string) => {
    try {
      return await readFile(p);
    } catch (e) {
      throw errInvalidArgument(`cannot read the TLS ${what} ${p}: ${(e as Error).message}`);
    }
  };
  const [cert, key, ca] = await Promise.all([read("certificate", f.cert), read("key", f.key), f.ca ? read("CA certificate", f.ca) : undefined]);
  return { cert, key, ...(ca ? { ca } : {}) };
}
