// Docker image references, parsed and normalized as dockerd and nerdctl do (the grammar of
// distribution's `reference` package): "busybox" → "docker.io/library/busybox:latest",
// "localhost:5000/x" keeps its registry, "name@sha256:<hex>" pins a digest.
import { errInvalidArgument } from "../base/errors.js";

export const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_REPO_PREFIX = "library/";
export const DEFAULT_TAG = "latest";

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const HEX64 = /^[a-f0-9]{64}$/;
const NAME_TOTAL_LENGTH_MAX = 255;

/** A normalized reference: `domain/path[:tag][@digest]`. */
export interface ImageReference {
  /** Registry host, with its port: "docker.io", "localhost:5000". */
  readonly domain: string;
  /** Repository path inside the registry: "library/busybox". */
  readonly path: string;
  /** Undefined when the reference names a digest only. */
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

/** `domain/path`, the repository's full name. */
export function repositoryName(r: Pick<ImageReference, "domain" | "path">): string {
  return `${r.domain}/${r.path}`;
}

/** The normalized string: "docker.io/library/busybox:latest", "localhost:5000/x@sha256:...". */
export function formatReference(r: ImageReference): string {
  return repositoryName(r) + (r.tag !== undefined ? `:${r.tag}` : "") + (r.digest !== undefined ? `@${r.digest}` : "");
}

/**
 * Parses a reference the way the docker CLI does (`ParseNormalizedNamed` + `TagNameOnly`): a
 * missing registry is docker.io, an official image gets "library/", a missing tag is "latest"
 * unless a digest is given. Anything else is an invalid-argument error naming the cause.
 */
export function parseReference(input: string): ImageReference {
  const bad = (why: string) => errInvalidArgument(`invalid reference format ${JSON.stringify(input)}: ${why}`);
  if (input.length === 0) throw bad("empty reference");
  if (HEX64.test(input)) throw bad("cannot specify 64-byte hexadecimal strings as a repository name");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`invalid digest ${JSON.stringify(digest)}`);
    if (digest.startsWith("sha256:") && !SHA256_DIGEST.test(digest)) throw bad(`invalid sha256 digest ${JSON.stringify(digest)}`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`invalid tag ${JSON.stringify(tag)}`);
  }
  if (rest.length === 0) throw bad("empty repository name");
  let domain: string;
  let path: string;
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase())) {
    domain = first;
    path = rest.slice(slash + 1);
    if (!DOMAIN.test(domain)) throw bad(`invalid registry ${JSON.stringify(domain)}`);
  } else {
    domain = DEFAULT_DOMAIN;
    path = rest;
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = OFFICIAL_REPO_PREFIX + path;
  if (path !== path.toLowerCase()) throw bad("repository name must be lowercase");
  for (const c of path.split("/")) {
    if (!PATH_COMPONENT.test(c)) throw bad(`invalid repository path component ${JSON.stringify(c)}`);
  }
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) throw bad(`repository name longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { domain, path, tag, digest };
}

/** Parses and formats: the name image records are keyed by in containerd. */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** The short form the docker CLI prints: "busybox:latest", "user/app:1", "localhost:5000/x:t". */
export function familiarReference(normalized: string | ImageReference): string {
  const r = typeof normalized === "string" ? parseReference(normalized) : normalized;
  let name = repositoryName(r);
  if (r.domain === DEFAULT_DOMAIN) {
    name = r.path.startsWith(OFFICIAL_REPO_PREFIX) && r.path.split("/").length === 2 ? r.path.slice(OFFICIAL_REPO_PREFIX.length) : r.path;
  }
  return name + (r.tag !== undefined ? `:${r.tag}` : "") + (r.digest !== undefined ? `@${r.digest}` : "");
}

/** True for "sha256:<64 hex>". */
export function isSha256Digest(s: string): boolean {
  return SHA256_DIGEST.test(s);
}
