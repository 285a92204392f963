// A client of the OCI distribution API (registry v2) over fetch: manifests and blobs, bearer
// token and basic auth, blob uploads. The endpoints to try come from registry-hosts.ts (mirrors,
// HTTPS, plain HTTP only for insecure registries), each with its dispatcher (proxy, TLS).
import type { Dispatcher } from "undici";
import { loadUndici } from "./undici.js";
import {
  BerthError, errInvalidArgument, errUnavailable, type ErrorKind,
} from "../base/errors.js";
import type { RegistryCredentials } from "./types.js";

export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export function defaultPlainHttp(host: string): boolean {
  const h = host.replace(/:\d+$/, "");
  return h === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "[::1]";
}

export interface DistributionClientOptions {
  /** Registry host as in the reference ("localhost:5000", "docker.io"). */
  domain: string;
  /** Repository path ("library/busybox"). */
  repository: string;
  /** Tried in order until one answers (a mirror also when it answers with an error). */
  endpoints: { url: string; dispatcher?: Dispatcher; mirror?: boolean }[];
  /** For token services (default: the endpoint's). */
  tokenDispatcher?: Dispatcher;
  credentials: RegistryCredentials | undefined;
  /** "pull" or "pull,push". */
  actions: string;
  signal?: AbortSignal;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (and Basic). */
export function parseWwwAuthenticate(h: string): { scheme: string; params: Record<string, string> } | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(h);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!)) !== null) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

export class RegistryError extends BerthError {
  readonly status: number;
  constructor(kind: ErrorKind, message: string, status: number) {
    super(kind, message);
    this.status = status;
  }
}

function kindOfStatus(status: number): ErrorKind {
  if (status === 401 || status === 403) return "permission-denied";
  if (status === 404) return "not-found";
  if (status === 429 || status >= 500) return "unavailable";
  return "invalid-argument";
}

export class DistributionClient {
  readonly #o: DistributionClientOptions;
  #authorization: string | undefined;
  #endpoint = 0;
  /** Once an endpoint has answered, berth stays with it for this operation. */
  #settled = false;

  constructor(o: DistributionClientOptions) {
    if (o.endpoints.length === 0) throw errInvalidArgument(`registry ${o.domain}: no endpoint`);
    this.#o = o;
  }

  get base(): string {
    return `${this.#o.endpoints[this.#endpoint]!.url}/v2/${this.#o.repository}`;
  }

