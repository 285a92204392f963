import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { withArgs } from "./process.js";
import { INIT_IN_CONTAINER, findInitBinary, withInit } from "./init.js";
import { assertInvalid, build } from "./testdata/spec-assert.js";

describe("withInit", () => {
  it("runs the command under /sbin/docker-init -- and binds the init read-only there", () => {
    const s = build(withArgs(["sleep", "1"]), withInit("/usr/bin/tini-static"));
    assert.deepEqual(s.process!.args, ["/sbin/docker-init", "--", "sleep", "1"]);
    const m = s.mounts!.filter((x) => x.destination === INIT_IN_CONTAINER);
    assert.deepEqual(m, [{ destination: "/sbin/docker-init", type: "bind", source: "/usr/bin/tini-static", options: ["bind", "ro"] }]);
  });
  it("refuses a relative path", () => {
    assertInvalid(() => withInit("tini"), /init path must be absolute/);
  });
});

describe("findInitBinary", () => {
  it("prefers tini-static on PATH, then docker-init, then the usual places", () => {
    const have = (...paths: string[]) => (p: string) => paths.includes(p);
    assert.equal(findInitBinary({ pathEnv: "/opt/bin:/usr/bin", exists: have("/usr/bin/docker-init", "/opt/bin/tini-static") }), "/opt/bin/tini-static");
    assert.equal(findInitBinary({ pathEnv: "/opt/bin", exists: have("/usr/bin/docker-init") }), "/usr/bin/docker-init");
    assert.equal(findInitBinary({ pathEnv: "relative:/x", exists: have("relative/tini-static") }), undefined);
  });
});
