import { errInvalidArgument, errNotImplemented } from "../../base/errors.js";
import { atoi as goAtoi, parseGoBool } from "../../base/go-parse.js";

/**
 * `--log-opt` for the json-file driver, validated as dockerd does: first the options every driver
 * takes (`mode`, `max-buffer-size`: moby `daemon/logger/factory.go` `ValidateLogOpts`), then the
 * driver's own keys (`daemon/logger/jsonfilelog/jsonfilelog.go` `ValidateLogOpt`), then the values
 * in the order `New` parses them. Messages are dockerd's, Go's `strconv` errors included.
 */

export type LogMode = "blocking" | "non-blocking";

export interface JsonFileLogConfig {
  /** `max-size` in bytes (decimal units: 10m = 10 000 000); undefined: no rotation. */
  maxSize: number | undefined;
  /** `max-file`, default 1. Without `maxSize` it changes nothing (as in dockerd). */
  maxFile: number;
  /** `mode` (default blocking) and `max-buffer-size` (bytes, binary units) for the engine. */
  mode: LogMode;
  maxBufferSize: number | undefined;
  /** Passed through for the engine, which turns them into the records' `attrs`. */
  labels?: string;
  labelsRegex?: string;
  env?: string;
  envRegex?: string;
  tag?: string;
}

const DRIVER_KEYS = new Set(["max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag"]);
const BUILTIN_KEYS = new Set(["mode", "max-buffer-size"]);

const DECIMAL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
const BINARY: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** Go's `strconv.ParseFloat` for the decimal forms (hex floats and "inf" are not sizes anyway). */
function parseGoFloat(s: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    throw errInvalidArgument(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`);
  }
  const v = Number(s);
  if (!Number.isFinite(v)) throw errInvalidArgument(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: value out of range`);
  return v;
}

/** Go's `int64(f)` for the sizes here: out of range reads as negative, as on amd64. */
function toInt64(f: number): number {
  return f >= 2 ** 63 ? -1 : Math.trunc(f);
}

function parseSize(s: string, units: Record<string, number>): number {
  // docker/go-units v0.5 parseSize: the number ends at the last digit, dot or space.
  let sep = -1;
  for (let i = s.length - 1; i >= 0; i--) {
    if ("0123456789. ".includes(s[i]!)) { sep = i; break; }
  }
  if (sep === -1) throw errInvalidArgument(`invalid size: '${s}'`);
  const num = s[sep] === " " ? s.slice(0, sep) : s.slice(0, sep + 1);
  let sfx = s.slice(sep + 1);
  const size = parseGoFloat(num);
  if (size < 0) throw errInvalidArgument(`invalid size: '${s}'`);
  if (sfx.length === 0) return toInt64(size);
  if (sfx.length > 3) throw errInvalidArgument(`invalid suffix: '${sfx}'`);
  sfx = sfx.toLowerCase();
  if (sfx[0] === "b") {
    if (sfx.length > 1) throw errInvalidArgument(`invalid suffix: '${sfx}'`);
    return toInt64(size);
  }
  const mul = units[sfx[0]!];
  if (mul === undefined || (sfx.length === 2 && sfx[1] !== "b") || (sfx.length === 3 && sfx.slice(1) !== "ib")) {
    throw errInvalidArgument(`invalid suffix: '${sfx}'`);
  }
  return toInt64(size * mul);
}

/** docker/go-units `FromHumanSize`: decimal units, "10m" = 10 000 000; the json-file `max-size`. */
export function fromHumanSize(s: string): number {
  return parseSize(s, DECIMAL);
}

/** docker/go-units `RAMInBytes`: binary units, "10m" = 10 485 760; `max-buffer-size`. */
export function ramInBytes(s: string): number {
  return parseSize(s, BINARY);
}

/** Go's `strconv.Atoi`, failing with its message. */
function atoi(s: string): number {
  const v = goAtoi(s);
  if (v !== undefined) return v;
  const why = /^[+-]?\d+$/.test(s) ? "value out of range" : "invalid syntax";
  throw errInvalidArgument(`strconv.Atoi: parsing ${JSON.stringify(s)}: ${why}`);
}

/** Go's `strconv.ParseBool`, failing with its message. */
function parseBool(s: string): boolean {
  const b = parseGoBool(s);
  if (b === undefined) throw errInvalidArgument(`strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
  return b;
}

/**
 * Validates and parses a container's `LogConfig.Config` for the json-file driver. Errors are
 * invalid-argument with dockerd's message; `compress=true`, which dockerd supports, is
 * not-implemented in berth.
 */
export function parseJsonFileLogOptions(opts: Readonly<Record<string, string>>): JsonFileLogConfig {
  const get = (k: string): string | undefined => (Object.hasOwn(opts, k) ? opts[k] : undefined);

  const modeOpt = get("mode") ?? "";
  if (modeOpt !== "" && modeOpt !== "blocking" && modeOpt !== "non-blocking") {
    throw errInvalidArgument(`logger: logging mode not supported: ${modeOpt}`);
  }
  const mode: LogMode = modeOpt === "non-blocking" ? "non-blocking" : "blocking";
  let maxBufferSize: number | undefined;
  const mbs = get("max-buffer-size");
  if (mbs !== undefined) {
    if (mode !== "non-blocking") {
      throw errInvalidArgument("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
    }
    try {
      maxBufferSize = ramInBytes(mbs);
    } catch (e) {
      throw errInvalidArgument(`error parsing option max-buffer-size: ${(e as Error).message}`, { cause: e });
    }
  }

  for (const key of Object.keys(opts)) {
    if (!DRIVER_KEYS.has(key) && !BUILTIN_KEYS.has(key)) {
      throw errInvalidArgument(`unknown log opt '${key}' for json-file log driver`);
    }
  }

  let maxSize: number | undefined;
  const ms = get("max-size");
  if (ms !== undefined) {
    maxSize = fromHumanSize(ms);
    if (maxSize <= 0) throw errInvalidArgument("max-size must be a positive number");
  }
  let maxFile = 1;
  const mf = get("max-file");
  if (mf !== undefined) {
    maxFile = atoi(mf);
    if (maxFile < 1) throw errInvalidArgument("max-file cannot be less than 1");
  }
  const c = get("compress");
  if (c !== undefined && parseBool(c)) {
    if (maxFile === 1 || maxSize === undefined) {
      throw errInvalidArgument("compress cannot be true when max-file is less than 2 or max-size is not set");
    }
    throw errNotImplemented("json-file: compress=true is not supported by berth: rotated files stay uncompressed");
  }

  const out: JsonFileLogConfig = { maxSize, maxFile, mode, maxBufferSize };
  const pass = [["labels", "labels"], ["labels-regex", "labelsRegex"], ["env", "env"], ["env-regex", "envRegex"],
    ["tag", "tag"]] as const;
  for (const [key, field] of pass) {
    const v = get(key);
    if (v !== undefined) out[field] = v;
  }
  return out;
}
