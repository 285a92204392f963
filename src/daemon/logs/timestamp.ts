import { errInvalidArgument } from "../../base/errors.js";

/**
 * Docker log timestamps: Go's `time.RFC3339Nano` in UTC, as the json-file driver writes them
 * (moby `daemon/logger/jsonfilelog/jsonlog/time_marshalling.go`). RFC3339Nano's fraction is
 * "999999999": trailing zeros are dropped and a zero fraction drops the dot too, so
 * `…:51.123456780Z` is written `…:51.12345678Z` and `…:51.000000000Z` is `…:51Z`.
 *
 * JS clocks have millisecond precision; the writer adds the nanoseconds within the millisecond
 * from a monotonic clock (`nextSubMsNanos`), so records within one millisecond stay ordered.
 */

const NS_PER_MS = 1_000_000n;
const MAX_SUB_MS = 999_999;

let cachedSecond = Number.NaN;
const cachedPrefix = Buffer.alloc(19);

/** Caches "YYYY-MM-DDTHH:MM:SS" of the second holding `ms`: the writer asks once per record. */
function loadSecondPrefix(ms: number): void {
  const second = Math.floor(ms / 1000);
  if (second === cachedSecond) return;
  const d = new Date(second * 1000);
  const year = d.getUTCFullYear();
  // RFC 3339 years are exactly four digits; Go's MarshalJSON refuses the others.
  if (!(year >= 0 && year <= 9999)) throw errInvalidArgument("time.MarshalJSON: year outside of range [0,9999]");
  cachedPrefix.write(d.toISOString().slice(0, 19), 0, "latin1");
  cachedSecond = second;
}

/** Longest timestamp: "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ". */
export const MAX_TIMESTAMP_LENGTH = 30;

/**
 * Writes the timestamp of wall-clock `ms` plus `subMsNanos` (0..999_999) into `out` at `offset`
 * without allocating; `out` needs MAX_TIMESTAMP_LENGTH bytes of room. Returns the end offset.
 */
export function writeDockerTimestamp(out: Uint8Array, offset: number, ms: number, subMsNanos: number): number {
  loadSecondPrefix(ms);
  out.set(cachedPrefix, offset);
  let o = offset + 19;
  let ns = (ms - Math.floor(ms / 1000) * 1000) * 1_000_000 + subMsNanos;
  if (ns !== 0) {
    // RFC3339Nano's ".999999999": nine digits with the trailing zeros dropped.
    let digits = 9;
    while (ns % 10 === 0) { ns /= 10; digits--; }
    out[o] = 0x2e; // .
    for (let i = digits; i > 0; i--) {
      out[o + i] = 0x30 + (ns % 10);
      ns = Math.floor(ns / 10);
    }
    o += digits + 1;
  }
  out[o++] = 0x5a; // Z
  return o;
}

const scratch = Buffer.alloc(MAX_TIMESTAMP_LENGTH);

/**
 * Formats `date` plus `subMsNanos` (0..999_999, the nanoseconds below the millisecond) the way
 * docker writes the `time` field of a json-file record, without the quotes.
 */
export function formatDockerTimestamp(date: Date, subMsNanos = 0): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw errInvalidArgument("invalid date");
  if (!Number.isInteger(subMsNanos) || subMsNanos < 0 || subMsNanos > MAX_SUB_MS) {
    throw errInvalidArgument(`sub-millisecond nanoseconds out of range: ${subMsNanos}`);
  }
  return scratch.toString("latin1", 0, writeDockerTimestamp(scratch, 0, ms, subMsNanos));
}

