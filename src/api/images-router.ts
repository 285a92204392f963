// /images/**: load, pull (create ?fromImage) and import (create ?fromSrc=-), list, inspect, tag,
// remove, save, history. Names may contain slashes, so per-image routes are matched on a wildcard
// and split by their last segment, as moby's `{name:.*}` routes are.
import { errInvalidArgument, errNotFound, errNotImplemented } from "../base/errors.js";
import { parseReference, repositoryName } from "../images/index.js";
import type { ImageBackend, ImageProgress, RegistryCredentials } from "./backends.js";
import type { RequestContext, RouteDef } from "./context.js";
import { pageNotFound } from "./errors.js";
import { parseFilters } from "./filters.js";
import { boolValue, boolValueOr, sendEmpty, sendJson } from "./http-io.js";
import { familiarName, historyJson, imageInspectJson, imageSummaryJson } from "./image-json.js";
import { JsonStream, progressBar, shortBlobId } from "./json-stream.js";

const IMAGE_LIST_FILTERS = ["before", "dangling", "label", "reference", "since"] as const;

export function imageRoutes(b: ImageBackend): RouteDef[] {
  return [
    { method: "GET", path: "/images/json", handler: (ctx) => list(b, ctx) },
    { method: "POST", path: "/images/load", handler: (ctx) => load(b, ctx) },
    { method: "POST", path: "/images/create", handler: (ctx) => create(b, ctx) },
    { method: "GET", path: "/images/get", handler: (ctx) => save(b, ctx, ctx.query.getAll("names")) },
    { method: "GET", path: "/images/*", handler: (ctx) => perImage(b, ctx, "GET") },
    { method: "POST", path: "/images/*", handler: (ctx) => perImage(b, ctx, "POST") },
    { method: "DELETE", path: "/images/*", handler: (ctx) => perImage(b, ctx, "DELETE") },
  ];
}

async function perImage(b: ImageBackend, ctx: RequestContext, method: "GET" | "POST" | "DELETE"): Promise<void> {
  const tail = ctx.params["*"] ?? "";
  if (method === "DELETE") return remove(b, ctx, tail);
  const slash = tail.lastIndexOf("/");
  const name = slash < 0 ? "" : tail.slice(0, slash);
  const action = slash < 0 ? tail : tail.slice(slash + 1);
  if (name !== "") {
    if (method === "GET" && action === "json") return sendJson(ctx.res, 200, imageInspectJson(await b.inspect(name, { signal: ctx.signal })));
    if (method === "GET" && action === "history") return sendJson(ctx.res, 200, historyJson(await b.history(name, { signal: ctx.signal })));
    if (method === "GET" && action === "get") return save(b, ctx, [name]);
    if (method === "POST" && action === "tag") return tag(b, ctx, name);
    if (method === "POST" && action === "push") return push(b, ctx, name);
  }
  throw pageNotFound();
}

async function list(b: ImageBackend, ctx: RequestContext): Promise<void> {
  const f = parseFilters(ctx.query.get("filters"));
  f.validate(IMAGE_LIST_FILTERS);
  const dangling = f.getBool("dangling");
  let images = await b.list({ signal: ctx.signal });
  const created = async (ref: string) => (await b.inspect(ref, { signal: ctx.signal })).created?.getTime() ?? 0;
  const before = f.get("before");
  const since = f.get("since");
  const beforeT = before.length ? Math.min(...(await Promise.all(before.map(created)))) : undefined;
  const sinceT = since.length ? Math.max(...(await Promise.all(since.map(created)))) : undefined;
  // dockerd lists a build's intermediate images only with all=1 (docker images -a).
  const all = boolValue(ctx.query, "all");
  images = images.filter((img) => {
    if (img.intermediate && !all) return false;
    const isDangling = img.repoTags.length === 0;
    if (dangling !== undefined && isDangling !== dangling) return false;
    if (!f.matchKeyValues("label", img.labels)) return false;
    const t = img.created?.getTime() ?? 0;
    if (beforeT !== undefined && !(t < beforeT)) return false;
    if (sinceT !== undefined && !(t > sinceT)) return false;
    if (f.has("reference")) {
      const patterns = f.get("reference");
      const names = img.repoTags.map(familiarName);
      if (!names.some((n) => patterns.some((p) => referenceMatches(p, n)))) return false;
    }
    return true;
  });
  images.sort((x, y) => (y.created?.getTime() ?? 0) - (x.created?.getTime() ?? 0));
  sendJson(ctx.res, 200, images.map(imageSummaryJson));
}

