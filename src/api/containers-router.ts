// /containers/**: lifecycle, list/inspect, wait, logs, stats, top, attach (hijacked), archive.
import { PassThrough, type Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { errConflict, errInvalidArgument, errNotFound, errNotImplemented } from "../base/errors.js";
import { defaultNetworkName } from "../container/index.js";
import type { ContainerView, LogOptions, WaitCondition } from "../daemon/types.js";
import type { ContainerBackend, ImageBackend, NetworkBackend } from "./backends.js";
import { containerFsRoutes } from "./container-fs-routes.js";
import { containerInspectJson, containerSummaryJson, type NetworkIdOf } from "./container-json.js";
import { MEDIA_MULTIPLEXED_STREAM, MEDIA_RAW_STREAM, type RequestContext, type RouteDef } from "./context.js";
import { parseCreateBody, parseUpdateBody } from "./create-body.js";
import { DEFAULT_DETACH_KEYS, detachableInput, parseDetachKeys } from "./detach-keys.js";
import { parseFilters, type Filters } from "./filters.js";
import { boolValue, boolValueOr, intValue, requiredInt, sendEmpty, sendJson, sendTar } from "./http-io.js";
import { goArch } from "./images-router.js";
import { nanosToDate, parseUnixTimestamp, rfc3339Nano, rfc3339NanoFixed } from "./json-time.js";
import { emptyStatsJson, statsJson } from "./stats-json.js";
import { outputSinks, settleEarly } from "./streams.js";
import { versionAtLeast, versionBelow } from "./versions.js";

export interface ContainerRouterDeps {
  /** For the `ancestor` filter: resolves an image reference to its ID. */
  images?: Pick<ImageBackend, "resolve">;
  /** For NetworkSettings.Networks of containers without live endpoints: the network's ID. */
  networks?: Pick<NetworkBackend, "inspectNetwork">;
  statsIntervalMs: number;
}

/**
 * Whether the engine's CreateOptions carries per-network endpoint settings (`--network-alias`,
 * `--ip`). Until it does, they are refused with 400 rather than dropped.
 */
const ENGINE_TAKES_ENDPOINT_SETTINGS = true;

/** Network name → ID for one request (a list asks once per distinct network, not per container). */
function networkIdLookup(deps: ContainerRouterDeps): NetworkIdOf | undefined {
  const nets = deps.networks;
  if (!nets) return undefined;
  const seen = new Map<string, string | undefined>();
  return (name) => {
    if (!seen.has(name)) {
      try {
        seen.set(name, nets.inspectNetwork(name).id);
      } catch {
        seen.set(name, undefined);
      }
    }
    return seen.get(name);
  };
}

export function containerRoutes(b: ContainerBackend, deps: ContainerRouterDeps): RouteDef[] {
  const id = (ctx: RequestContext) => ctx.params.id!;
  const noContent = (ctx: RequestContext) => sendEmpty(ctx.res, 204);
  return [
    { method: "GET", path: "/containers/json", handler: (ctx) => list(b, deps, ctx) },
    { method: "POST", path: "/containers/create", handler: (ctx) => create(b, ctx) },
    {
      method: "GET",
      path: "/containers/:id/json",
      handler: (ctx) => sendJson(ctx.res, 200, containerInspectJson(b.inspect(id(ctx)), { networkIdOf: networkIdLookup(deps) })),
    },
    { method: "POST", path: "/containers/:id/start", handler: (ctx) => start(b, ctx) },
    {
      method: "POST",
      path: "/containers/:id/stop",
      handler: async (ctx) => sendEmpty(ctx.res, (await b.stop(id(ctx), stopOptions(ctx))) ? 204 : 304),
    },
    {
      method: "POST",
      path: "/containers/:id/restart",
      handler: async (ctx) => {
        await b.restart(id(ctx), stopOptions(ctx));
        noContent(ctx);
      },
    },
    {
      method: "POST",
      path: "/containers/:id/kill",
      handler: async (ctx) => {
        const signal = ctx.query.get("signal") ?? "";
        await b.kill(id(ctx), signal === "" ? undefined : signal);
        noContent(ctx);
      },
    },
    {
      method: "POST",
      path: "/containers/:id/pause",
      handler: async (ctx) => {
        await b.pause(id(ctx));
        noContent(ctx);
      },
    },
    {
      method: "POST",
      path: "/containers/:id/unpause",
      handler: async (ctx) => {
        await b.unpause(id(ctx));
        noContent(ctx);
      },
    },
    { method: "POST", path: "/containers/:id/wait", handler: (ctx) => wait(b, ctx) },
    {
      method: "DELETE",
      path: "/containers/:id",
      handler: async (ctx) => {
        await b.remove(id(ctx), { force: boolValue(ctx.query, "force"), removeVolumes: boolValue(ctx.query, "v"), ...(boolValue(ctx.query, "link") ? { link: true } : {}) });
        noContent(ctx);
      },
    },
    {
      // A link's name is "<container>/<alias>": `docker rm --link` sends it with its slash.
      method: "DELETE",
      path: "/containers/:id/:alias",
      handler: async (ctx) => {
        if (!boolValue(ctx.query, "link")) throw errNotFound(`No such container: ${id(ctx)}/${ctx.params.alias!}`);
        await b.remove(`${id(ctx)}/${ctx.params.alias!}`, { link: true });
        noContent(ctx);
      },
    },
    {
      method: "POST",
      path: "/containers/:id/rename",
      handler: async (ctx) => {
        const name = ctx.query.get("name") ?? "";
        if (name === "") throw errInvalidArgument("Neither old nor new names may be empty");
        await b.rename(id(ctx), name);
        noContent(ctx);
      },
    },
    {
      method: "POST",
      path: "/containers/:id/update",
      handler: async (ctx) => {
        const opts = parseUpdateBody(await ctx.readJson(), ctx.version);
        const r = await b.update(id(ctx), opts);
        sendJson(ctx.res, 200, { Warnings: r.warnings });
      },
    },
    {
      method: "GET",
      path: "/containers/:id/top",
      handler: async (ctx) => {
        const psArgs = ctx.query.get("ps_args") ?? "";
        const t = await b.top(id(ctx), psArgs === "" ? undefined : psArgs);
        sendJson(ctx.res, 200, { Titles: t.titles, Processes: t.processes });
      },
    },
    {
      method: "POST",
      path: "/containers/:id/resize",
      handler: async (ctx) => {
        const h = requiredInt(ctx.query, "h");
        const w = requiredInt(ctx.query, "w");
        if (h < 0 || w < 0) throw errInvalidArgument("invalid terminal size: height and width must be non-negative");
        await b.resize(id(ctx), w, h);
        sendEmpty(ctx.res, 200);
      },
    },
    { method: "GET", path: "/containers/:id/stats", handler: (ctx) => stats(b, deps, ctx) },
    { method: "GET", path: "/containers/:id/logs", handler: (ctx) => logs(b, ctx) },
    { method: "POST", path: "/containers/:id/attach", handler: (ctx) => attach(b, ctx), hijack: true },
    { method: "HEAD", path: "/containers/:id/archive", handler: (ctx) => statArchive(b, ctx) },
    { method: "GET", path: "/containers/:id/archive", handler: (ctx) => getArchive(b, ctx) },
    { method: "PUT", path: "/containers/:id/archive", handler: (ctx) => putArchive(b, ctx) },
    ...containerFsRoutes(b),
  ];
}

// ---- list -----------------------------------------------------------------------------------

const PS_FILTERS = [
  "ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task", "label", "name", "network",
  "publish", "since", "status", "volume",
] as const;
const STATES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];
const HEALTH = ["starting", "healthy", "unhealthy", "none"];

