import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { KNOWN_CAPABILITIES, normalizeCapabilities, withCapAdd, withCapDrop, withCapabilities } from "./capabilities.js";
import { DEFAULT_CAPABILITIES } from "./default-spec.js";
import { assertInvalid, build, caps } from "./testdata/spec-assert.js";

describe("normalizeCapabilities / withCapabilities", () => {
  it("knows dockerd 20.10's 38 capabilities, CHOWN to AUDIT_READ", () => {
    assert.equal(KNOWN_CAPABILITIES.length, 38);
    assert.equal(KNOWN_CAPABILITIES[0], "CAP_CHOWN");
    assert.equal(KNOWN_CAPABILITIES[37], "CAP_AUDIT_READ");
  });

  it("accepts any case, with or without CAP_, and ALL", () => {
    assert.deepEqual(normalizeCapabilities(["net_admin", "CAP_SYS_ADMIN", "Cap_Kill", "all"]), [
      "CAP_NET_ADMIN",
      "CAP_SYS_ADMIN",
      "CAP_KILL",
      "ALL",
    ]);
  });

  for (const bad of ["FOO", "CAP_FOO", "bpf", "PERFMON", "checkpoint_restore", ""]) {
    it(`refuses unknown ${JSON.stringify(bad)}`, () => {
      const name = bad.toUpperCase().startsWith("CAP_") ? bad.toUpperCase() : `CAP_${bad.toUpperCase()}`;
      assertInvalid(() => withCapAdd([bad]), `unknown capability: "${name}"`);
    });
  }

  it("reports a bad drop before a bad add, as dockerd", () => {
    assertInvalid(() => withCapabilities({ add: ["NOPE1"], drop: ["NOPE2"] }), 'unknown capability: "CAP_NOPE2"');
  });

  const noChown = DEFAULT_CAPABILITIES.filter((c) => c !== "CAP_CHOWN");
  const cases: Array<[string, Parameters<typeof withCapabilities>[0], string[]]> = [
    ["nothing", {}, [...DEFAULT_CAPABILITIES]],
    ["add one", { add: ["NET_ADMIN"] }, [...DEFAULT_CAPABILITIES, "CAP_NET_ADMIN"]],
    ["add one already present (no duplicate)", { add: ["chown"] }, [...DEFAULT_CAPABILITIES]],
    ["drop one", { drop: ["CHOWN"] }, noChown],
    ["add and drop the same: add wins, as dockerd", { add: ["CHOWN"], drop: ["CHOWN"] }, [...noChown, "CAP_CHOWN"]],
    ["drop ALL, add some", { add: ["NET_BIND_SERVICE", "kill"], drop: ["ALL"] }, ["CAP_NET_BIND_SERVICE", "CAP_KILL"]],
    ["drop ALL", { drop: ["all"] }, []],
    ["add ALL", { add: ["ALL"] }, [...KNOWN_CAPABILITIES]],
    ["add ALL, drop some", { add: ["ALL"], drop: ["SYS_ADMIN", "NET_ADMIN"] }, KNOWN_CAPABILITIES.filter((c) => c !== "CAP_SYS_ADMIN" && c !== "CAP_NET_ADMIN")],
  ];
  for (const [name, changes, want] of cases) {
    it(name, () => {
      assert.deepEqual(caps(build(withCapabilities(changes))), { bounding: want, effective: want, permitted: want });
    });
  }

  it("withCapAdd / withCapDrop work on the current set, in order", () => {
    const s = build(withCapDrop(["ALL"]), withCapAdd(["CHOWN"]));
    assert.deepEqual(caps(s), { bounding: ["CAP_CHOWN"], effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"] });
  });

  it("never sets inheritable or ambient", () => {
    const c = caps(build(withCapAdd(["ALL"]))) ?? {};
    assert.equal(c.inheritable, undefined);
    assert.equal(c.ambient, undefined);
  });
});
