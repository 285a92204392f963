// Where and how a registry host is reached, as dockerd decides it: Docker Hub through its
// mirrors first; a host is "insecure" when named in insecure-registries or when it resolves into
// one of the insecure CIDRs (127.0.0.0/8 always), and is then tried over HTTPS without
// verification, then over plain HTTP; any other host only over verified HTTPS. TLS trusts Node's
// bundled CAs, the system's CA bundle, and certs.d/<host>/ (*.crt CAs, *.cert + *.key client
// certificates) under /etc/berth and /etc/docker. Proxies come from HTTP_PROXY, HTTPS_PROXY and
// NO_PROXY (Node's fetch ignores them; undici's EnvHttpProxyAgent reads them).
import { lookup } from "node:dns/promises";
import { readdir, readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { createHash } from "node:crypto";
import type { Dispatcher } from "undici";
import { loadUndici } from "./undici.js";
import { errInvalidArgument } from "../base/errors.js";
import { DEFAULT_DOMAIN } from "./reference.js";

/** dockerd's InsecureRegistryCIDRs always holds loopback; berth has also always let ::1 in. */
export const ALWAYS_INSECURE = ["127.0.0.0/8", "::1/128"];
export const DEFAULT_CERTS_DIRS = ["/etc/berth/certs.d", "/etc/docker/certs.d"];
/** Where distributions keep their CA bundle (the list Go's crypto/x509 reads on Linux). */
export const SYSTEM_CA_FILES = [
  "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
  "/etc/pki/tls/cacert.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem",
];
const DOCKER_HUB_REGISTRY = "registry-1.docker.io";

export interface RegistryEndpoint {
  /** Origin and optional path prefix, without /v2 ("https://registry-1.docker.io", "http://127.0.0.1:5000"). */
  url: string;
  /** Connections to it: proxy from the environment and the host's TLS material. */
  dispatcher: Dispatcher;
  mirror: boolean;
}

export interface RegistryHostsOptions {
  /** Docker Hub mirrors (URLs), read at each pull so that a reload applies. */
  mirrors?: () => readonly string[];
  /** insecure-registries: "host[:port]" or CIDRs; ALWAYS_INSECURE is added unless `noDefaultInsecure`. */
  insecure?: () => readonly string[];
  /** Leaves out ALWAYS_INSECURE (tests of TLS on 127.0.0.1). */
  noDefaultInsecure?: boolean;
  certsDirs?: readonly string[];
  systemCaFiles?: readonly string[];
  /** Proxy settings (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Name resolution for CIDR matching (default dns.lookup, all addresses). */
  resolve?: (host: string) => Promise<string[]>;
}

/** Checks insecure-registries entries as dockerd does. */
export function parseInsecureRegistries(entries: readonly string[]): { hosts: Set<string>; cidrs: net.BlockList } {
  const hosts = new Set<string>();
  const cidrs = new net.BlockList();
  for (const e of entries) {
    if (e.includes("://")) throw errInvalidArgument(`insecure registry ${e} should not contain '://'`);
    const m = /^([^/]+)\/(\d+)$/.exec(e);
    if (m && net.isIP(m[1]!)) {
      const family = net.isIPv6(m[1]!) ? "ipv6" : "ipv4";
      const prefix = Number(m[2]);
      if (prefix > (family === "ipv6" ? 128 : 32)) throw errInvalidArgument(`insecure registry ${e}: invalid prefix length`);
      cidrs.addSubnet(m[1]!, prefix, family);
    } else if (!e || /[\s/]/.test(e)) {
      throw errInvalidArgument(`insecure registry ${JSON.stringify(e)} is not a valid host[:port] or CIDR`);
    } else {
      hosts.add(e.toLowerCase());
    }
  }
  return { hosts, cidrs };
}

/** "[::1]:5000" → "::1"; "example.com:5000" → "example.com". */
export function hostnameOf(host: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (v6) return v6[1]!;
  return host.replace(/:\d+$/, "");
}

/** A host is insecure when named (with its port, as written) or when an address of it is in a CIDR. */
export async function isInsecureHost(host: string, entries: readonly string[], resolve: (h: string) => Promise<string[]>): Promise<boolean> {
  const { hosts, cidrs } = parseInsecureRegistries(entries);
  if (hosts.has(host.toLowerCase())) return true;
  const name = hostnameOf(host);
  const addresses = net.isIP(name) ? [name] : await resolve(name).catch(() => []);
  return addresses.some((a) => cidrs.check(a, net.isIPv6(a) ? "ipv6" : "ipv4"));
}

export interface HostTls {
  /** CAs from certs.d (added to the system's and Node's). */
  ca: Buffer[];
  /** A client certificate and its key from certs.d. */
  cert?: Buffer;
  key?: Buffer;
}

/** dockerd's certs.d layout for one host: *.crt are CAs; each *.cert needs the *.key of its name. */
export async function readCertsDir(dirs: readonly string[], host: string): Promise<HostTls> {
  const out: HostTls = { ca: [] };
  for (const base of dirs) {
    const dir = path.join(base, host.replace(/[[\]]/g, ""));
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      if (n.endsWith(".crt")) out.ca.push(await readFile(path.join(dir, n)));
      else if (n.endsWith(".cert")) {
        const keyName = n.slice(0, -".cert".length) + ".key";
        if (!names.includes(keyName)) throw errInvalidArgument(`missing key ${keyName} for client certificate ${path.join(dir, n)}`);
        if (!out.cert) {
          out.cert = await readFile(path.join(dir, n));
          out.key = await readFile(path.join(dir, keyName));
        }
      } else if (n.endsWith(".key")) {
        const certName = n.slice(0, -".key".length) + ".cert";
        if (!names.includes(certName)) throw errInvalidArgument(`missing client certificate ${certName} for key ${path.join(dir, n)}`);
      }
    }
  }
  return out;
}

