import { test } from "node:test";
import assert from "node:assert/strict";
import { familiarReference, normalizeReference, parseReference } from "./reference.js";
import { isBerthError } from "../base/errors.js";

const D = "sha256:" + "ab".repeat(32);

test("normalizes like dockerd and nerdctl", () => {
  const cases: [string, string][] = [
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["user/app", "docker.io/user/app:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["index.docker.io/user/app:v1", "docker.io/user/app:v1"],
    ["localhost:5000/x", "localhost:5000/x:latest"],
    ["localhost/x:t", "localhost/x:t"],
    ["127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000/a/b/c:t"],
    ["ghcr.io/org/img@" + D, "ghcr.io/org/img@" + D],
    ["busybox:1@" + D, "docker.io/library/busybox:1@" + D],
    ["Registry.Example.com/x", "Registry.Example.com/x:latest"],
    ["a__b/c-d.e_f:T.1-x", "docker.io/a__b/c-d.e_f:T.1-x"],
  ];
  for (const [input, want] of cases) assert.equal(normalizeReference(input), want, input);
});

test("parts of a reference", () => {
  assert.deepEqual(parseReference("localhost:5000/x/y:1"), { domain: "localhost:5000", path: "x/y", tag: "1", digest: undefined });
  assert.deepEqual(parseReference("x@" + D), { domain: "docker.io", path: "library/x", tag: undefined, digest: D });
});

test("invalid references are invalid-argument errors naming the cause", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["UPPER", /lowercase/],
    ["a:b:c", /path component|invalid tag/],
    ["x:" + "t".repeat(129), /invalid tag/],
    ["x@sha256:123", /invalid (sha256 )?digest/],
    ["ab".repeat(32), /64-byte hexadecimal/],
    ["a//b", /path component/],
    ["-a", /path component/],
    ["a/b_", /path component/],
    ["exa_mple.com:x/y", /invalid tag|registry|path/],
    ["x/" + "a".repeat(300), /longer than 255/],
  ];
  for (const [input, re] of cases) {
    assert.throws(() => parseReference(input), (e) => isBerthError(e, "invalid-argument") && re.test(e.message), input);
  }
});

test("familiar names as the docker CLI prints them", () => {
  assert.equal(familiarReference("docker.io/library/busybox:latest"), "busybox:latest");
  assert.equal(familiarReference("docker.io/user/app:1"), "user/app:1");
  assert.equal(familiarReference("docker.io/library/a/b:1"), "library/a/b:1");
  assert.equal(familiarReference("localhost:5000/x:t"), "localhost:5000/x:t");
  assert.equal(familiarReference("busybox@" + D), "busybox@" + D);
});