/** moby's reference filter: a path.Match glob against the name, or against the repository alone. */
export function referenceMatches(pattern: string, familiar: string): boolean {
  const re = globToRegExp(pattern);
  if (re.test(familiar)) return true;
  const repo = familiar.replace(/[:@][^/]*$/, "");
  return re.test(repo);
}

function globToRegExp(glob: string): RegExp {
  let out = "";
  for (const ch of glob) {
    if (ch === "*") out += "[^/]*";
    else if (ch === "?") out += "[^/]";
    else out += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

async function load(b: ImageBackend, ctx: RequestContext): Promise<void> {
  // dockerd 20.10: quiet unless asked otherwise (the CLI always sends quiet=0 or 1), and every
  // failure — a body that is no tar at all included — is a 200 with the error in the stream.
  const quiet = boolValueOr(ctx.query, "quiet", true);
  const out = new JsonStream(ctx.res);
  try {
    const result = await b.load(ctx.bodyStream(), {
      signal: ctx.signal,
      ...(quiet
        ? {}
        : {
            onProgress: (e: ImageProgress) =>
              out.write({
                status: "Loading layer",
                progressDetail: { current: e.current, total: e.total },
                progress: progressBar(e.current, e.total),
                id: shortBlobId(e.id),
              }),
          }),
    });
    for (const img of result.images) {
      out.write({ stream: img.name ? `Loaded image: ${familiarName(img.name)}\n` : `Loaded image ID: ${img.id}\n` });
    }
    out.end();
  } catch (err) {
    out.failInBand(err);
  }
}

async function create(b: ImageBackend, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const fromImage = q.get("fromImage") ?? "";
  const fromSrc = q.get("fromSrc") ?? "";
  const platform = q.get("platform") ?? "";
  if (platform !== "" && !isHostPlatform(platform)) {
    throw errInvalidArgument(`platform ${JSON.stringify(platform)} is not supported: berth runs linux/${goArch()} images only`);
  }
  if (fromImage !== "") return pull(b, ctx, fromImage, q.get("tag") ?? "");
  if (fromSrc === "-") return importImage(b, ctx);
  if (fromSrc !== "") throw errNotImplemented("importing from a URL is not supported; send the tarball in the body with fromSrc=-");
  throw errInvalidArgument("fromImage or fromSrc is required");
}

/** fromImage plus the tag parameter: a digest ("sha256:...") pins, anything else replaces the tag. */
export function pullReference(fromImage: string, tag: string): string {
  if (tag === "") return fromImage;
  const slash = fromImage.lastIndexOf("/");
  const colon = fromImage.lastIndexOf(":");
  const repo = colon > slash ? fromImage.slice(0, colon) : fromImage;
  return /^[a-z0-9]+:[a-f0-9]{32,}$/.test(tag) ? `${repo}@${tag}` : `${repo}:${tag}`;
}

/** "busybox:latest" → {path "library/busybox", tagOrDigest "latest"}, for "Pulling from ...". */
export function describeReference(ref: string): { path: string; tagOrDigest: string } {
  let rest = ref;
  let tagOrDigest = "latest";
  const at = rest.indexOf("@");
  if (at >= 0) {
    tagOrDigest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    if (at < 0) tagOrDigest = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const first = rest.indexOf("/") < 0 ? "" : rest.slice(0, rest.indexOf("/"));
  let path = rest;
  if (first !== "" && (first.includes(".") || first.includes(":") || first === "localhost")) path = rest.slice(first.length + 1);
  else if (!rest.includes("/")) path = `library/${rest}`;
  return { path, tagOrDigest };
}

/** X-Registry-Auth: base64url JSON {username, password, auth?, serveraddress}. */
export function registryCredentials(header: string | string[] | undefined): RegistryCredentials | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h) return undefined;
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    throw errInvalidArgument("invalid X-Registry-Auth header: expected base64url-encoded JSON");
  }
  if (typeof cfg !== "object" || cfg === null) return undefined;
  let username = typeof cfg.username === "string" ? cfg.username : "";
  let password = typeof cfg.password === "string" ? cfg.password : "";
  if (!username && typeof cfg.auth === "string" && cfg.auth) {
    const decoded = Buffer.from(cfg.auth, "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i > 0) {
      username = decoded.slice(0, i);
      password = decoded.slice(i + 1);
    }
  }
  return username ? { username, password } : undefined;
}