/** Formats nanoseconds since the Unix epoch like `formatDockerTimestamp`. */
export function formatUnixNanos(unixNanos: bigint): string {
  const ms = unixNanos >= 0n ? unixNanos / NS_PER_MS : -((-unixNanos + NS_PER_MS - 1n) / NS_PER_MS);
  const sub = Number(unixNanos - ms * NS_PER_MS);
  return formatDockerTimestamp(new Date(Number(ms)), sub);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/**
 * Parses an RFC 3339 timestamp with an optional fraction of any length (Go keeps the first nine
 * digits) and a `Z` or `±hh:mm` offset, as Go's `time.Time.UnmarshalJSON` reads the `time` field.
 * Returns nanoseconds since the Unix epoch: a `Date` would lose everything below the millisecond,
 * and `docker logs --since 1700000000.123456789` needs it.
 */
export function parseDockerTimestamp(s: string): bigint {
  const m = RFC3339.exec(s);
  if (m === null) throw errInvalidArgument(`invalid timestamp "${s}": not RFC 3339`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number, number, number, number, number, number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    throw errInvalidArgument(`invalid timestamp "${s}": field out of range`);
  }
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) throw errInvalidArgument(`invalid timestamp "${s}": offset out of range`);
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  const ms = d.getTime() - offsetMinutes * 60_000;
  const frac = m[7] === undefined ? 0n : BigInt(m[7].slice(0, 9).padEnd(9, "0"));
  return BigInt(ms) * NS_PER_MS + frac;
}

/** Nanoseconds since the epoch → `Date` (truncated to the millisecond, toward the past). */
export function unixNanosToDate(unixNanos: bigint): Date {
  const ms = unixNanos >= 0n ? unixNanos / NS_PER_MS : -((-unixNanos + NS_PER_MS - 1n) / NS_PER_MS);
  return new Date(Number(ms));
}

/** `Date` → nanoseconds since the epoch. */
export function dateToUnixNanos(date: Date): bigint {
  return BigInt(date.getTime()) * NS_PER_MS;
}

/**
 * State of the sub-millisecond clock. Times are kept in ns relative to the first call, so plain
 * doubles hold them exactly for months.
 */
export interface SubMsClockState {
  /** Wall-clock ms and monotonic ns at the first call. */
  baseMs: number | undefined;
  baseMono: number;
  /**
   * Best estimate of (wall time − monotonic time) in ns, relative to the bases: the largest
   * lower bound seen. Each observation says the true wall time is at least `nowMs`, so the
   * estimate converges on the real offset within the clock's granularity.
   */
  offsetNs: number;
  /** The last timestamp handed out: its ms and its sub-ms ns. */
  lastMs: number;
  lastSub: number;
}

export function newSubMsClock(): SubMsClockState {
  return { baseMs: undefined, baseMono: 0, offsetNs: 0, lastMs: Number.NEGATIVE_INFINITY, lastSub: -1 };
}

/**
 * Pure policy: the nanoseconds below the millisecond for a record stamped at wall-clock `nowMs`
 * when the monotonic clock reads `monoNs`. The result is within [0, 999_999], estimated from
 * the monotonic clock, and strictly increases while the wall clock stays in one millisecond
 * (until the millisecond is used up), so the order of records written within a millisecond
 * survives a sort by time. A wall clock that steps back by more than a millisecond against the
 * monotonic clock resets the estimate.
 */
export function nextSubMsNanos(state: SubMsClockState, nowMs: number, monoNs: number): number {
  if (state.baseMs === undefined) {
    state.baseMs = nowMs;
    state.baseMono = monoNs;
    state.offsetNs = 0;
  }
  const wall = (nowMs - state.baseMs) * 1e6;
  const mono = Math.floor(monoNs - state.baseMono);
  const lowerBound = wall - mono;
  if (lowerBound > state.offsetNs || lowerBound < state.offsetNs - 1e6) state.offsetNs = lowerBound;
  let sub = mono + state.offsetNs - wall;
  if (!(sub >= 0)) sub = 0;
  if (sub > MAX_SUB_MS) sub = MAX_SUB_MS;
  if (nowMs === state.lastMs && sub <= state.lastSub) sub = Math.min(state.lastSub + 1, MAX_SUB_MS);
  state.lastMs = nowMs;
  state.lastSub = sub;
  return sub;
}
