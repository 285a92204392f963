import assert from "node:assert/strict";
import { test } from "node:test";

import { isInvalidArgument } from "../base/errors.js";
import { listFilter, pruneFilter, type FilterSubject } from "./filters.js";
import { ANONYMOUS_LABEL } from "./names.js";

const volumes: FilterSubject[] = [
  { name: "web-data", driver: "local", labels: { app: "web", tier: "front" }, inUse: true },
  { name: "db-data", driver: "local", labels: { app: "db" }, inUse: false },
  { name: "a".repeat(64), driver: "local", labels: { [ANONYMOUS_LABEL]: "" }, inUse: false },
  { name: "b".repeat(64), driver: "local", labels: { [ANONYMOUS_LABEL]: "", app: "web" }, inUse: true },
  { name: "plain", driver: "local", labels: {}, inUse: false },
];
const names = (keep: (v: FilterSubject) => boolean) => volumes.filter(keep).map((v) => v.name);
const invalid = (message: string) => (e: unknown) => isInvalidArgument(e) && (e as Error).message === message;

test("ls: no filter keeps everything", () => {
  assert.equal(names(listFilter({})).length, volumes.length);
});

test("ls: dangling=true|false|1|0 by reference", () => {
  assert.deepEqual(names(listFilter({ dangling: ["true"] })), ["db-data", "a".repeat(64), "plain"]);
  assert.deepEqual(names(listFilter({ dangling: ["0"] })), ["web-data", "b".repeat(64)]);
  assert.throws(() => listFilter({ dangling: ["maybe"] }), invalid("invalid filter 'dangling=[maybe]'"));
  assert.throws(() => listFilter({ dangling: ["true", "false"] }), invalid("invalid filter 'dangling=[true false]'"));
});

test("ls: name matches a substring (a regular expression, as moby), exact names too", () => {
  assert.deepEqual(names(listFilter({ name: ["data"] })), ["web-data", "db-data"]);
  assert.deepEqual(names(listFilter({ name: ["^db", "plain"] })), ["db-data", "plain"]);
  assert.deepEqual(names(listFilter({ name: ["("] })), []);
});

test("ls: label=key and label=key=value, all of them must match", () => {
  assert.deepEqual(names(listFilter({ label: ["app"] })), ["web-data", "db-data", "b".repeat(64)]);
  assert.deepEqual(names(listFilter({ label: ["app=web"] })), ["web-data", "b".repeat(64)]);
  assert.deepEqual(names(listFilter({ label: ["app=web", "tier"] })), ["web-data"]);
  assert.deepEqual(names(listFilter({ label: ["app=web", "tier=back"] })), []);
});

test("ls: driver is exact; filters combine with AND; unknown keys are refused", () => {
  assert.equal(names(listFilter({ driver: ["local"] })).length, volumes.length);
  assert.deepEqual(names(listFilter({ driver: ["nfs"] })), []);
  assert.deepEqual(names(listFilter({ driver: ["local"], dangling: ["true"], label: ["app"] })), ["db-data"]);
  assert.throws(() => listFilter({ colour: ["red"] }), invalid("invalid filter 'colour'"));
  assert.throws(() => listFilter({ "label!": ["x"] }), invalid("invalid filter 'label!'"));
});

test("prune: anonymous volumes only unless all=true (dockerd 23+, API 1.42+)", () => {
  // The predicate looks at labels only; the store adds "unused" and "no driver options".
  assert.deepEqual(names(pruneFilter({})), ["a".repeat(64), "b".repeat(64)]);
  assert.deepEqual(names(pruneFilter({ all: ["false"] })), ["a".repeat(64), "b".repeat(64)]);
  assert.equal(names(pruneFilter({ all: ["true"] })).length, volumes.length);
  assert.equal(names(pruneFilter({ all: ["1"] })).length, volumes.length);
});

test("prune: label and label! narrow it", () => {
  assert.deepEqual(names(pruneFilter({ label: ["app=web"] })), ["b".repeat(64)]);
  assert.deepEqual(names(pruneFilter({ all: ["true"], label: ["app"] })), ["web-data", "db-data", "b".repeat(64)]);
  assert.deepEqual(names(pruneFilter({ all: ["true"], "label!": ["app"] })), ["a".repeat(64), "plain"]);
  assert.deepEqual(names(pruneFilter({ all: ["true"], "label!": ["app=web", "tier"] })), ["db-data", "a".repeat(64), "b".repeat(64), "plain"]);
});

test("prune: dockerd's errors", () => {
  assert.throws(() => pruneFilter({ dangling: ["true"] }), invalid("invalid filter 'dangling'"));
  assert.throws(() => pruneFilter({ all: ["true", "false"] }), invalid("invalid filter 'all=[true false]': only one value is expected"));
  assert.throws(() => pruneFilter({ all: ["yes"] }), invalid(`invalid filter 'all': strconv.ParseBool: parsing "yes": invalid syntax`));
});
