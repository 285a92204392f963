// `docker login`: whether a registry accepts the credentials, checked the way dockerd 20.10's
// loginV2 checks them — GET /v2/ (no auth), answer the challenge (Basic with the credentials, or
// a Bearer token fetched from the realm with them, offline_token=true so a token service may
// give a refresh token as the identity token), then GET /v2/ again; 200 is success.
import { BerthError } from "../base/errors.js";
import type { Dispatcher } from "undici";
import { defaultPlainHttp, parseWwwAuthenticate, registryFetch } from "./distribution.js";
import { DEFAULT_DOMAIN } from "./reference.js";

export interface LoginOptions {
  /** As the client sends it: "", "https://index.docker.io/v1/", "localhost:5000", "http://host:port/v2/". */
  serverAddress: string;
  username: string;
  password: string;
  /** Hosts spoken to over plain HTTP when the address names no scheme (default: loopback ones). */
  plainHttp?: (host: string) => boolean;
  /**
   * The connection settings for a host, as pulls and pushes use them (proxies from the
   * environment, the system CAs and certs.d, unverified TLS for insecure registries).
   */
  dispatcherFor?: (host: string) => Promise<Dispatcher>;
  signal?: AbortSignal;
}

export interface LoginResult {
  status: "Login Succeeded";
  /** A refresh token from the token service, "" when it gave none. */
  identityToken: string;
}

const DOCKER_HUB_HOSTS = new Set(["", DEFAULT_DOMAIN, "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/** The /v2/ endpoint for a server address, as dockerd derives it. */
export function loginEndpoint(serverAddress: string, plainHttp: (host: string) => boolean = defaultPlainHttp): string {
  let rest = serverAddress.trim();
  let scheme: string | undefined;
  const m = /^(https?):\/\//i.exec(rest);
  if (m) {
    scheme = m[1]!.toLowerCase();
    rest = rest.slice(m[0].length);
  }
  const host = rest.split("/")[0]!.toLowerCase();
  if (DOCKER_HUB_HOSTS.has(host)) return "https://registry-1.docker.io/v2/";
  return `${scheme ?? (plainHttp(host) ? "http" : "https")}://${host}/v2/`;
}

/** dockerd answers a failed login with a plain error (500), its message naming the endpoint. */
const loginFailed = (message: string, cause?: unknown) => new BerthError("unknown", message, cause === undefined ? {} : { cause });

export async function registryLogin(o: LoginOptions): Promise<LoginResult> {
  const endpoint = loginEndpoint(o.serverAddress, o.plainHttp);
  const get = async (url: string | URL, authorization?: string): Promise<Response> => {
    try {
      const dispatcher = o.dispatcherFor ? await o.dispatcherFor(new URL(url).host) : undefined;
      const init = { headers: authorization ? { authorization } : {}, redirect: "follow", ...(o.signal ? { signal: o.signal } : {}), ...(dispatcher ? { dispatcher } : {}) };
      return await registryFetch(url, init as RequestInit);
    } catch (e) {
      if ((e as Error).name === "AbortError") throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw loginFailed(`Get ${JSON.stringify(String(url))}: ${cause?.message ?? (e as Error).message}`, e);
    }
  };
  const ping = await get(endpoint);
  await ping.body?.cancel().catch(() => {});
  if (ping.status === 200) return { status: "Login Succeeded", identityToken: "" };
  const challenge = ping.status === 401 ? parseWwwAuthenticate(ping.headers.get("www-authenticate") ?? "") : undefined;
  if (!challenge) throw loginFailed(`login attempt to ${endpoint} failed with status: ${ping.status} ${ping.statusText}`);
  if (!o.username && !o.password) throw loginFailed(`Get ${JSON.stringify(endpoint)}: no basic auth credentials`);
  const basic = "Basic " + Buffer.from(`${o.username}:${o.password}`).toString("base64");

  let authorization = basic;
  let identityToken = "";
  if (challenge.scheme === "bearer" && challenge.params.realm) {
    const url = new URL(challenge.params.realm);
    if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
    url.searchParams.set("account", o.username);
    url.searchParams.set("client_id", "docker");
    url.searchParams.set("offline_token", "true");
    const res = await get(url, basic);
    const text = await res.text().catch(() => "");
    if (res.status !== 200) throw loginFailed(`Get ${JSON.stringify(endpoint)}: ${tokenError(res, text)}`);
    let body: { token?: string; access_token?: string; refresh_token?: string } = {};
    try { body = JSON.parse(text) as typeof body; } catch { /* checked below */ }
    const token = body.token ?? body.access_token;
    if (!token) throw loginFailed(`Get ${JSON.stringify(endpoint)}: the token service at ${url.origin} gave no token`);
    authorization = `Bearer ${token}`;
    identityToken = body.refresh_token ?? "";
  } else if (challenge.scheme !== "basic") {
    throw loginFailed(`Get ${JSON.stringify(endpoint)}: unsupported authentication scheme ${challenge.scheme}`);
  }
  const res = await get(endpoint, authorization);
  await res.body?.cancel().catch(() => {});
  if (res.status !== 200) throw loginFailed(`login attempt to ${endpoint} failed with status: ${res.status} ${res.statusText}`);
  return { status: "Login Succeeded", identityToken };
}

/** The registry error a token service answers with ("unauthorized: incorrect username or password"). */
function tokenError(res: Response, text: string): string {
  try {
    const v = JSON.parse(text) as { errors?: { code?: string; message?: string }[]; details?: string };
    const e = v.errors?.[0];
    if (e) return `${(e.code ?? "").toLowerCase()}: ${e.message ?? ""}`;
    if (v.details) return v.details;
  } catch { /* not JSON */ }
  return `token service answered ${res.status} ${res.statusText}`;
}
