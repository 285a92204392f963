import { test } from "node:test";
import assert from "node:assert/strict";
import { atoi, cleanPath, goQuote, parseGoBool } from "./go-parse.js";

test("atoi takes Go's decimal domain", () => {
  assert.equal(atoi("42"), 42);
  assert.equal(atoi("-7"), -7);
  assert.equal(atoi("+3"), 3);
  for (const bad of ["", "1.5", "0x10", " 1", "1e3", "99999999999999999999"]) assert.equal(atoi(bad), undefined, bad);
});

test("parseGoBool takes exactly strconv.ParseBool's spellings", () => {
  for (const t of ["1", "t", "T", "TRUE", "true", "True"]) assert.equal(parseGoBool(t), true, t);
  for (const f of ["0", "f", "F", "FALSE", "false", "False"]) assert.equal(parseGoBool(f), false, f);
  for (const bad of ["", "yes", "tRUE", "2"]) assert.equal(parseGoBool(bad), undefined, bad);
});

test("cleanPath is Go's path.Clean", () => {
  const cases: [string, string][] = [["", "."], ["/", "/"], ["/a/b/", "/a/b"], ["a//b/../c", "a/c"], ["/../x", "/x"], ["./", "."]];
  for (const [p, want] of cases) assert.equal(cleanPath(p), want, p);
  assert.equal(goQuote('a"b'), '"a\\"b"');
});
