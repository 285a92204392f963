// Small request/response helpers shared by the routers: query values read as dockerd's httputils
// reads them, JSON bodies and JSON responses (always with Content-Length and dockerd's trailing
// newline).
import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { errInvalidArgument } from "../base/errors.js";

/** httputils.BoolValue: absent, "", "0", "no", "false", "none" are false; anything else is true. */
export function boolValue(q: URLSearchParams, key: string): boolean {
  const v = (q.get(key) ?? "").trim().toLowerCase();
  return !(v === "" || v === "0" || v === "no" || v === "false" || v === "none");
}

/** httputils.BoolValueOrDefault: the default when the key is absent, else boolValue. */
export function boolValueOr(q: URLSearchParams, key: string, dflt: boolean): boolean {
  return q.has(key) ? boolValue(q, key) : dflt;
}

const INTEGER = /^[+-]?[0-9]+$/;

/** An integer parameter (strconv.Atoi); undefined when absent or empty. */
export function intValue(q: URLSearchParams, key: string): number | undefined {
  const v = q.get(key);
  if (v === null || v === "") return undefined;
  if (!INTEGER.test(v)) throw errInvalidArgument(`invalid value for ${key}: ${JSON.stringify(v)} is not an integer`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw errInvalidArgument(`invalid value for ${key}: ${JSON.stringify(v)} is out of range`);
  return n;
}

export function requiredInt(q: URLSearchParams, key: string): number {
  const n = intValue(q, key);
  if (n === undefined) throw errInvalidArgument(`invalid value for ${key}: an integer is required`);
  return n;
}

/** Writes a JSON response with Content-Length, as dockerd's WriteJSON (newline-terminated). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body) + "\n");
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Content-Length", data.length);
  res.end(data);
}

/** A response without a body: 204/304 carry no Content-Length; 200/201 carry "0" (dockerd does). */
export function sendEmpty(res: ServerResponse, status: number): void {
  res.statusCode = status;
  if (status !== 204 && status !== 304) res.setHeader("Content-Length", 0);
  res.end();
}

/** dockerd's CheckForJSON: a body must be declared application/json (a missing type is tolerated). */
export function checkJsonContentType(contentType: string | undefined, hasBody: boolean): void {
  if (!hasBody || contentType === undefined || contentType === "") return;
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  if (mediaType === "application/json") return;
  throw errInvalidArgument(`unsupported Content-Type header (${contentType}): must be 'application/json'`);
}

/**
 * How deep a body's arrays and objects may nest. The API's own bodies nest a handful of levels;
 * the code that reads them walks values recursively, so a body nested 100,000 deep would overflow
 * the stack (a 500) instead of being the client's error. Go's decoder stops at 10,000.
 */
export const MAX_JSON_DEPTH = 512;

/** Whether `text` nests arrays/objects deeper than `max` (a linear scan; strings are skipped). */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Parses a JSON body; an empty body is `undefined` (callers decide whether that is allowed). */
export function parseJsonBody(body: Buffer): unknown {
  const text = body.toString("utf8");
  if (text.trim() === "") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw errInvalidArgument(`invalid JSON: ${(e as Error).message}`);
  }
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) throw errInvalidArgument(`invalid JSON: nested deeper than ${MAX_JSON_DEPTH} levels`);
  return v;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** goStructFields' lookups per field list (the lists are module constants). */
const fieldLookups = new WeakMap<readonly string[], { byFold: Map<string, string>; exact: Set<string> }>();

/**
 * The fields of a JSON object as Go's encoding/json decodes it into a struct: a key matches a
 * field by exact name, else case-insensitively (docker-py sends `detachKeys` for `DetachKeys`),
 * the last matching key wins, and keys matching no field are ignored (docker-py's exec body
 * carries `Container`, which ExecConfig has no field for).
 */
export function goStructFields<K extends string>(body: Record<string, unknown>, fields: readonly K[]): Partial<Record<K, unknown>> {
  let lookup = fieldLookups.get(fields);
  if (!lookup) fieldLookups.set(fields, (lookup = { byFold: new Map(fields.map((f) => [f.toLowerCase(), f] as const)), exact: new Set<string>(fields) }));
  const { byFold, exact } = lookup;
  const out: Partial<Record<K, unknown>> = {};
  for (const [k, v] of Object.entries(body)) {
    const field = (exact.has(k) ? k : byFold.get(k.toLowerCase())) as K | undefined;
    if (field !== undefined) out[field] = v;
  }
  return out;
}

/**
 * Streams a tar as a 200 body. A tar has no in-band error: a failure mid-stream cuts the
 * connection, which is how the client learns of it; a client that leaves stops the tar.
 */
export function sendTar(ctx: { res: ServerResponse; log?: { warn(o: object, msg: string): void } | undefined }, tar: Readable, what: string): Promise<void> {
  const { res } = ctx;
  res.statusCode = 200;
  res.setHeader("Content-Type", "application/x-tar");
  return new Promise<void>((resolve) => {
    tar.once("error", (err) => {
      ctx.log?.warn({ err }, `${what} failed mid-stream`);
      res.destroy(err);
      resolve();
    });
    res.once("close", () => {
      tar.destroy();
      resolve();
    });
    tar.pipe(res);
  });
}
