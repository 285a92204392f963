import { test } from "node:test";
import assert from "node:assert/strict";
import { isBerthError } from "../base/errors.js";
import { applyConfigChanges } from "./config-changes.js";

test("Dockerfile-like changes", () => {
  const c = applyConfigChanges({ Env: ["PATH=/bin", "A=old"] }, [
    'CMD ["sh", "-c", "echo hi"]',
    "ENTRYPOINT /entry.sh --flag",
    "ENV A=b C=\"d e\" F='g h'",
    "ENV LEGACY value with spaces",
    "WORKDIR /work",
    "USER 1000:1000",
    "EXPOSE 80 53/udp",
    "LABEL a=b \"c\"=d",
    'VOLUME ["/data", "/logs"]',
    "STOPSIGNAL SIGINT",
    "cmd echo lower",
  ]);
  assert.deepEqual(c.Cmd, ["/bin/sh", "-c", "echo lower"]);
  assert.deepEqual(c.Entrypoint, ["/bin/sh", "-c", "/entry.sh --flag"]);
  assert.deepEqual(c.Env, ["PATH=/bin", "A=b", "C=d e", "F=g h", "LEGACY=value with spaces"]);
  assert.equal(c.WorkingDir, "/work");
  assert.equal(c.User, "1000:1000");
  assert.deepEqual(Object.keys(c.ExposedPorts!), ["80/tcp", "53/udp"]);
  assert.deepEqual(c.Volumes, { "/data": {}, "/logs": {} });
  assert.equal(c.StopSignal, "SIGINT");
  assert.equal(c.Labels?.a, "b");
  assert.deepEqual(applyConfigChanges({}, ['CMD ["sh"]']).Cmd, ["sh"]);
});

test("unsupported or malformed changes are invalid-argument errors", () => {
  for (const bad of ["RUN rm -rf /", "CMD", "EXPOSE http", "ENV", "ENV X", "FROM x", "!!"]) {
    assert.throws(() => applyConfigChanges({}, [bad]), (e) => isBerthError(e, "invalid-argument"), bad);
  }
});
