// Times as the Engine API writes and reads them: Go's RFC3339Nano (trailing zeros of the fraction
// trimmed, "0001-01-01T00:00:00Z" for the zero time) and unix seconds with an optional fraction
// ("1795925211.5") for since/until query parameters.
import { errInvalidArgument } from "../base/errors.js";

/** Go's zero time.Time as encoding/json writes it. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** RFC3339Nano of a Date (UTC), or the zero time for undefined / an invalid date. */
export function rfc3339Nano(d: Date | undefined | null): string {
  if (!d || Number.isNaN(d.getTime())) return ZERO_TIME;
  return rfc3339NanoFromNanos(BigInt(d.getTime()) * 1_000_000n);
}

/** RFC3339Nano of nanoseconds since the epoch (UTC), as Go prints it. */
export function rfc3339NanoFromNanos(ns: bigint): string {
  let secs = ns / 1_000_000_000n;
  let frac = ns % 1_000_000_000n;
  if (frac < 0n) {
    frac += 1_000_000_000n;
    secs -= 1n;
  }
  const base = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  const digits = frac.toString().padStart(9, "0").replace(/0+$/, "");
  return base + (digits ? "." + digits : "") + "Z";
}

/** Unix seconds (floor), as list endpoints send Created. */
export function unixSeconds(d: Date | undefined): number {
  if (!d || Number.isNaN(d.getTime())) return 0;
  return Math.floor(d.getTime() / 1000);
}

const TIMESTAMP = /^(-?[0-9]+)(?:\.([0-9]{1,9}))?$/;

/**
 * Parses a since/until value: unix seconds with up to nine fractional digits, as the docker CLI
 * sends them (it converts "10m" and RFC3339 to this form before sending). Empty → undefined.
 * Returns nanoseconds since the epoch.
 */
export function parseUnixTimestamp(value: string | null | undefined, name = "timestamp"): bigint | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const m = TIMESTAMP.exec(value);
  if (!m) throw errInvalidArgument(`invalid value for ${name}: ${JSON.stringify(value)} is not a unix timestamp`);
  const secs = BigInt(m[1]!);
  const frac = BigInt((m[2] ?? "").padEnd(9, "0") || "0");
  return secs * 1_000_000_000n + (secs < 0n ? -frac : frac);
}

export function nanosToDate(ns: bigint): Date {
  return new Date(Number(ns / 1_000_000n));
}

/**
 * dockerd's RFC3339NanoFixed for `logs --timestamps`: always nine fractional digits
 * ("2026-11-29T04:06:50.730000000Z"), so the prefixes line up. Other strings pass unchanged.
 */
export function rfc3339NanoFixed(time: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!m) return time;
  return `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}${m[3]}`;
}

const GO_DURATION = /^([0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$/;
const DURATION_UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A point in time as prune's `until` filter takes it (moby's timetypes.GetTimestamp): a Go
 * duration before `now` ("24h", "1h30m"), an RFC3339 date or date-time ("2024-05-01",
 * "2024-05-01T10:00:00Z"), or unix seconds with a fraction.
 */
export function parseTimestampFilter(value: string, now: Date = new Date()): Date {
  const v = value.trim();
  if (v !== "0" && GO_DURATION.test(v)) {
    let ms = 0;
    for (const m of v.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * DURATION_UNIT_MS[m[2]!]!;
    return new Date(now.getTime() - ms);
  }
  if (TIMESTAMP.test(v)) return nanosToDate(parseUnixTimestamp(v)!);
  if (/^\d{4}-\d\d-\d\d/.test(v)) {
    const d = new Date(v);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw errInvalidArgument(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
}