async function list(b: ContainerBackend, deps: ContainerRouterDeps, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const f = parseFilters(q.get("filters"));
  f.validate(PS_FILTERS);
  for (const s of f.get("status")) if (!STATES.includes(s)) throw errInvalidArgument(`invalid filter 'status=${s}'`);
  for (const s of f.get("health")) if (!HEALTH.includes(s)) throw errInvalidArgument(`invalid filter 'health=${s}'`);
  const exited = f.get("exited").map((v) => {
    if (!/^-?[0-9]+$/.test(v)) throw errInvalidArgument(`invalid filter 'exited=${v}'`);
    return Number(v);
  });
  const isTask = f.has("is-task") ? f.getBool("is-task") : undefined;
  const limit = intValue(q, "limit") ?? -1;
  const beforeRefs = [...f.get("before"), ...(q.get("before") ? [q.get("before")!] : [])];
  const sinceRefs = [...f.get("since"), ...(q.get("since") ? [q.get("since")!] : [])];
  const all =
    boolValue(q, "all") || f.has("status") || f.has("exited") || limit > 0 || beforeRefs.length > 0 || sinceRefs.length > 0;

  // Newest first, as dockerd lists them; before/since are positions in that order.
  const views = b.list({ all: true }).sort((x, y) => y.created.getTime() - x.created.getTime());
  const position = (ref: string) => {
    const target = b.inspect(ref).id;
    return views.findIndex((v) => v.id === target);
  };
  const beforePos = beforeRefs.length ? Math.max(...beforeRefs.map(position)) : undefined;
  const sincePos = sinceRefs.length ? Math.min(...sinceRefs.map(position)) : undefined;
  const ancestor = await ancestorMatcher(f, deps, ctx.signal);

  const out: ContainerView[] = [];
  views.forEach((v, i) => {
    if (!all && !v.state.running) return;
    if (beforePos !== undefined && i <= beforePos) return;
    if (sincePos !== undefined && i >= sincePos) return;
    if (!f.regexMatch("name", v.name) && !f.regexMatch("name", v.name.slice(1))) return;
    if (!f.regexMatch("id", v.id)) return;
    if (!f.matchKeyValues("label", v.config.labels)) return;
    if (!f.exactMatch("status", v.state.status)) return;
    // Only containers that ran: a never-started one's exit code 0 is no exit (moby's list.go).
    if (exited.length > 0 && (v.state.running || v.state.startedAt === undefined || !exited.includes(v.state.exitCode))) return;
    if (!f.exactMatch("health", v.state.health?.status ?? "none")) return;
    if (f.has("network") && !matchesNetwork(f, v)) return;
    if (!f.exactMatch("isolation", "default") && !f.exactMatch("isolation", "")) return;
    if (isTask === true) return;
    if (f.has("publish") && !f.get("publish").some((p) => publishedPorts(v).has(withProto(p)))) return;
    if (f.has("expose") && !f.get("expose").some((p) => exposedPorts(v).has(withProto(p)))) return;
    if (f.has("volume") && !f.get("volume").some((p) => v.mounts.some((m) => m.source === p || m.destination === p))) return;
    if (!ancestor(v)) return;
    out.push(v);
  });
  const shown = limit > 0 ? out.slice(0, limit) : out;
  const size = boolValue(q, "size");
  const networkIdOf = networkIdLookup(deps);
  sendJson(ctx.res, 200, shown.map((v) => containerSummaryJson(v, { ...(size ? { size: { rw: 0, rootFs: 0 } } : {}), ...(networkIdOf ? { networkIdOf } : {}) })));
}

