import assert from "node:assert/strict";
import { test } from "node:test";
import { isBerthError } from "../base/errors.js";
import { compareVersions, MAX_API_VERSION, MIN_API_VERSION, negotiatedVersion, splitVersionedPath, versionAtLeast } from "./versions.js";

test("version prefix is split from the path; unversioned paths pass through", () => {
  assert.deepEqual(splitVersionedPath("/v1.43/containers/json"), { version: "1.43", path: "/containers/json" });
  assert.deepEqual(splitVersionedPath("/v1.24/_ping"), { version: "1.24", path: "/_ping" });
  assert.deepEqual(splitVersionedPath("/v1.41"), { version: "1.41", path: "/" });
  assert.deepEqual(splitVersionedPath("/containers/json"), { version: undefined, path: "/containers/json" });
  assert.deepEqual(splitVersionedPath("/version"), { version: undefined, path: "/version" });
  assert.deepEqual(splitVersionedPath("/vx/containers"), { version: undefined, path: "/vx/containers" });
});

test("versions compare numerically per component", () => {
  assert.equal(compareVersions("1.9", "1.10"), -1);
  assert.equal(compareVersions("1.43", "1.43"), 0);
  assert.equal(compareVersions("1.43.0", "1.43"), 0);
  assert.equal(compareVersions("2.0", "1.99"), 1);
  assert.ok(versionAtLeast("1.42", "1.42"));
  assert.ok(!versionAtLeast("1.41", "1.42"));
});

test("the served range is 1.24..1.43; unversioned means the newest", () => {
  assert.equal(MIN_API_VERSION, "1.24");
  assert.equal(MAX_API_VERSION, "1.43");
  assert.equal(negotiatedVersion(undefined), "1.43");
  assert.equal(negotiatedVersion("1.24"), "1.24");
  assert.equal(negotiatedVersion("1.41"), "1.41");
});

test("out-of-range versions are invalid-argument errors in dockerd's words", () => {
  assert.throws(
    () => negotiatedVersion("1.12"),
    (e: unknown) =>
      isBerthError(e, "invalid-argument") &&
      e.message === "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version",
  );
  assert.throws(
    () => negotiatedVersion("1.50"),
    (e: unknown) => isBerthError(e, "invalid-argument") && e.message === "client version 1.50 is too new. Maximum supported API version is 1.43",
  );
});
