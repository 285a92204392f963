import assert from "node:assert/strict";
import { test } from "node:test";
import { isBerthError } from "../base/errors.js";
import { parseFilters } from "./filters.js";

test("the current map form: values mapped to true are selected", () => {
  const f = parseFilters('{"status":{"running":true,"exited":true,"paused":false},"label":{"a=b":true}}');
  assert.deepEqual(f.get("status").sort(), ["exited", "running"]);
  assert.deepEqual(f.get("label"), ["a=b"]);
  assert.deepEqual(f.keys().sort(), ["label", "status"]);
});

test("the older list form is accepted too", () => {
  const f = parseFilters('{"status":["running","exited"],"name":["web"]}');
  assert.deepEqual(f.get("status"), ["running", "exited"]);
  assert.deepEqual(f.get("name"), ["web"]);
});

test("empty or absent filters select everything", () => {
  for (const raw of [undefined, null, "", "{}"]) {
    const f = parseFilters(raw);
    assert.equal(f.size, 0);
    assert.ok(f.exactMatch("status", "anything"));
    assert.ok(f.matchKeyValues("label", {}));
  }
});

test("malformed filters are 400 'invalid filter'", () => {
  for (const raw of ["{", "[]", '"x"', '{"status":"running"}', '{"status":{"running":"yes"}}', '{"status":[1]}']) {
    assert.throws(() => parseFilters(raw), (e: unknown) => isBerthError(e, "invalid-argument") && e.message === "invalid filter", raw);
  }
});

test("validate names the first unknown key", () => {
  const f = parseFilters('{"status":["running"],"colour":["red"]}');
  assert.throws(() => f.validate(["status"]), (e: unknown) => isBerthError(e, "invalid-argument") && e.message === "invalid filter 'colour'");
  f.validate(["status", "colour"]);
});

test("matching: exact, prefix, regexp and key=value labels", () => {
  const f = parseFilters('{"id":["abc"],"name":["^/we"],"label":["env=prod","tier"]}');
  assert.ok(f.fuzzyMatch("id", "abcdef"));
  assert.ok(!f.exactMatch("id", "abcdef"));
  assert.ok(f.regexMatch("name", "/web"));
  assert.ok(!f.regexMatch("name", "/db"));
  assert.ok(f.matchKeyValues("label", { env: "prod", tier: "x" }));
  assert.ok(!f.matchKeyValues("label", { env: "dev", tier: "x" }));
  assert.ok(!f.matchKeyValues("label", { env: "prod" }));
  assert.ok(!f.matchKeyValues("label", {}));
  // An invalid expression is skipped, not an error.
  assert.ok(!parseFilters('{"name":["("]}').regexMatch("name", "/x"));
});

test("boolean filters: true/1, false/0; conflicting values are invalid", () => {
  assert.equal(parseFilters('{"dangling":["true"]}').getBool("dangling"), true);
  assert.equal(parseFilters('{"dangling":{"0":true}}').getBool("dangling"), false);
  assert.equal(parseFilters("{}").getBool("dangling"), undefined);
  assert.throws(() => parseFilters('{"dangling":["true","false"]}').getBool("dangling"), /invalid filter 'dangling=true,false'/);
});
