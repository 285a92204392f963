import { test } from "node:test";
import assert from "node:assert/strict";
import { atoi, cleanPath, goQuote, parseGoBool, parseMac } from "./go-parse.js";

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

test("parseMac takes net.ParseMAC's 48-bit forms and answers lowercase colon hex", () => {
  for (const ok of ["02:42:ac:11:00:0a", "02:42:AC:11:00:0A", "02-42-ac-11-00-0a", "0242.ac11.000a"]) assert.equal(parseMac(ok), "02:42:ac:11:00:0a", ok);
  for (const bad of ["", "02:42:ac:11:00", "02:42:ac:11:00:0a:", "02:42-ac:11:00:0a", "0242ac11000a", "02:42:ac:11:00:0g",
    "02:42:ac:11:00:0a:00:01", " 02:42:ac:11:00:0a", "2:42:ac:11:00:0a"]) assert.equal(parseMac(bad), undefined, bad);
});