async function pull(b: ImageBackend, ctx: RequestContext, fromImage: string, tag: string): Promise<void> {
  const ref = pullReference(fromImage, tag);
  const { path, tagOrDigest } = describeReference(ref);
  const credentials = registryCredentials(ctx.req.headers["x-registry-auth"]);
  const out = new JsonStream(ctx.res);
  const seen = new Set<string>();
  const extracted = new Set<string>();
  let transferred = false;
  const onProgress = (e: ImageProgress) => {
    // The first progress means the manifest resolved: only now does the 200 go out, so an unknown
    // image or a refused login is still a proper 404/401-ish status, as with dockerd.
    if (!out.started) out.write({ status: `Pulling from ${path}`, id: tagOrDigest });
    const id = shortBlobId(e.id);
    if (!seen.has(id)) {
      seen.add(id);
      if (e.status !== "exists") out.write({ status: "Pulling fs layer", progressDetail: {}, id });
    }
    const withProgress = (status: string) =>
      out.write({ status, progressDetail: { current: e.current, total: e.total }, progress: progressBar(e.current, e.total), id });
    switch (e.status) {
      case "exists":
        out.write({ status: "Already exists", progressDetail: {}, id });
        break;
      case "waiting":
        out.write({ status: "Waiting", progressDetail: {}, id });
        break;
      case "downloading":
        transferred = true;
        withProgress("Downloading");
        break;
      case "verifying":
        transferred = true;
        out.write({ status: "Verifying Checksum", progressDetail: {}, id });
        break;
      case "done":
        transferred = true;
        out.write({ status: "Download complete", progressDetail: {}, id });
        break;
      case "extracting":
        extracted.add(id);
        withProgress("Extracting");
        break;
      default:
        withProgress(e.status.charAt(0).toUpperCase() + e.status.slice(1));
    }
  };
  try {
    const result = await b.pull(ref, { onProgress, signal: ctx.signal, ...(credentials ? { credentials } : {}) });
    if (!out.started) out.write({ status: `Pulling from ${path}`, id: tagOrDigest });
    for (const id of extracted) out.write({ status: "Pull complete", progressDetail: {}, id });
    out.write({ status: `Digest: ${result.digest}` });
    const shown = familiarName(result.name);
    out.write({ status: transferred || extracted.size > 0 ? `Status: Downloaded newer image for ${shown}` : `Status: Image is up to date for ${shown}` });
    out.end();
  } catch (err) {
    out.fail(err);
  }
}

async function importImage(b: ImageBackend, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const repo = q.get("repo") ?? "";
  const tag = q.get("tag") ?? "";
  const name = repo === "" ? undefined : tag === "" ? repo : pullReference(repo, tag);
  const message = q.get("message") ?? "";
  const out = new JsonStream(ctx.res);
  try {
    const result = await b.importRootfs(ctx.bodyStream(), {
      signal: ctx.signal,
      changes: q.getAll("changes"),
      ...(name ? { tag: name } : {}),
      ...(message ? { message } : {}),
    });
    out.write({ status: result.id });
    out.end();
  } catch (err) {
    out.fail(err);
  }
}

async function tag(b: ImageBackend, ctx: RequestContext, source: string): Promise<void> {
  const repo = ctx.query.get("repo") ?? "";
  const t = ctx.query.get("tag") ?? "";
  if (repo === "") throw errInvalidArgument("repository name must have at least one component");
  await b.tag(source, pullReference(repo, t), { signal: ctx.signal });
  sendEmpty(ctx.res, 201);
}

async function remove(b: ImageBackend, ctx: RequestContext, name: string): Promise<void> {
  if (name === "") throw errInvalidArgument("image name cannot be blank");
  const r = await b.remove(name, { force: boolValue(ctx.query, "force"), signal: ctx.signal });
  sendJson(ctx.res, 200, [...r.untagged.map((u) => ({ Untagged: familiarName(u) })), ...r.deleted.map((d) => ({ Deleted: d }))]);
}

