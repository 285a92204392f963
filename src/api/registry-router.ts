// POST /auth and GET /distribution/{name}/json: the registry seen through the images layer.
import { errInvalidArgument } from "../base/errors.js";
import type { ImageBackend } from "./backends.js";
import type { RequestContext, RouteDef } from "./context.js";
import { pageNotFound } from "./errors.js";
import { goStructFields, isPlainObject, sendJson } from "./http-io.js";
import { registryCredentials } from "./images-router.js";

/** moby's registry.AuthConfig. */
const AUTH_FIELDS = ["Username", "Password", "Auth", "Email", "ServerAddress", "IdentityToken", "RegistryToken"] as const;

export function registryRoutes(b: ImageBackend): RouteDef[] {
  return [
    { method: "POST", path: "/auth", handler: (ctx) => auth(b, ctx) },
    { method: "GET", path: "/distribution/*", handler: (ctx) => distribution(b, ctx) },
  ];
}

/** The credentials of an AuthConfig body: username/password, or `auth` (base64 "user:password"). */
export function parseAuthBody(raw: unknown): { serverAddress: string; username: string; password: string } {
  if (raw === undefined) throw errInvalidArgument("invalid JSON: got EOF while reading request body");
  if (!isPlainObject(raw)) throw errInvalidArgument("invalid JSON: expected an object");
  const v = goStructFields(raw, AUTH_FIELDS);
  const str = (k: (typeof AUTH_FIELDS)[number]): string => {
    const x = v[k];
    if (x === undefined || x === null) return "";
    if (typeof x !== "string") throw errInvalidArgument(`invalid ${k}: expected a string`);
    return x;
  };
  // dockerd would exchange these with the registry's OAuth endpoint; berth does not.
  for (const k of ["IdentityToken", "RegistryToken"] as const) {
    if (str(k) !== "") throw errInvalidArgument(`unsupported login option: ${k} (berth logs in with a username and password)`);
  }
  let username = str("Username");
  let password = str("Password");
  const encoded = str("Auth");
  if (username === "" && password === "" && encoded !== "") {
    const decoded = Buffer.from(encoded, "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i < 0) throw errInvalidArgument("invalid Auth: expected base64 of user:password");
    username = decoded.slice(0, i);
    password = decoded.slice(i + 1);
  }
  // Email is deprecated and unused by dockerd's login too.
  return { serverAddress: str("ServerAddress"), username, password };
}

async function auth(b: ImageBackend, ctx: RequestContext): Promise<void> {
  const creds = parseAuthBody(await ctx.readJson());
  const r = await b.login({ ...creds, signal: ctx.signal });
  sendJson(ctx.res, 200, { IdentityToken: r.identityToken, Status: r.status });
}

async function distribution(b: ImageBackend, ctx: RequestContext): Promise<void> {
  const tail = ctx.params["*"] ?? "";
  if (!tail.endsWith("/json") || tail.length <= "/json".length) throw pageNotFound();
  const name = tail.slice(0, -"/json".length);
  const credentials = registryCredentials(ctx.req.headers["x-registry-auth"]);
  const d = await b.inspectDistribution(name, { signal: ctx.signal, ...(credentials ? { credentials } : {}) });
  sendJson(ctx.res, 200, {
    Descriptor: { mediaType: d.descriptor.mediaType, digest: d.descriptor.digest, size: d.descriptor.size },
    Platforms: d.platforms,
  });
}