const withProto = (p: string) => (p.includes("/") ? p : `${p}/tcp`);

/** "8080/tcp" keys of the host ports a container publishes. */
function publishedPorts(v: ContainerView): Set<string> {
  const out = new Set<string>();
  for (const [key, bindings] of Object.entries(v.networkSettings?.ports ?? {})) {
    const proto = key.split("/")[1] ?? "tcp";
    for (const b of bindings ?? []) out.add(`${b.hostPort}/${proto}`);
  }
  return out;
}

/** "80/tcp" keys of the container ports it exposes or publishes. */
function exposedPorts(v: ContainerView): Set<string> {
  return new Set([...v.config.exposedPorts.map(withProto), ...Object.keys(v.networkSettings?.ports ?? {})]);
}

function matchesNetwork(f: Filters, v: ContainerView): boolean {
  const nets = Object.values(v.networkSettings?.networks ?? {});
  const mode = v.hostConfig.networkMode;
  const names = new Set([defaultNetworkName(mode), ...nets.map((n) => n.networkName)]);
  return f.get("network").some((want) => names.has(want) || nets.some((n) => n.networkId.startsWith(want)));
}

async function ancestorMatcher(f: Filters, deps: ContainerRouterDeps, signal: AbortSignal): Promise<(v: ContainerView) => boolean> {
  if (!f.has("ancestor")) return () => true;
  const refs = f.get("ancestor");
  const ids = new Set<string>();
  for (const r of refs) {
    const resolved = await deps.images?.resolve(r, { signal }).catch(() => undefined);
    if (resolved) ids.add(resolved.replace(/^sha256:/, ""));
  }
  const withTag = (s: string) => (/:[^/]*$/.test(s) || s.includes("@") ? s : `${s}:latest`);
  return (v) => {
    const imageId = v.imageId.replace(/^sha256:/, "");
    if (ids.has(imageId)) return true;
    return refs.some((r) => {
      if (withTag(r) === withTag(v.image)) return true;
      const hex = r.replace(/^sha256:/, "");
      return /^[0-9a-f]{12,64}$/.test(hex) && imageId.startsWith(hex);
    });
  };
}

