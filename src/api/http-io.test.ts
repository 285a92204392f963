import assert from "node:assert/strict";
import { test } from "node:test";
import { isInvalidArgument } from "../base/errors.js";
import { MAX_JSON_DEPTH, jsonNestsDeeperThan, parseJsonBody } from "./http-io.js";

test("JSON bodies nested deeper than the limit are the client's error, not a stack overflow", () => {
  const nest = (n: number) => `{"a":${"[".repeat(n)}${"]".repeat(n)}}`;
  assert.deepEqual(parseJsonBody(Buffer.from(nest(MAX_JSON_DEPTH - 1))) !== undefined, true);
  for (const text of [nest(MAX_JSON_DEPTH), nest(200_000), `{"a":${'{"b":'.repeat(100_000)}1${"}".repeat(100_000)}}`]) {
    assert.throws(() => parseJsonBody(Buffer.from(text)), (e: unknown) => isInvalidArgument(e) && /nested deeper than 512 levels/.test((e as Error).message));
  }
  // Brackets inside strings (escaped quotes too) do not count.
  assert.equal(jsonNestsDeeperThan(JSON.stringify({ s: "[".repeat(1000) + '\\"{' + "{".repeat(1000) }), 3), false);
  assert.equal(jsonNestsDeeperThan("[[[]]]", 3), false);
  assert.equal(jsonNestsDeeperThan("[[[[]]]]", 3), true);
  assert.equal(parseJsonBody(Buffer.from("  \n")), undefined);
  assert.throws(() => parseJsonBody(Buffer.from("{")), (e: unknown) => isInvalidArgument(e) && /^invalid JSON: /.test((e as Error).message));
});