async function save(b: ImageBackend, ctx: RequestContext, names: string[]): Promise<void> {
  if (names.length === 0) throw errInvalidArgument("no image names given");
  const tar = await b.save(names, { signal: ctx.signal });
  ctx.res.statusCode = 200;
  ctx.res.setHeader("Content-Type", "application/x-tar");
  await new Promise<void>((resolve) => {
    // A tar has no in-band error: a failure mid-way cuts the connection so the client sees it.
    tar.once("error", (err) => {
      ctx.log?.warn({ err }, "image save failed mid-stream");
      ctx.res.destroy(err);
      resolve();
    });
    ctx.res.once("close", () => {
      tar.destroy();
      resolve();
    });
    tar.pipe(ctx.res);
  });
}

export function goArch(): string {
  return ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" } as Record<string, string>)[process.arch] ?? process.arch;
}

function isHostPlatform(p: string): boolean {
  const [os, arch] = p.split("/");
  return os === "linux" && (arch === undefined || arch === goArch());
}


// ---- push -----------------------------------------------------------------------------------

/** Whether a name carries its own tag or digest ("host:5000/repo:1"), not just a port. */
function hasTagOrDigest(name: string): boolean {
  return name.includes("@") || name.slice(name.lastIndexOf("/") + 1).includes(":");
}

/**
 * POST /images/{name}/push[?tag=]: one tag, or every tag of the repository when none is named,
 * with dockerd's messages ("The push refers to repository [...]", Preparing, Pushing, Pushed,
 * "Layer already exists", "TAG: digest: D size: N" and the aux {Tag, Digest, Size}). After the
 * first line every failure — an unknown image included — is reported in the stream, as dockerd does.
 */
async function push(b: ImageBackend, ctx: RequestContext, name: string): Promise<void> {
  const header = ctx.req.headers["x-registry-auth"];
  // dockerd 20.10 refuses a push without the header (the CLI always sends one, "e30=" for none).
  if (header === undefined || header === "") throw errInvalidArgument("Bad parameters and missing X-Registry-Auth: EOF");
  const credentials = registryCredentials(header);
  const tag = ctx.query.get("tag") ?? "";
  const named = tag !== "" ? pullReference(name, tag) : name;
  const ref = parseReference(named);
  const repo = repositoryName(ref);
  const out = new JsonStream(ctx.res);
  out.write({ status: `The push refers to repository [${repo}]` });
  try {
    let refs: string[];
    if (hasTagOrDigest(named)) {
      await b.resolve(named, { signal: ctx.signal }).catch(() => {
        throw errNotFound(`tag does not exist: ${named}`);
      });
      refs = [named];
    } else {
      const images = await b.list({ signal: ctx.signal });
      refs = images.flatMap((i) => i.repoTags).filter((t) => repositoryName(parseReference(t)) === repo).sort();
      if (refs.length === 0) throw errNotFound(`An image does not exist locally with the tag: ${name}`);
    }
    for (const r of refs) {
      const seen = new Set<string>();
      const onProgress = (e: ImageProgress) => {
        const id = shortBlobId(e.id);
        if (!seen.has(id)) {
          seen.add(id);
          out.write({ status: "Preparing", progressDetail: {}, id });
        }
        if (e.status === "exists") out.write({ status: "Layer already exists", progressDetail: {}, id });
        else if (e.status === "pushing") out.write({ status: "Pushing", progressDetail: { current: e.current, total: e.total }, progress: progressBar(e.current, e.total), id });
        else if (e.status === "pushed") out.write({ status: "Pushed", progressDetail: {}, id });
      };
      const result = await b.push(r, { onProgress, signal: ctx.signal, ...(credentials ? { credentials } : {}) });
      const t = parseReference(r).tag ?? "";
      out.write({ status: `${t}: digest: ${result.digest} size: ${result.size}` });
      out.write({ progressDetail: {}, aux: { Tag: t, Digest: result.digest, Size: result.size } });
    }
    out.end();
  } catch (err) {
    out.failInBand(err);
  }
}
