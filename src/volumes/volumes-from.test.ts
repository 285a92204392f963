import assert from "node:assert/strict";
import { test } from "node:test";

import { isInvalidArgument } from "../base/errors.js";
import type { ResolvedMount } from "../container/index.js";
import type { PlannedMount } from "./mount-plan.js";
import { mergeVolumesFrom, parseVolumesFrom, volumesFromPlan } from "./volumes-from.js";

test("parseVolumesFrom: id, id:ro, id:rw, bad modes", () => {
  assert.deepEqual(parseVolumesFrom("db"), { ref: "db", readonly: false });
  assert.deepEqual(parseVolumesFrom("db:ro"), { ref: "db", readonly: true });
  assert.deepEqual(parseVolumesFrom("db:rw"), { ref: "db", readonly: false });
  assert.deepEqual(parseVolumesFrom("db:ro,z"), { ref: "db", readonly: true });
  assert.throws(() => parseVolumesFrom("db:xx"), (e) => isInvalidArgument(e) && /invalid mode: xx/.test((e as Error).message));
  assert.throws(() => parseVolumesFrom("db:ro:rw"), isInvalidArgument);
  assert.throws(() => parseVolumesFrom(""), isInvalidArgument);
});

const donor: ResolvedMount[] = [
  { type: "volume", source: "/v/anon/_data", destination: "/data", readonly: false, propagation: "", volumeName: "anon", anonymous: true, copyUp: true, mode: "z" },
  { type: "bind", source: "/srv", destination: "/srv", readonly: true, propagation: "rprivate", copyUp: false, mode: "ro" },
  { type: "tmpfs", source: "", destination: "/t", readonly: false, propagation: "", copyUp: false, mode: "", tmpfsOptions: "size=1m" },
];

test("volumesFromPlan: the donor's volume by name (no copy-up), binds as they are; ro wins, rw never widens", () => {
  const rw = volumesFromPlan(donor, false);
  assert.deepEqual(rw[0], { type: "volume", name: "anon", destination: "/data", readonly: false, mode: "", copyUp: false, driver: "" });
  assert.deepEqual(rw[1], { type: "bind", source: "/srv", destination: "/srv", readonly: true, propagation: "rprivate", mode: "", nonRecursive: false, createMountpoint: false });
  assert.deepEqual(rw[2], { type: "tmpfs", destination: "/t", readonly: false, tmpfsOptions: "size=1m" });
  assert.deepEqual(volumesFromPlan(donor, true).map((m) => m.readonly), [true, true, true]);
});

test("mergeVolumesFrom: own binds win, donors win over image VOLUMEs, the later donor over the earlier", () => {
  const own: PlannedMount[] = [
    { type: "bind", source: "/mine", destination: "/srv", readonly: false, propagation: "rprivate", mode: "", nonRecursive: false, createMountpoint: false },
    { type: "volume", name: undefined, destination: "/data", readonly: false, mode: "", copyUp: true, driver: "", fromConfig: true },
    { type: "volume", name: undefined, destination: "/other", readonly: false, mode: "", copyUp: true, driver: "", fromConfig: true },
  ];
  const later: PlannedMount = { type: "volume", name: "second", destination: "/data", readonly: false, mode: "", copyUp: false, driver: "" };
  const merged = mergeVolumesFrom(own, [...volumesFromPlan(donor, false), later]);
  assert.deepEqual(merged.map((m) => `${m.type} ${m.destination} ${m.type === "volume" ? m.name : m.type === "bind" ? m.source : ""}`), [
    "volume /data second",
    "tmpfs /t ",
    "bind /srv /mine",
    "volume /other undefined",
  ]);
});
