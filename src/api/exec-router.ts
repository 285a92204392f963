// /containers/{id}/exec and /exec/**: create, start (hijacked unless detached), resize, inspect.
import { errConflict, errInvalidArgument } from "../base/errors.js";
import type { ExecCreateOptions, ExecView } from "../daemon/types.js";
import type { ExecBackend } from "./backends.js";
import { MEDIA_MULTIPLEXED_STREAM, MEDIA_RAW_STREAM, type RequestContext, type RouteDef } from "./context.js";
import { DEFAULT_DETACH_KEYS, detachableInput, parseDetachKeys } from "./detach-keys.js";
import { errorMessage } from "./errors.js";
import { goStructFields, isPlainObject, requiredInt, sendEmpty, sendJson } from "./http-io.js";
import { outputSinks } from "./streams.js";
import { versionAtLeast } from "./versions.js";

export function execRoutes(b: ExecBackend): RouteDef[] {
  // Exec create's DetachKeys, kept here until the start that uses them: the engine runs the
  // process, the API owns the client's connection and so the keys that end it.
  const detachKeys = new Map<string, Buffer>();
  return [
    { method: "POST", path: "/containers/:id/exec", handler: (ctx) => create(b, ctx, detachKeys) },
    { method: "POST", path: "/exec/:id/start", handler: (ctx) => start(b, ctx, detachKeys), hijack: true },
    {
      method: "POST",
      path: "/exec/:id/resize",
      handler: async (ctx) => {
        const h = requiredInt(ctx.query, "h");
        const w = requiredInt(ctx.query, "w");
        if (h < 0 || w < 0) throw errInvalidArgument("invalid terminal size: height and width must be non-negative");
        await b.execResize(ctx.params.id!, w, h);
        sendEmpty(ctx.res, 200);
      },
    },
    { method: "GET", path: "/exec/:id/json", handler: (ctx) => sendJson(ctx.res, 200, execInspectJson(b.execInspect(ctx.params.id!))) },
  ];
}

/**
 * moby's ExecConfig as API 1.41–1.43 decode it. Keys outside it (docker-py's `Container`) are
 * ignored, as dockerd ignores them. Detach has no effect at create in dockerd either.
 */
const EXEC_FIELDS = [
  "User", "Privileged", "Tty", "ConsoleSize", "AttachStdin", "AttachStderr", "AttachStdout", "Detach", "DetachKeys",
  "Env", "WorkingDir", "Cmd",
] as const;

export function parseExecCreateBody(raw: unknown): ExecCreateOptions {
  if (raw === undefined) throw errInvalidArgument("invalid JSON: got EOF while reading request body");
  if (!isPlainObject(raw)) throw errInvalidArgument("invalid JSON: expected an object");
  const body: Record<string, unknown> = goStructFields(raw, EXEC_FIELDS);
  const strings = (k: string): string[] | undefined => {
    const v = body[k];
    if (v === null || v === undefined) return undefined;
    if (typeof v === "string" && k === "Cmd") return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
    throw errInvalidArgument(`invalid ${k}: expected a list of strings`);
  };
  const str = (k: string): string | undefined => {
    const v = body[k];
    if (v === null || v === undefined) return undefined;
    if (typeof v === "string") return v;
    throw errInvalidArgument(`invalid ${k}: expected a string`);
  };
  const bool = (k: string): boolean | undefined => {
    const v = body[k];
    if (v === null || v === undefined) return undefined;
    if (typeof v === "boolean") return v;
    throw errInvalidArgument(`invalid ${k}: expected a boolean`);
  };
  const cmd = strings("Cmd") ?? [];
  if (cmd.length === 0) throw errInvalidArgument("No exec command specified");
  const o: ExecCreateOptions = { cmd };
  const env = strings("Env");
  if (env) o.env = env;
  const user = str("User");
  if (user) o.user = user;
  const wd = str("WorkingDir");
  if (wd) o.workingDir = wd;
  for (const [k, key] of [
    ["Tty", "tty"],
    ["AttachStdin", "attachStdin"],
    ["AttachStdout", "attachStdout"],
    ["AttachStderr", "attachStderr"],
    ["Privileged", "privileged"],
  ] as const) {
    const v = bool(k);
    if (v !== undefined) o[key] = v;
  }
  return o;
}

