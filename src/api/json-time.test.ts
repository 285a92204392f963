import assert from "node:assert/strict";
import { test } from "node:test";
import { isBerthError } from "../base/errors.js";
import { parseUnixTimestamp, rfc3339Nano, rfc3339NanoFixed, rfc3339NanoFromNanos, unixSeconds, ZERO_TIME } from "./json-time.js";

test("RFC3339Nano trims trailing zeros of the fraction, as Go does", () => {
  assert.equal(rfc3339Nano(new Date("2026-11-29T04:06:50.730Z")), "2026-11-29T04:06:50.73Z");
  assert.equal(rfc3339Nano(new Date("2026-11-29T04:06:50.000Z")), "2026-11-29T04:06:50Z");
  assert.equal(rfc3339NanoFromNanos(1795925210732811475n), "2026-11-29T04:06:50.732811475Z");
  assert.equal(rfc3339NanoFromNanos(1795925210000000100n), "2026-11-29T04:06:50.0000001Z");
});

test("the zero time for unset or invalid dates", () => {
  assert.equal(ZERO_TIME, "0001-01-01T00:00:00Z");
  assert.equal(rfc3339Nano(undefined), ZERO_TIME);
  assert.equal(rfc3339Nano(null), ZERO_TIME);
  assert.equal(rfc3339Nano(new Date(Number.NaN)), ZERO_TIME);
});

test("unix seconds floor the milliseconds", () => {
  assert.equal(unixSeconds(new Date(1795925210999)), 1795925210);
  assert.equal(unixSeconds(undefined), 0);
});

test("since/until: unix seconds with up to nine fractional digits, in nanoseconds", () => {
  assert.equal(parseUnixTimestamp("1795925211"), 1795925211_000_000_000n);
  assert.equal(parseUnixTimestamp("1795925211.5"), 1795925211_500_000_000n);
  assert.equal(parseUnixTimestamp("1795925211.000000001"), 1795925211_000_000_001n);
  assert.equal(parseUnixTimestamp("0"), 0n);
  assert.equal(parseUnixTimestamp(""), undefined);
  assert.equal(parseUnixTimestamp(null), undefined);
  for (const bad of ["10m", "2026-11-29T04:06:50Z", "1.2.3", "1.0000000001", "abc"]) {
    assert.throws(() => parseUnixTimestamp(bad, "since"), (e: unknown) => isBerthError(e, "invalid-argument") && /since/.test(e.message), bad);
  }
});

test("log timestamps always carry nine fractional digits, as dockerd's RFC3339NanoFixed", () => {
  assert.equal(rfc3339NanoFixed("2026-11-29T06:35:52.178Z"), "2026-11-29T06:35:52.178000000Z");
  assert.equal(rfc3339NanoFixed("2026-11-29T06:35:52.178611545Z"), "2026-11-29T06:35:52.178611545Z");
  assert.equal(rfc3339NanoFixed("2026-11-29T06:35:52Z"), "2026-11-29T06:35:52.000000000Z");
  assert.equal(rfc3339NanoFixed("not a time"), "not a time");
});
