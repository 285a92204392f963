import { test } from "node:test";
import assert from "node:assert/strict";
import { formatGoDuration, probeArgs, probesEnabled, validateHealthcheck } from "./health-probe.js";

const hc = (test: string[], o: Partial<{ interval: number; timeout: number; retries: number; startPeriod: number }> = {}) =>
  ({ test, interval: 0, timeout: 0, retries: 0, startPeriod: 0, ...o });

test("probe argv: CMD as given, CMD-SHELL through /bin/sh -c", () => {
  assert.deepEqual(probeArgs(["CMD", "curl", "-f", "x"]), ["curl", "-f", "x"]);
  assert.deepEqual(probeArgs(["CMD-SHELL", "test -e /ok || exit 1"]), ["/bin/sh", "-c", "test -e /ok || exit 1"]);
  assert.throws(() => probeArgs(["X"]));
});

test("NONE and empty disable probes", () => {
  assert.equal(probesEnabled(undefined), false);
  assert.equal(probesEnabled(hc([])), false);
  assert.equal(probesEnabled(hc(["NONE"])), false);
  assert.equal(probesEnabled(hc(["CMD", "true"])), true);
});

test("validation as dockerd words it", () => {
  assert.equal(validateHealthcheck(hc(["CMD", "true"])), undefined);
  assert.equal(validateHealthcheck(hc(["NONE"])), undefined);
  assert.match(validateHealthcheck(hc(["BOGUS", "x"]))!, /unknown healthcheck type/);
  assert.match(validateHealthcheck(hc(["CMD"]))!, /empty/);
  assert.match(validateHealthcheck(hc(["CMD", "x"], { retries: -1 }))!, /Retries/);
  assert.match(validateHealthcheck(hc(["CMD", "x"], { interval: 0.5 }))!, /Interval/);
});

test("Go duration strings for the timeout message", () => {
  assert.equal(formatGoDuration(300), "300ms");
  assert.equal(formatGoDuration(1000), "1s");
  assert.equal(formatGoDuration(1500), "1.5s");
  assert.equal(formatGoDuration(30_000), "30s");
  assert.equal(formatGoDuration(90_000), "1m30s");
  assert.equal(formatGoDuration(3_600_000), "1h0m0s");
});