// ---- create / start / stop --------------------------------------------------------------------

async function create(b: ContainerBackend, ctx: RequestContext): Promise<void> {
  const name = ctx.query.get("name") ?? "";
  const platform = ctx.query.get("platform") ?? "";
  if (platform !== "" && versionAtLeast(ctx.version, "1.41")) {
    const [os, arch] = platform.split("/");
    if (os !== "linux" || (arch !== undefined && arch !== goArch())) {
      throw errInvalidArgument(`platform ${JSON.stringify(platform)} is not supported: berth runs linux/${goArch()} containers only`);
    }
  }
  const parsed = parseCreateBody(await ctx.readJson(), ctx.version, { endpointSettings: ENGINE_TAKES_ENDPOINT_SETTINGS });
  const r = await b.create({
    ...(name !== "" ? { name } : {}),
    config: parsed.config,
    hostConfig: parsed.hostConfig,
    ...(parsed.networks ? { networks: parsed.networks } : {}),
    signal: ctx.signal,
  });
  sendJson(ctx.res, 201, { Id: r.id, Warnings: r.warnings });
}

async function start(b: ContainerBackend, ctx: RequestContext): Promise<void> {
  // A non-empty body (HostConfig at start) was removed in API 1.24; a JSON null or {} is at most 7 bytes.
  const cl = ctx.req.headers["content-length"];
  if ((cl !== undefined && Number(cl) > 7) || (cl === undefined && ctx.req.headers["transfer-encoding"] !== undefined)) {
    throw errInvalidArgument("starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24");
  }
  if ((ctx.query.get("checkpoint") ?? "") !== "") throw errInvalidArgument("checkpoints are not supported by berth");
  const started = await b.start(ctx.params.id!);
  sendEmpty(ctx.res, started ? 204 : 304);
}

function stopOptions(ctx: RequestContext): { timeout?: number; signal?: string } {
  const t = intValue(ctx.query, "t");
  const signal = versionAtLeast(ctx.version, "1.42") ? ctx.query.get("signal") ?? "" : "";
  return { ...(t !== undefined ? { timeout: t } : {}), ...(signal !== "" ? { signal } : {}) };
}

// ---- wait -----------------------------------------------------------------------------------

async function wait(b: ContainerBackend, ctx: RequestContext): Promise<void> {
  const legacy = versionBelow(ctx.version, "1.30");
  let condition: WaitCondition = "not-running";
  const c = legacy ? "" : ctx.query.get("condition") ?? "";
  if (c !== "") {
    if (c !== "not-running" && c !== "next-exit" && c !== "removed") throw errInvalidArgument(`invalid condition: ${JSON.stringify(c)}`);
    condition = c;
  }
  const view = b.inspect(ctx.params.id!);
  // The engine's waiter exists before the 200 goes out: `docker run` sends its start as soon as it
  // has the headers, and a fast exit must not be missed.
  const waiting = b.wait(view.id, condition, { signal: ctx.signal });
  waiting.catch(() => {});
  const res = ctx.res;
  res.setHeader("Content-Type", "application/json");
  if (!legacy) {
    // Since API 1.30 the 200 goes out at once (moby's client returns from ContainerWait then).
    res.statusCode = 200;
    res.flushHeaders();
  }
  let exitCode: number;
  let error: string | undefined;
  try {
    const r = await waiting;
    exitCode = r.exitCode;
    error = r.error;
  } catch (err) {
    if (legacy) throw err;
    exitCode = -1;
    error = err instanceof Error ? err.message : String(err);
  }
  const body = JSON.stringify({ Error: error !== undefined && error !== "" ? { Message: error } : null, StatusCode: exitCode }) + "\n";
  if (legacy) res.setHeader("Content-Length", Buffer.byteLength(body));
  res.end(body);
}

