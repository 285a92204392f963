import { test } from "node:test";
import assert from "node:assert/strict";
import type { Health } from "./health.js";
import { humanStatus, isValidStateStatus, stateStatus, STATE_STATUSES, type StatusView } from "./status.js";
import { isValidHealthStatus } from "./health.js";

const now = new Date("2024-03-01T12:00:00Z");
const ago = (ms: number) => new Date(now.getTime() - ms);
const S = 1000;
const M = 60 * S;
const H = 60 * M;

const health = (status: Health["status"]): Health => ({ status, failingStreak: 0, log: [] });

function view(v: Partial<StatusView>): StatusView {
  return {
    phase: { kind: "stopped" },
    removalInProgress: false,
    dead: false,
    exitCode: 0,
    startedAt: undefined,
    finishedAt: undefined,
    health: undefined,
    ...v,
  };
}

const running = { kind: "running", paused: false } as const;
const paused = { kind: "running", paused: true } as const;
const restarting = { kind: "restarting" } as const;

// [name, view, status, human]
const table: [string, StatusView, string, string][] = [
  ["never started", view({}), "created", "Created"],
  [
    "first start failed: exit code and finish time but no start",
    view({ exitCode: 127, finishedAt: ago(5 * S) }),
    "created",
    "Created",
  ],
  ["running", view({ phase: running, startedAt: ago(3 * M) }), "running", "Up 3 minutes"],
  ["running one second", view({ phase: running, startedAt: ago(S) }), "running", "Up 1 second"],
  ["paused", view({ phase: paused, startedAt: ago(2 * H) }), "paused", "Up 2 hours (Paused)"],
  [
    "paused wins over health",
    view({ phase: paused, startedAt: ago(2 * H), health: health("healthy") }),
    "paused",
    "Up 2 hours (Paused)",
  ],
  [
    "restarting counts from the finish time",
    view({ phase: restarting, exitCode: 1, startedAt: ago(H), finishedAt: ago(5 * S) }),
    "restarting",
    "Restarting (1) 5 seconds ago",
  ],
  [
    "restarting ignores health",
    view({ phase: restarting, exitCode: 2, startedAt: ago(H), finishedAt: ago(S), health: health("unhealthy") }),
    "restarting",
    "Restarting (2) 1 second ago",
  ],
  ["healthy", view({ phase: running, startedAt: ago(S), health: health("healthy") }), "running", "Up 1 second (healthy)"],
  [
    "health starting",
    view({ phase: running, startedAt: ago(5 * S), health: health("starting") }),
    "running",
    "Up 5 seconds (health: starting)",
  ],
  [
    "unhealthy",
    view({ phase: running, startedAt: ago(90 * M), health: health("unhealthy") }),
    "running",
    "Up 2 hours (unhealthy)",
  ],
  [
    "exited",
    view({ exitCode: 137, startedAt: ago(H), finishedAt: ago(2 * M) }),
    "exited",
    "Exited (137) 2 minutes ago",
  ],
  [
    "exited keeps no health suffix",
    view({ exitCode: 0, startedAt: ago(H), finishedAt: ago(S), health: health("healthy") }),
    "exited",
    "Exited (0) 1 second ago",
  ],
  ["started but finish time unset", view({ startedAt: ago(H) }), "exited", ""],
  [
    "removal in progress",
    view({ removalInProgress: true, startedAt: ago(H), finishedAt: ago(S) }),
    "removing",
    "Removal In Progress",
  ],
  [
    "removal wins over dead",
    view({ removalInProgress: true, dead: true, startedAt: ago(H), finishedAt: ago(S) }),
    "removing",
    "Removal In Progress",
  ],
  ["dead", view({ dead: true, startedAt: ago(H), finishedAt: ago(S) }), "dead", "Dead"],
  ["dead wins over created", view({ dead: true }), "dead", "Dead"],
  [
    "running wins over removal in progress (rm -f before the kill lands)",
    view({ phase: running, removalInProgress: true, startedAt: ago(10 * S) }),
    "running",
    "Up 10 seconds",
  ],
  ["running wins over dead", view({ phase: running, dead: true, startedAt: ago(10 * S) }), "running", "Up 10 seconds"],
  [
    "running without a start time",
    view({ phase: running }),
    "running",
    "Up Less than a second",
  ],
];

for (const [name, v, status, human] of table) {
  test(`status strings: ${name}`, () => {
    assert.equal(stateStatus(v), status);
    assert.equal(humanStatus(v, now), human);
  });
}

test("isValidStateStatus accepts exactly docker's seven statuses", () => {
  for (const s of ["paused", "restarting", "removing", "running", "dead", "created", "exited"]) {
    assert.equal(isValidStateStatus(s), true, s);
  }
  for (const s of ["start", "stop", "Running", "", "up", "exited "]) {
    assert.equal(isValidStateStatus(s), false, s);
  }
  assert.equal(STATE_STATUSES.length, 7);
});

test("isValidHealthStatus accepts starting, healthy, unhealthy and none only", () => {
  for (const s of ["starting", "healthy", "unhealthy", "none"]) assert.equal(isValidHealthStatus(s), true, s);
  for (const s of ["fail", "", "Healthy", "health: starting"]) assert.equal(isValidHealthStatus(s), false, s);
});