async function create(b: ExecBackend, ctx: RequestContext, detachKeys: Map<string, Buffer>): Promise<void> {
  const body = await ctx.readJson();
  const opts = parseExecCreateBody(body);
  const keys = isPlainObject(body) ? goStructFields(body, EXEC_FIELDS).DetachKeys : undefined;
  const parsed = typeof keys === "string" && keys !== "" ? parseDetachKeys(keys) : undefined;
  const id = await b.execCreate(ctx.params.id!, opts);
  if (parsed) detachKeys.set(id, parsed);
  sendJson(ctx.res, 201, { Id: id });
}

export function execInspectJson(x: ExecView) {
  return {
    ID: x.id,
    Running: x.running,
    ExitCode: x.exitCode,
    ProcessConfig: {
      tty: x.processConfig.tty,
      entrypoint: x.processConfig.entrypoint,
      arguments: [...x.processConfig.arguments],
      privileged: x.processConfig.privileged,
      user: x.processConfig.user,
    },
    OpenStdin: x.openStdin,
    OpenStderr: x.openStderr,
    OpenStdout: x.openStdout,
    CanRemove: x.canRemove,
    ContainerID: x.containerId,
    DetachKeys: "",
    Pid: x.pid,
  };
}

async function start(b: ExecBackend, ctx: RequestContext, detachKeysOf: Map<string, Buffer>): Promise<void> {
  const body = (await ctx.readJson()) ?? {};
  if (!isPlainObject(body)) throw errInvalidArgument("invalid JSON: expected an object");
  const detach = body.Detach === true;
  const tty = body.Tty === true;
  let consoleSize: { width: number; height: number } | undefined;
  const cs = body.ConsoleSize;
  if (cs !== null && cs !== undefined && versionAtLeast(ctx.version, "1.42")) {
    if (!Array.isArray(cs) || cs.length !== 2 || !cs.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) {
      throw errInvalidArgument("invalid ConsoleSize: expected [height, width]");
    }
    if ((cs[0] as number) > 0 || (cs[1] as number) > 0) consoleSize = { height: cs[0] as number, width: cs[1] as number };
  }
  const execId = ctx.params.id!;
  // Checked before the hijack so they are statuses, not in-band text (dockerd's ExecExists).
  const x = b.execInspect(execId);
  if (x.running) throw errConflict(`Error: Exec command ${execId} is already running`);
  const c = b.inspect(x.containerId);
  if (!c.state.running || c.state.restarting) throw errConflict(`Container ${x.containerId} is not running`);
  if (c.state.paused) throw errConflict(`Container ${x.containerId} is paused, unpause the container before exec`);
  const base = { ...(consoleSize ? { consoleSize } : {}) };

  if (detach) {
    await b.execStart(execId, { ...base, detach: true, signal: ctx.signal });
    return sendEmpty(ctx.res, 200);
  }
  // Framing follows the start request's Tty, as in dockerd (the pty itself follows exec create's).
  const multiplexed = !tty;
  const contentType = ctx.upgrade && multiplexed && versionAtLeast(ctx.version, "1.42") ? MEDIA_MULTIPLEXED_STREAM : MEDIA_RAW_STREAM;
  const h = ctx.hijack({ contentType, withVersionHeaders: true });
  const sinks = outputSinks((chunk) => h.write(chunk), multiplexed);
  if (!x.openStdin) h.input.resume();
  // With a TTY the detach keys end this connection and leave the process running (dockerd's
  // copyEscapable): the start is not waited for after that. Only then is there a detacher.
  const keys = detachKeysOf.get(execId) ?? DEFAULT_DETACH_KEYS;
  detachKeysOf.delete(execId);
  const detachable = x.openStdin && x.processConfig.tty;
  const detacher = detachable ? new AbortController() : undefined;
  const detached = detacher && new Promise<void>((resolve) => detacher.signal.addEventListener("abort", () => resolve(), { once: true }));
  const stdin = detacher ? detachableInput(h.input, keys, () => detacher.abort()) : h.input;
  const run = b.execStart(execId, {
    ...base,
    ...(x.openStdin ? { stdin } : {}),
    stdout: sinks.stdout,
    stderr: sinks.stderr,
    signal: detacher ? AbortSignal.any([h.signal, detacher.signal]) : h.signal,
  });
  try {
    await (detached ? Promise.race([run, detached]) : run);
  } catch (err) {
    // dockerd writes a failed exec's error as output text (stdout), not as a stream error: the
    // CLI prints it, then reads the exit code (126/127) from exec inspect.
    if (!h.signal.aborted) sinks.stdout(Buffer.from(errorMessage(err) + "\r\n"));
  }
  if (detacher?.signal.aborted) run.catch((err: unknown) => ctx.log?.debug({ err, execId }, "detached exec failed"));
  h.end();
}
