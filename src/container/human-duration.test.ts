import { test } from "node:test";
import assert from "node:assert/strict";
import { humanDuration } from "./human-duration.js";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

// [duration in ms, expected, note]
const table: [number, string, string][] = [
  [-5 * S, "Less than a second", "negative (clock skew)"],
  [0, "Less than a second", ""],
  [999, "Less than a second", ""],
  [S, "1 second", ""],
  [1999, "1 second", "seconds truncate"],
  [2 * S, "2 seconds", ""],
  [59 * S, "59 seconds", ""],
  [59 * S + 999, "59 seconds", ""],
  [60 * S, "About a minute", "59s/60s boundary"],
  [119 * S + 999, "About a minute", ""],
  [2 * M, "2 minutes", ""],
  [59 * M + 59 * S, "59 minutes", ""],
  [60 * M, "About an hour", ""],
  [89 * M + 59 * S + 999, "About an hour", "89.99 min rounds to 1 h"],
  [90 * M, "2 hours", "90 min rounds to 2 h"],
  [47 * H, "47 hours", ""],
  [47 * H + 29 * M + 59 * S, "47 hours", ""],
  [47 * H + 30 * M, "2 days", "47.5 h rounds to 48 h"],
  [48 * H, "2 days", "47h/48h boundary"],
  [71 * H + 29 * M, "2 days", ""],
  [71 * H + 30 * M, "3 days", "days come from the rounded hours"],
  [13 * D, "13 days", ""],
  [13 * D + 23 * H + 29 * M, "13 days", ""],
  [13 * D + 23 * H + 30 * M, "2 weeks", "rounds to 336 h"],
  [14 * D, "2 weeks", "13d/14d boundary"],
  [20 * D + 23 * H, "2 weeks", ""],
  [21 * D, "3 weeks", ""],
  [59 * D, "8 weeks", ""],
  [59 * D + 23 * H + 29 * M, "8 weeks", ""],
  [59 * D + 23 * H + 30 * M, "2 months", "rounds to 1440 h"],
  [60 * D, "2 months", ""],
  [365 * D, "12 months", ""],
  [729 * D, "24 months", ""],
  [729 * D + 23 * H + 29 * M, "24 months", "17519.48 h rounds to 17519"],
  // go-units prints "1 years" here: the branch is chosen on the rounded hours (17520) but the
  // years are computed from the truncated ones (17519 / 24 / 365 = 1).
  [729 * D + 23 * H + 30 * M, "2 years", "corrected: 17519.5 h"],
  [729 * D + 23 * H + 59 * M + 59 * S + 999, "2 years", "corrected: a millisecond short of 730 days"],
  [730 * D, "2 years", ""],
  [3 * 365 * D - 30 * M, "3 years", "corrected at the next year boundary as well"],
  [3 * 365 * D - 31 * M, "2 years", ""],
  [3 * 365 * D, "3 years", ""],
  [10 * 365 * D, "10 years", ""],
];

for (const [ms, expected, note] of table) {
  test(`humanDuration(${ms} ms) = ${JSON.stringify(expected)}${note ? ` (${note})` : ""}`, () => {
    assert.equal(humanDuration(ms), expected);
  });
}

test("humanDuration never prints a singular year, minute-by-minute across the first years boundary", () => {
  for (let ms = 729 * D; ms <= 731 * D; ms += M) {
    const s = humanDuration(ms);
    assert.ok(!/^1 years?$/.test(s), `${ms} ms printed ${s}`);
    assert.match(s, /^(24 months|2 years)$/);
  }
});

test("humanDuration treats NaN as less than a second", () => {
  assert.equal(humanDuration(Number.NaN), "Less than a second");
});