// ---- stats ----------------------------------------------------------------------------------

async function stats(b: ContainerBackend, deps: ContainerRouterDeps, ctx: RequestContext): Promise<void> {
  const view = b.inspect(ctx.params.id!);
  const who = { id: view.id, name: view.name };
  const stream = boolValueOr(ctx.query, "stream", true);
  const oneShot = versionAtLeast(ctx.version, "1.41") && boolValueOr(ctx.query, "one-shot", false);
  const res = ctx.res;
  if (!view.state.running) {
    // dockerd answers a stopped container with one all-zero sample, streaming or not.
    return sendJson(res, 200, emptyStatsJson(who));
  }
  const opts = { signal: ctx.signal };
  if (!stream) {
    let s = await b.stats(view.id, opts);
    // CPU % needs two samples: like dockerd, take a second one an interval later (not for one-shot).
    if (!oneShot && !s.previous) {
      await sleep(deps.statsIntervalMs, undefined, opts);
      s = await b.stats(view.id, opts);
    }
    return sendJson(res, 200, statsJson(s, who));
  }
  let s = await b.stats(view.id, opts);
  res.statusCode = 200;
  res.flushHeaders();
  try {
    for (;;) {
      res.write(JSON.stringify(statsJson(s, who)) + "\n");
      await sleep(deps.statsIntervalMs, undefined, opts);
      s = await b.stats(view.id, opts);
    }
  } catch {
    // The client left, the server is closing, or the container stopped: the stream ends.
  }
  res.end();
}

// ---- logs -----------------------------------------------------------------------------------

async function logs(b: ContainerBackend, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const stdout = boolValue(q, "stdout");
  const stderr = boolValue(q, "stderr");
  if (!stdout && !stderr) throw errInvalidArgument("Bad parameters: you must choose at least one stream");
  const view = b.inspect(ctx.params.id!);
  const since = parseUnixTimestamp(q.get("since"), "since");
  const until = parseUnixTimestamp(q.get("until"), "until");
  const tailRaw = q.get("tail") ?? "";
  // dockerd: anything but a non-negative integer means all lines.
  const tail: number | "all" = /^[0-9]+$/.test(tailRaw) ? Number(tailRaw) : "all";
  const timestamps = boolValue(q, "timestamps");
  const details = boolValue(q, "details");
  const opts: LogOptions = {
    stdout,
    stderr,
    tail,
    follow: boolValue(q, "follow"),
    signal: ctx.signal,
    ...(since !== undefined && since > 0n ? { since: nanosToDate(since) } : {}),
    ...(until !== undefined && until > 0n ? { until: nanosToDate(until) } : {}),
  };
  const iterator = b.logs(view.id, opts)[Symbol.asyncIterator]();
  // No such container, a driver that cannot be read: still an HTTP status, not an in-band error.
  const first = await settleEarly(iterator.next());

  const res = ctx.res;
  const multiplexed = !view.config.tty;
  res.statusCode = 200;
  if (versionAtLeast(ctx.version, "1.42")) res.setHeader("Content-Type", multiplexed ? MEDIA_MULTIPLEXED_STREAM : MEDIA_RAW_STREAM);
  res.flushHeaders();
  const sinks = outputSinks((c) => {
    if (!res.writableEnded && !res.destroyed) res.write(c);
  }, multiplexed);
  try {
    let next = first.settled ? first.value : await first.promise;
    while (!next.done) {
      const e = next.value;
      let line = e.line;
      if (details) line = Buffer.concat([Buffer.from(" "), line]);
      if (timestamps) line = Buffer.concat([Buffer.from(rfc3339NanoFixed(e.time) + " "), line]);
      (e.stream === "stderr" ? sinks.stderr : sinks.stdout)(line);
      next = await iterator.next();
    }
  } catch (err) {
    if (!ctx.signal.aborted) sinks.error(err, "Error grabbing logs: ");
  } finally {
    await iterator.return?.().catch(() => undefined);
  }
  res.end();
}

// ---- attach ---------------------------------------------------------------------------------

