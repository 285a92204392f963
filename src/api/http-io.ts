// Small request/response helpers shared by the routers: query values read as dockerd's httputils
// reads them, JSON bodies and JSON responses (always with Content-Length and dockerd's trailing
// newline).
import type { ServerResponse } from "node:http";
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

/** Parses a JSON body; an empty body is `undefined` (callers decide whether that is allowed). */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0 || body.toString("utf8").trim() === "") return undefined;
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw errInvalidArgument(`invalid JSON: ${(e as Error).message}`);
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The fields of a JSON object as Go's encoding/json decodes it into a struct: a key matches a
 * field by exact name, else case-insensitively (docker-py sends `detachKeys` for `DetachKeys`),
 * the last matching key wins, and keys matching no field are ignored (docker-py's exec body
 * carries `Container`, which ExecConfig has no field for).
 */
export function goStructFields<K extends string>(body: Record<string, unknown>, fields: readonly K[]): Partial<Record<K, unknown>> {
  const byFold = new Map(fields.map((f) => [f.toLowerCase(), f] as const));
  const exact = new Set<string>(fields);
  const out: Partial<Record<K, unknown>> = {};
  for (const [k, v] of Object.entries(body)) {
    const field = (exact.has(k) ? k : byFold.get(k.toLowerCase())) as K | undefined;
    if (field !== undefined) out[field] = v;
  }
  return out;
}
