import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyProbeResult,
  capProbeOutput,
  healthFromSnapshot,
  healthToSnapshot,
  isWithinStartPeriod,
  MAX_PROBE_OUTPUT_BYTES,
  startingHealth,
  type Health,
  type ProbeResult,
} from "./health.js";

const t0 = new Date("2024-03-01T12:00:00Z");
const probe = (exitCode: number, n = 0, output = `probe ${n}`): ProbeResult => ({
  start: new Date(t0.getTime() + n * 1000),
  end: new Date(t0.getTime() + n * 1000 + 5),
  exitCode,
  output,
});
const outside = { retries: 3, inStartPeriod: false };

test("success makes a starting container healthy and resets the streak", () => {
  const h = applyProbeResult({ status: "starting", failingStreak: 2, log: [] }, probe(0), outside);
  assert.equal(h.status, "healthy");
  assert.equal(h.failingStreak, 0);
  assert.equal(h.log.length, 1);
});

test("failures below the retry count keep the status; reaching it makes the container unhealthy", () => {
  let h: Health = { status: "healthy", failingStreak: 0, log: [] };
  h = applyProbeResult(h, probe(1, 1), outside);
  assert.deepEqual([h.status, h.failingStreak], ["healthy", 1]);
  h = applyProbeResult(h, probe(2, 2), outside);
  assert.deepEqual([h.status, h.failingStreak], ["healthy", 2]);
  h = applyProbeResult(h, probe(1, 3), outside);
  assert.deepEqual([h.status, h.failingStreak], ["unhealthy", 3]);
  h = applyProbeResult(h, probe(1, 4), outside);
  assert.deepEqual([h.status, h.failingStreak], ["unhealthy", 4]);
  h = applyProbeResult(h, probe(0, 5), outside);
  assert.deepEqual([h.status, h.failingStreak], ["healthy", 0]);
});

test("a failing starting container stays starting until the streak reaches retries", () => {
  let h = startingHealth();
  h = applyProbeResult(h, probe(1), { retries: 2, inStartPeriod: false });
  assert.deepEqual([h.status, h.failingStreak], ["starting", 1]);
  h = applyProbeResult(h, probe(1), { retries: 2, inStartPeriod: false });
  assert.deepEqual([h.status, h.failingStreak], ["unhealthy", 2]);
});

test("failures of a starting container within the start period do not count", () => {
  let h = startingHealth();
  for (let i = 0; i < 10; i++) h = applyProbeResult(h, probe(1, i), { retries: 1, inStartPeriod: true });
  assert.deepEqual([h.status, h.failingStreak], ["starting", 0]);
  assert.equal(h.log.length, 5, "still logged");
});

test("the start period only shields a container that has not been healthy yet", () => {
  const h = applyProbeResult({ status: "healthy", failingStreak: 0, log: [] }, probe(1), { retries: 1, inStartPeriod: true });
  assert.deepEqual([h.status, h.failingStreak], ["unhealthy", 1]);
});

test("retries <= 0 means the default of 3", () => {
  let h = startingHealth();
  for (let i = 0; i < 2; i++) h = applyProbeResult(h, probe(1), { retries: 0, inStartPeriod: false });
  assert.equal(h.status, "starting");
  h = applyProbeResult(h, probe(1), { retries: -1, inStartPeriod: false });
  assert.equal(h.status, "unhealthy");
});

test("any non-zero exit code fails, including -1 for a timed-out probe", () => {
  for (const code of [-1, 1, 2, 125, 255]) {
    const h = applyProbeResult(startingHealth(), probe(code), { retries: 1, inStartPeriod: false });
    assert.equal(h.status, "unhealthy", String(code));
  }
});

test("the log keeps the last 5 results, oldest first", () => {
  let h = startingHealth();
  for (let i = 0; i < 8; i++) h = applyProbeResult(h, probe(i % 2, i), outside);
  assert.deepEqual(
    h.log.map((r) => r.output),
    ["probe 3", "probe 4", "probe 5", "probe 6", "probe 7"],
  );
});

test("applyProbeResult does not modify its input", () => {
  const h = Object.freeze({ status: "starting" as const, failingStreak: 0, log: Object.freeze([probe(1)]) });
  const next = applyProbeResult(h, probe(1), outside);
  assert.equal(h.log.length, 1);
  assert.equal(next.log.length, 2);
});

test("startingHealth resets status and streak but keeps the log", () => {
  const prev: Health = { status: "unhealthy", failingStreak: 7, log: [probe(1)] };
  assert.deepEqual(startingHealth(prev), { status: "starting", failingStreak: 0, log: prev.log });
  assert.deepEqual(startingHealth(), { status: "starting", failingStreak: 0, log: [] });
});

test("isWithinStartPeriod compares the probe start with startedAt", () => {
  assert.equal(isWithinStartPeriod(t0, new Date(t0.getTime() + 999), 1000), true);
  assert.equal(isWithinStartPeriod(t0, new Date(t0.getTime() + 1000), 1000), false);
  assert.equal(isWithinStartPeriod(t0, t0, 0), false, "no start period");
  assert.equal(isWithinStartPeriod(undefined, t0, 1000), false);
});

test("output up to 4096 bytes is kept as is", () => {
  const s = "x".repeat(MAX_PROBE_OUTPUT_BYTES);
  assert.equal(capProbeOutput(s), s);
  assert.equal(capProbeOutput(""), "");
});

test("longer output is cut at 4096 bytes and marked with ...", () => {
  const out = capProbeOutput("y".repeat(10_000));
  assert.equal(out, "y".repeat(4096) + "...");
});

test("the cut counts UTF-8 bytes and never splits a character", () => {
  // "é" is 2 bytes, "€" 3, "😀" 4; 4095 ASCII bytes leave one byte, too little for any of them.
  for (const ch of ["é", "€", "😀"]) {
    const out = capProbeOutput("a".repeat(4095) + ch.repeat(10));
    assert.equal(out, "a".repeat(4095) + "...", ch);
  }
  // 1366 "€" take 4098 bytes: 1365 fit in 4095 bytes.
  const euros = capProbeOutput("€".repeat(1366));
  assert.equal(euros, "€".repeat(1365) + "...");
  assert.ok(!euros.includes("\uFFFD"));
  // Exactly on a boundary: 1024 four-byte characters are 4096 bytes.
  assert.equal(capProbeOutput("😀".repeat(1024)), "😀".repeat(1024));
  assert.equal(capProbeOutput("😀".repeat(1025)), "😀".repeat(1024) + "...");
});

test("probe results stored in the log are capped", () => {
  const h = applyProbeResult(startingHealth(), probe(1, 0, "z".repeat(5000)), outside);
  assert.equal(h.log[0]!.output, "z".repeat(4096) + "...");
});

test("health snapshots round-trip through JSON", () => {
  let h = startingHealth();
  h = applyProbeResult(h, probe(1, 1), outside);
  h = applyProbeResult(h, probe(0, 2), outside);
  const snap = JSON.parse(JSON.stringify(healthToSnapshot(h)));
  assert.deepEqual(healthFromSnapshot(snap), h);
});
