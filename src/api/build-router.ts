// POST /build (the classic builder's API: DOCKER_BUILDKIT=0, compose v1, docker-py, dockerode,
// testcontainers); /build/prune is in prune-router.ts. The query is read as dockerd's newImageBuildOptions
// reads it; what berth cannot honour is refused with a 400 naming it. The output is dockerd's
// JSON message stream: {"stream": ...} lines, {"aux": {"ID": ...}} per stage, and
// {"errorDetail": ..., "error": ...} for a failure after the first byte (before it, an HTTP error).
import { errInvalidArgument } from "../base/errors.js";
import type { BuildBackend } from "./backends.js";
import type { BuildRunOptions } from "../build/index.js";
import type { RequestContext, RouteDef } from "./context.js";
import { boolValue, boolValueOr } from "./http-io.js";
import { JsonStream } from "./json-stream.js";
import { errorMessage } from "./errors.js";

export function buildRoutes(b: BuildBackend): RouteDef[] {
  return [
    { method: "POST", path: "/build", handler: (ctx) => build(b, ctx) },
  ];
}

/** Go's encoding/json escapes <, > and & (and U+2028/9): dockerd's bytes, exactly. */
export function goJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function jsonParam<T>(q: URLSearchParams, key: string, what: string): T | undefined {
  const v = q.get(key);
  if (v === null || v === "" || v === "null") return undefined;
  try {
    return JSON.parse(v) as T;
  } catch (e) {
    throw errInvalidArgument(`error reading ${what}: ${(e as Error).message}`);
  }
}

const PLATFORMS = new Set(["linux", "linux/amd64", "linux/x86_64", "linux/amd64/v1"]);

/** Parameters that change how RUN containers run and that berth's builder does not apply. */
const UNSUPPORTED_NONZERO = ["cpusetmems", "cgroupparent"];

function intParam(q: URLSearchParams, key: string): number {
  const v = q.get(key);
  if (v === null || v === "") return 0;
  if (!/^-?\d+$/.test(v)) throw errInvalidArgument(`invalid value for ${key}: ${JSON.stringify(v)} is not an integer`);
  return Number(v);
}

export interface ParsedBuildQuery {
  tags: string[];
  dockerfile: string | undefined;
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target: string | undefined;
  noCache: boolean;
  pull: boolean;
  rm: boolean;
  forceRm: boolean;
  networkMode: string;
  quiet: boolean;
  /** Images whose chains are the cache (replacing the local cache), as dockerd's --cache-from. */
  cacheFrom: string[] | undefined;
  /** What RUN containers get: resources, extra /etc/hosts entries, /dev/shm size (bytes, 0 default). */
  run: BuildRunOptions;
}

export function parseBuildQuery(q: URLSearchParams): ParsedBuildQuery {
  if (q.get("version") === "2") {
    throw errInvalidArgument("BuildKit (version=2) is not supported by berth: build with the classic builder (DOCKER_BUILDKIT=0)");
  }
  const remote = q.get("remote");
  if (remote) throw errInvalidArgument(`remote build contexts (remote=${remote}) are not supported by berth: send the context as the request body`);
  const platform = q.get("platform");
  if (platform && !PLATFORMS.has(platform.toLowerCase())) {
    throw errInvalidArgument(`platform ${JSON.stringify(platform)} is not supported: berth builds for linux/amd64 only`);
  }
  for (const k of UNSUPPORTED_NONZERO) {
    const v = q.get(k);
    if (v !== null && v !== "" && v !== "0") throw errInvalidArgument(`build parameter ${k}=${v} is not supported by berth's builder`);
  }
  const ulimits = jsonParam<unknown[]>(q, "ulimits", "ulimits");
  if (ulimits && ulimits.length > 0) throw errInvalidArgument("build parameter ulimits is not supported by berth's builder");
  const cacheFrom = jsonParam<string[]>(q, "cachefrom", "cache from");
  if (boolValue(q, "squash")) throw errInvalidArgument("build parameter squash is not supported by berth's builder (an experimental dockerd feature)");
  const isolation = q.get("isolation");
  if (isolation && isolation !== "default") throw errInvalidArgument(`Invalid isolation: ${JSON.stringify(isolation)}`);
  const buildArgs = jsonParam<Record<string, string | null>>(q, "buildargs", "build args") ?? {};
  const labels = jsonParam<Record<string, string>>(q, "labels", "labels") ?? {};
  const forceRm = boolValue(q, "forcerm");
  return {
    tags: q.getAll("t").filter((t) => t !== ""),
    dockerfile: q.get("dockerfile") || undefined,
    buildArgs,
    labels,
    target: q.get("target") || undefined,
    noCache: boolValue(q, "nocache"),
    pull: boolValue(q, "pull"),
    // dockerd: forcerm implies rm; rm defaults to true.
    rm: forceRm || boolValueOr(q, "rm", true),
    forceRm,
    networkMode: q.get("networkmode") || "default",
    quiet: boolValue(q, "q"),
    cacheFrom: cacheFrom && cacheFrom.length > 0 ? cacheFrom : undefined,
    run: {
      resources: {
        memory: intParam(q, "memory"), memorySwap: intParam(q, "memswap"), cpuShares: intParam(q, "cpushares"),
        cpuQuota: intParam(q, "cpuquota"), cpuPeriod: intParam(q, "cpuperiod"), cpusetCpus: q.get("cpusetcpus") ?? "",
      },
      extraHosts: q.getAll("extrahosts").filter((h) => h !== "" && h !== "[]" && h !== "null"),
      shmSize: intParam(q, "shmsize"),
    },
  };
}

async function build(b: BuildBackend, ctx: RequestContext): Promise<void> {
  const p = parseBuildQuery(ctx.query);
  const out = new JsonStream(ctx.res);
  const write = (v: unknown) => { out.writeRaw(goJson(v) + "\n"); };
  try {
    await b.build({
      context: ctx.bodyStream(),
      ...(p.dockerfile ? { dockerfile: p.dockerfile } : {}),
      tags: p.tags, buildArgs: p.buildArgs, labels: p.labels, ...(p.target ? { target: p.target } : {}),
      noCache: p.noCache, pull: p.pull, rm: p.rm, forceRm: p.forceRm, networkMode: p.networkMode, quiet: p.quiet,
      ...(p.cacheFrom ? { cacheFrom: p.cacheFrom } : {}), run: p.run,
      signal: ctx.signal,
    }, {
      stream: (text) => write({ stream: text }),
      aux: (value) => write({ aux: value }),
    });
  } catch (err) {
    if (!out.started) throw err;
    const message = errorMessage(err);
    const code = (err as { exitCode?: unknown }).exitCode;
    write({ errorDetail: typeof code === "number" ? { code, message } : { message }, error: message });
  }
  out.end();
}