export class RegistryHosts {
  readonly #o: RegistryHostsOptions;
  readonly #dispatchers = new Map<string, Dispatcher>();
  #systemCa: Promise<string[]> | undefined;

  constructor(o: RegistryHostsOptions = {}) {
    this.#o = o;
  }

  #insecureEntries(): string[] {
    return [...(this.#o.noDefaultInsecure ? [] : ALWAYS_INSECURE), ...(this.#o.insecure?.() ?? [])];
  }

  #resolve(host: string): Promise<string[]> {
    return this.#o.resolve ? this.#o.resolve(host) : lookup(host, { all: true }).then((a) => a.map((x) => x.address));
  }

  isInsecure(host: string): Promise<boolean> {
    return isInsecureHost(host, this.#insecureEntries(), (h) => this.#resolve(h));
  }

  /** Node's bundled CAs and the system bundle (read once). */
  #roots(): Promise<string[]> {
    this.#systemCa ??= (async () => {
      for (const f of this.#o.systemCaFiles ?? SYSTEM_CA_FILES) {
        const text = await readFile(f, "utf8").catch(() => undefined);
        if (text) return [...tls.rootCertificates, text];
      }
      return [...tls.rootCertificates];
    })();
    return this.#systemCa;
  }

  /** A dispatcher per host and TLS material: connections are pooled per registry. */
  async dispatcher(host: string, verify: boolean): Promise<Dispatcher> {
    const own = await readCertsDir(this.#o.certsDirs ?? DEFAULT_CERTS_DIRS, host);
    const id = createHash("sha256").update(JSON.stringify([host, verify, own.ca.map(String), String(own.cert ?? ""), String(own.key ?? "")])).digest("hex");
    let d = this.#dispatchers.get(id);
    if (!d) {
      const tlsOptions = {
        ca: [...(await this.#roots()), ...own.ca.map(String)],
        ...(own.cert && own.key ? { cert: own.cert, key: own.key } : {}),
        rejectUnauthorized: verify,
      };
      const env = this.#o.env ?? process.env;
      // undici is loaded by the first registry call, not at start-up (docs/performance.md).
      const { EnvHttpProxyAgent } = await loadUndici();
      d = new EnvHttpProxyAgent({
        httpProxy: env.http_proxy ?? env.HTTP_PROXY ?? "",
        httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? "",
        noProxy: env.no_proxy ?? env.NO_PROXY ?? "",
        connect: tlsOptions,
        requestTls: tlsOptions,
      } as ConstructorParameters<typeof import("undici").EnvHttpProxyAgent>[0]);
      this.#dispatchers.set(id, d);
    }
    return d;
  }

  /** For token services and other hosts a registry sends berth to: proxies and trusted CAs. */
  generic(): Promise<Dispatcher> {
    return this.dispatcher("", true);
  }

  /** The endpoints to try for `domain`, in order. */
  async endpoints(domain: string): Promise<RegistryEndpoint[]> {
    const out: RegistryEndpoint[] = [];
    if (domain === DEFAULT_DOMAIN) {
      for (const m of this.#o.mirrors?.() ?? []) {
        const u = new URL(m);
        const insecure = await this.isInsecure(u.host);
        out.push({ url: m.replace(/\/+$/, ""), dispatcher: await this.dispatcher(u.host, !insecure), mirror: true });
      }
      out.push({ url: `https://${DOCKER_HUB_REGISTRY}`, dispatcher: await this.dispatcher(DOCKER_HUB_REGISTRY, true), mirror: false });
      return out;
    }
    const insecure = await this.isInsecure(domain);
    out.push({ url: `https://${domain}`, dispatcher: await this.dispatcher(domain, !insecure), mirror: false });
    if (insecure) out.push({ url: `http://${domain}`, dispatcher: await this.dispatcher(domain, false), mirror: false });
    return out;
  }

  async close(): Promise<void> {
    const all = [...this.#dispatchers.values()];
    this.#dispatchers.clear();
    await Promise.all(all.map((d) => d.close().catch(() => {})));
  }
}