  get #dispatcher(): Dispatcher | undefined {
    return this.#o.endpoints[this.#endpoint]!.dispatcher;
  }

  /** Moves to the next endpoint when this one failed before ever answering. */
  #fallback(relative: boolean): boolean {
    if (this.#settled || !relative || this.#endpoint + 1 >= this.#o.endpoints.length) return false;
    this.#endpoint++;
    this.#authorization = undefined;
    return true;
  }

  get what(): string {
    return `${this.#o.domain}/${this.#o.repository}`;
  }

  /**
   * A request with auth: on 401 the challenge is answered (a bearer token fetched for this
   * repository's scope, or basic credentials) and the request sent once more.
   */
  async request(method: string, url: string, init: { headers?: Record<string, string>; body?: unknown; okStatuses?: number[]; what: string; signal?: AbortSignal }): Promise<Response> {
    const relative = !url.startsWith("http");
    let sentWith: string | undefined;
    const send = async (): Promise<Response> => {
      const headers: Record<string, string> = { ...init.headers };
      sentWith = this.#authorization;
      if (sentWith) headers.authorization = sentWith;
      const reqInit: RequestInit & { duplex?: "half" } = { method, headers, redirect: "follow" };
      if (init.body !== undefined) { reqInit.body = init.body as RequestInit["body"]; reqInit.duplex = "half"; }
      const signal = init.signal ?? this.#o.signal;
      if (signal) reqInit.signal = signal;
      if (this.#dispatcher) (reqInit as { dispatcher?: unknown }).dispatcher = this.#dispatcher;
      const used = this.#endpoint;
      try {
        return await registryFetch(relative ? this.base + url : url, reqInit);
      } catch (e) {
        if ((e as Error).name === "AbortError") throw e;
        // An insecure registry's HTTPS that does not speak TLS, an unreachable mirror: next one.
        // Parallel requests (a push's blob checks) may fail on an endpoint another has left already.
        if ((relative && this.#endpoint !== used) || this.#fallback(relative)) return send();
        throw errUnavailable(`registry ${this.#o.domain}: ${init.what}: ${(e as Error).message}${causeText(e)}`, { cause: e });
      }
    };
    let res = await send();
    // A mirror that cannot serve this repository: Docker Hub itself (dockerd falls back too).
    while (!res.ok && res.status !== 401 && this.#o.endpoints[this.#endpoint]!.mirror && this.#fallback(relative)) {
      await res.body?.cancel().catch(() => {});
      res = await send();
    }
    // A streamed body cannot be sent twice; the POST before an upload has authenticated already.
    const replayable = init.body === undefined || typeof init.body === "string" || init.body instanceof Uint8Array;
    if (res.status === 401 && replayable) {
      const challenge = res.headers.get("www-authenticate");
      await res.body?.cancel().catch(() => {});
      // Parallel requests share the client: one that went out before another authenticated is
      // sent again with that authorization rather than failing.
      if (this.#authorization !== sentWith) res = await send();
      else if (challenge && (await this.#authenticate(challenge))) res = await send();
    }
    const ok = init.okStatuses ?? [200];
    if (!ok.includes(res.status)) {
      const text = await res.text().catch(() => "");
      throw new RegistryError(kindOfStatus(res.status), `registry ${this.#o.domain}: ${init.what}: ${res.status} ${res.statusText}${errorDetail(text)}`, res.status);
    }
    this.#settled = true;
    return res;
  }

  async #authenticate(challenge: string): Promise<boolean> {
    const c = parseWwwAuthenticate(challenge);
    if (!c) return false;
    const creds = this.#o.credentials;
    const basic = creds ? "Basic " + Buffer.from(`${creds.username}:${creds.password}`).toString("base64") : undefined;
    if (c.scheme === "basic") {
      if (!basic || this.#authorization === basic) return false;
      this.#authorization = basic;
      return true;
    }
    if (c.scheme !== "bearer" || !c.params.realm) return false;
    const url = new URL(c.params.realm);
    if (c.params.service) url.searchParams.set("service", c.params.service);
    url.searchParams.set("scope", c.params.scope ?? `repository:${this.#o.repository}:${this.#o.actions}`);
    let res: Response;
    try {
      const dispatcher = this.#o.tokenDispatcher ?? this.#dispatcher;
      res = await registryFetch(url, { headers: basic ? { authorization: basic } : {}, ...(this.#o.signal ? { signal: this.#o.signal } : {}), ...(dispatcher ? { dispatcher } : {}) } as RequestInit);
    } catch (e) {
      throw errUnavailable(`registry ${this.#o.domain}: token service ${url.origin}: ${(e as Error).message}${causeText(e)}`, { cause: e });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new RegistryError(kindOfStatus(res.status), `registry ${this.#o.domain}: token service answered ${res.status} ${res.statusText}`, res.status);
    }
    const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw errInvalidArgument(`registry ${this.#o.domain}: token service gave no token`);
    const next = `Bearer ${token}`;
    if (this.#authorization === next) return false;
    this.#authorization = next;
    return true;
  }

  async getManifest(reference: string): Promise<{ bytes: Buffer; mediaType: string; digestHeader: string | undefined }> {
    const res = await this.request("GET", `/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT }, what: `manifest ${this.what}${reference.includes(":") ? "@" : ":"}${reference}` });
    const bytes = Buffer.from(await res.arrayBuffer());
    const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    return { bytes, mediaType, digestHeader: res.headers.get("docker-content-digest") ?? undefined };
  }

  /** GET of a blob from `offset` (a Range request when > 0). */
  async getBlob(digest: string, offset: number, signal?: AbortSignal): Promise<{ res: Response; offset: number }> {
    const res = await this.request("GET", `/blobs/${digest}`, {
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, okStatuses: [200, 206], what: `blob ${digest}`, ...(signal ? { signal } : {}),
    });
    // A server that ignores Range sends everything again: the caller skips what it has.
    return { res, offset: res.status === 206 ? offset : 0 };
  }

  async blobExists(digest: string): Promise<boolean> {
    try {
      const res = await this.request("HEAD", `/blobs/${digest}`, { what: `blob ${digest}`, okStatuses: [200, 404] });
      return res.status === 200;
    } catch (e) {
      if (e instanceof RegistryError && e.status === 404) return false;
      throw e;
    }
  }

  /** Monolithic upload: POST to start, PUT with the digest and the whole body. */
  async uploadBlob(digest: string, size: number, body: () => AsyncIterable<Uint8Array>): Promise<void> {
    const start = await this.request("POST", `/blobs/uploads/`, { okStatuses: [202], what: `upload of ${digest}`, headers: { "content-length": "0" }, body: new Uint8Array(0) });
    await start.body?.cancel().catch(() => {});
    const location = start.headers.get("location");
    if (!location) throw errInvalidArgument(`registry ${this.#o.domain}: upload of ${digest}: no Location`);
    const url = new URL(location, this.base);
    url.searchParams.set("digest", digest);
    const res = await this.request("PUT", url.toString(), {
      okStatuses: [201], what: `upload of ${digest}`, body: toWebStream(body()),
      headers: { "content-type": "application/octet-stream", "content-length": String(size) },
    });
    await res.body?.cancel().catch(() => {});
  }

  async putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<string | undefined> {
    const res = await this.request("PUT", `/manifests/${reference}`, {
      okStatuses: [201, 200], what: `manifest ${this.what}${reference.includes(":") ? "@" : ":"}${reference}`, headers: { "content-type": mediaType }, body: new Uint8Array(bytes),
    });
    await res.body?.cancel().catch(() => {});
    return res.headers.get("docker-content-digest") ?? undefined;
  }
}

/**
 * undici's own fetch: its dispatchers (proxy, TLS per registry) are undici 7's, and Node 20's
 * built-in fetch (undici 6) mishandles some requests given one (a set content-length). The
 * Response has the web API's shape; only the type declarations differ.
 */
/** undici's fetch, which takes a `dispatcher` (proxy, TLS per registry) as Node 20's does not reliably. */
export async function registryFetch(url: string | URL, init: RequestInit): Promise<Response> {
  const { fetch } = await loadUndici();
  return fetch(url, init as Parameters<typeof fetch>[1]) as unknown as Promise<Response>;
}

function toWebStream(src: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = src[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) controller.close(); else controller.enqueue(r.value);
    },
    async cancel() { await it.return?.(); },
  });
}

function causeText(e: unknown): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c ? ` (${c.code ?? c.message ?? ""})` : "";
}

function errorDetail(text: string): string {
  try {
    const v = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const e = v.errors?.[0];
    if (e) return `: ${e.code ?? ""} ${e.message ?? ""}`.trimEnd();
  } catch { /* not the registry's error JSON */ }
  return text ? `: ${text.slice(0, 200)}` : "";
}

