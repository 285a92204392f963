import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { isBerthError } from "../../base/errors.js";
import {
  MAX_TIMESTAMP_LENGTH,
  dateToUnixNanos,
  formatDockerTimestamp,
  formatUnixNanos,
  newSubMsClock,
  nextSubMsNanos,
  parseDockerTimestamp,
  unixNanosToDate,
  writeDockerTimestamp,
} from "./timestamp.js";

const at = (iso: string) => new Date(iso);

describe("formatDockerTimestamp (Go RFC3339Nano, UTC)", () => {
  it("writes nine fractional digits when the last is not zero", () => {
    assert.equal(formatDockerTimestamp(at("2026-11-29T05:36:51.123Z"), 456789), "2026-11-29T05:36:51.123456789Z");
  });

  it("drops trailing zeros of the fraction, as Go's .999999999 does", () => {
    assert.equal(formatDockerTimestamp(at("2026-11-29T05:36:51.123Z"), 456780), "2026-11-29T05:36:51.12345678Z");
    assert.equal(formatDockerTimestamp(at("2026-11-29T05:36:51.120Z"), 0), "2026-11-29T05:36:51.12Z");
    assert.equal(formatDockerTimestamp(at("2026-11-29T05:36:51.100Z"), 0), "2026-11-29T05:36:51.1Z");
    assert.equal(formatDockerTimestamp(at("2026-11-29T05:36:51.000Z"), 1), "2026-11-29T05:36:51.000000001Z");
  });

  it("drops the dot when the fraction is zero", () => {
    assert.equal(formatDockerTimestamp(at("2026-11-29T05:36:51.000Z")), "2026-11-29T05:36:51Z");
  });

  it("formats in UTC across seconds, days and years, and before 1970", () => {
    assert.equal(formatDockerTimestamp(at("2026-12-31T23:59:59.999Z"), 999999), "2026-12-31T23:59:59.999999999Z");
    assert.equal(formatDockerTimestamp(at("1969-12-31T23:59:59.500Z"), 0), "1969-12-31T23:59:59.5Z");
    assert.equal(formatDockerTimestamp(new Date(0)), "1970-01-01T00:00:00Z");
    // The per-second cache must not leak between seconds.
    assert.equal(formatDockerTimestamp(at("2026-11-29T05:36:52.001Z")), "2026-11-29T05:36:52.001Z");
    assert.equal(formatDockerTimestamp(at("2026-11-29T05:36:51.001Z")), "2026-11-29T05:36:51.001Z");
  });

  it("refuses what Go refuses and bad arguments", () => {
    const bad = (fn: () => unknown) => assert.throws(fn, (e: unknown) => isBerthError(e, "invalid-argument"));
    bad(() => formatDockerTimestamp(new Date(Date.UTC(10000, 0, 1))));
    bad(() => formatDockerTimestamp(new Date(Number.NaN)));
    bad(() => formatDockerTimestamp(new Date(0), 1_000_000));
    bad(() => formatDockerTimestamp(new Date(0), -1));
    bad(() => formatDockerTimestamp(new Date(0), 0.5));
  });

  it("writeDockerTimestamp writes the same bytes in place", () => {
    const out = Buffer.alloc(MAX_TIMESTAMP_LENGTH + 2, 0x2d);
    const end = writeDockerTimestamp(out, 1, at("2026-11-29T05:36:51.123Z").getTime(), 456789);
    assert.equal(end, 31);
    assert.equal(out.toString("latin1"), "-2026-11-29T05:36:51.123456789Z-");
  });
});