async function attach(b: ContainerBackend, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const view = b.inspect(ctx.params.id!);
  if (view.state.paused) throw errConflict("You cannot attach to a paused container, unpause it first");
  if (view.state.restarting) throw errConflict("You cannot attach to a restarting container, wait until it is running");
  const useStdin = boolValue(q, "stdin");
  const detachKeys = q.get("detachKeys") ? parseDetachKeys(q.get("detachKeys")!) : DEFAULT_DETACH_KEYS;
  const multiplexed = !view.config.tty;
  const contentType = ctx.upgrade && multiplexed && versionAtLeast(ctx.version, "1.42") ? MEDIA_MULTIPLEXED_STREAM : MEDIA_RAW_STREAM;
  const h = ctx.hijack({ contentType });
  const sinks = outputSinks((c) => h.write(c), multiplexed);
  if (!useStdin) h.input.resume();
  // With a TTY the detach keys end this attach (the container keeps running), as in dockerd.
  const detach = new AbortController();
  const stdin = useStdin && view.config.tty ? detachableInput(h.input, detachKeys, () => detach.abort()) : h.input;
  try {
    await b.attach(view.id, {
      ...(useStdin ? { stdin } : {}),
      ...(boolValue(q, "stdout") ? { stdout: sinks.stdout } : {}),
      ...(boolValue(q, "stderr") ? { stderr: sinks.stderr } : {}),
      logs: boolValue(q, "logs"),
      stream: boolValue(q, "stream"),
      signal: AbortSignal.any([h.signal, detach.signal]),
    });
  } catch (err) {
    if (!h.signal.aborted && !detach.signal.aborted) sinks.error(err, "Error attaching: ");
  }
  h.end();
}

// ---- archive --------------------------------------------------------------------------------

function archivePath(ctx: RequestContext): string {
  const p = ctx.query.get("path") ?? "";
  if (p === "") throw errInvalidArgument("bad parameter: path cannot be empty");
  return p;
}

function statHeader(s: { name: string; size: number; mode: number; mtime: Date; linkTarget: string }): string {
  const json = JSON.stringify({ name: s.name, size: s.size, mode: s.mode, mtime: rfc3339Nano(s.mtime), linkTarget: s.linkTarget });
  return Buffer.from(json).toString("base64");
}

async function statArchive(b: ContainerBackend, ctx: RequestContext): Promise<void> {
  const stat = await b.statPath(ctx.params.id!, archivePath(ctx));
  ctx.res.setHeader("X-Docker-Container-Path-Stat", statHeader(stat));
  sendEmpty(ctx.res, 200);
}

async function getArchive(b: ContainerBackend, ctx: RequestContext): Promise<void> {
  const { stat, tar } = await b.getArchive(ctx.params.id!, archivePath(ctx), { signal: ctx.signal });
  ctx.res.setHeader("X-Docker-Container-Path-Stat", statHeader(stat));
  await sendTar(ctx, tar, "archive read");
}

/**
 * The body is read to its end before any answer, error or not: a client that uploads before it
 * reads (testcontainers' copy-before-start) otherwise sees EPIPE instead of the error.
 */
async function putArchive(b: ContainerBackend, ctx: RequestContext): Promise<void> {
  const req = ctx.bodyStream();
  // The engine reads through a pipe it may destroy on error; the request itself stays readable.
  const body = new PassThrough();
  req.pipe(body);
  try {
    const path = archivePath(ctx);
    if (boolValue(ctx.query, "copyUIDGID")) throw errInvalidArgument("copyUIDGID (docker cp -a) is not supported by berth");
    await b.putArchive(ctx.params.id!, path, body, {
      noOverwriteDirNonDir: boolValue(ctx.query, "noOverwriteDirNonDir"),
      signal: ctx.signal,
    });
  } catch (e) {
    req.unpipe(body);
    body.destroy();
    await drain(req);
    throw e;
  }
  req.unpipe(body);
  await drain(req);
  sendEmpty(ctx.res, 200);
}

/** Reads and drops what is left of a request body. */
async function drain(req: Readable): Promise<void> {
  if (req.readableEnded || req.destroyed) return;
  req.resume();
  await new Promise<void>((resolve) => {
    req.once("end", resolve);
    req.once("close", resolve);
    req.once("error", () => resolve());
  });
}