describe("parseDockerTimestamp", () => {
  it("keeps nanoseconds", () => {
    const ns = parseDockerTimestamp("2026-11-29T05:36:51.123456789Z");
    assert.equal(ns, BigInt(Date.parse("2026-11-29T05:36:51.123Z")) * 1_000_000n + 456789n);
    assert.equal(formatUnixNanos(ns), "2026-11-29T05:36:51.123456789Z");
  });

  it("reads short, missing and over-long fractions (Go keeps nine digits)", () => {
    const base = BigInt(Date.parse("2026-11-29T05:36:51Z")) * 1_000_000n;
    assert.equal(parseDockerTimestamp("2026-11-29T05:36:51Z"), base);
    assert.equal(parseDockerTimestamp("2026-11-29T05:36:51.5Z"), base + 500_000_000n);
    assert.equal(parseDockerTimestamp("2026-11-29T05:36:51.1234567891234Z"), base + 123_456_789n);
  });

  it("applies offsets", () => {
    const utc = parseDockerTimestamp("2026-11-29T05:36:51.25Z");
    assert.equal(parseDockerTimestamp("2026-11-29T07:36:51.25+02:00"), utc);
    assert.equal(parseDockerTimestamp("2026-11-28T23:06:51.25-06:30"), utc);
  });

  it("handles years before 100 and before 1970", () => {
    const year1 = new Date(0);
    year1.setUTCFullYear(1, 0, 1);
    assert.equal(parseDockerTimestamp("0001-01-01T00:00:00Z"), BigInt(year1.getTime()) * 1_000_000n);
    assert.equal(formatUnixNanos(parseDockerTimestamp("0001-01-01T00:00:00Z")), "0001-01-01T00:00:00Z");
    assert.equal(parseDockerTimestamp("1969-12-31T23:59:59.9Z"), -100_000_000n);
    assert.equal(formatUnixNanos(-100_000_000n), "1969-12-31T23:59:59.9Z");
    assert.equal(formatUnixNanos(-1n), "1969-12-31T23:59:59.999999999Z");
  });

  it("rejects what is not RFC 3339", () => {
    for (const s of ["", "2026-11-29", "2026-11-29 05:36:51Z", "2026-11-29T05:36:51", "2026-13-01T00:00:00Z",
      "2026-02-29T00:00:00Z", "2026-11-29T24:00:00Z", "2026-11-29T05:60:00Z", "2026-11-29T05:36:60Z",
      "2026-11-29T05:36:51.Z", "2026-11-29T05:36:51+0200", "2026-11-29t05:36:51z", "1700000000"]) {
      assert.throws(() => parseDockerTimestamp(s), (e: unknown) => isBerthError(e, "invalid-argument"), s);
    }
    assert.equal(parseDockerTimestamp("2024-02-29T00:00:00Z") > 0n, true);
  });

  it("converts to and from Date", () => {
    const d = at("2026-11-29T05:36:51.123Z");
    assert.equal(unixNanosToDate(dateToUnixNanos(d) + 999_999n).getTime(), d.getTime());
    assert.equal(unixNanosToDate(-1n).getTime(), -1);
  });
});

describe("nextSubMsNanos (pure clock policy)", () => {
  it("starts at 0 and follows the monotonic clock within a millisecond", () => {
    const s = newSubMsClock();
    assert.equal(nextSubMsNanos(s, 1000, 5_000_000), 0);
    assert.equal(nextSubMsNanos(s, 1000, 5_456_789), 456_789);
    assert.equal(nextSubMsNanos(s, 1000, 5_900_000), 900_000);
  });

  it("strictly increases within one millisecond even when the monotonic clock does not move", () => {
    const s = newSubMsClock();
    const subs = [0, 1, 2, 3].map(() => nextSubMsNanos(s, 1000, 42));
    assert.deepEqual(subs, [0, 1, 2, 3]);
  });

  it("clamps to the millisecond: never above 999999, also when the wall clock stalls", () => {
    const s = newSubMsClock();
    assert.equal(nextSubMsNanos(s, 1000, 0), 0);
    assert.equal(nextSubMsNanos(s, 1000, 900_000), 900_000);
    assert.equal(nextSubMsNanos(s, 1000, 999_999), 999_999);
    // The wall clock still says 1000 ms 3 ms later (stalled, or stepped back): the estimate
    // restarts, but within this millisecond the order is kept and the value stays in range.
    assert.equal(nextSubMsNanos(s, 1000, 3_000_000), 999_999);
    assert.equal(nextSubMsNanos(s, 1001, 3_100_000), 0); // first sight of ms 1001: at its start
  });

  it("learns the offset: a later millisecond boundary seen early raises the estimate", () => {
    const s = newSubMsClock();
    // First call really happened 0.7 ms into ms 1000, so its sub-ms is unknown: 0.
    assert.equal(nextSubMsNanos(s, 1000, 0), 0);
    // 0.3 ms later the wall clock shows 1001: the offset must be at least 0.3 ms higher.
    assert.equal(nextSubMsNanos(s, 1001, 300_000), 0);
    // 0.5 ms after that: 0.5 ms into ms 1001.
    assert.equal(nextSubMsNanos(s, 1001, 800_000), 500_000);
  });

  it("resets when the wall clock steps back", () => {
    const s = newSubMsClock();
    nextSubMsNanos(s, 5000, 0);
    nextSubMsNanos(s, 5000, 400_000);
    // NTP steps the clock back 2 s: results stay within [0, 1e6) and follow the new clock.
    const a = nextSubMsNanos(s, 3000, 500_000);
    const b = nextSubMsNanos(s, 3000, 700_000);
    assert.equal(a, 0);
    assert.equal(b, 200_000);
  });

  it("gives each record of a burst a distinct, ordered timestamp", () => {
    const s = newSubMsClock();
    const stamps: string[] = [];
    let mono = 0;
    for (let i = 0; i < 1000; i++) {
      const ms = 1_700_000_000_000 + Math.floor(i / 300);
      mono += 1000; // 1 µs per record, on a clock that ticks 300 records per ms
      stamps.push(formatUnixNanos(BigInt(ms) * 1_000_000n + BigInt(nextSubMsNanos(s, ms, mono))));
    }
    const nanos = stamps.map(parseDockerTimestamp);
    for (let i = 1; i < nanos.length; i++) assert.ok(nanos[i]! > nanos[i - 1]!, `${stamps[i - 1]} < ${stamps[i]}`);
  });
});
