import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { withMaskedPaths, withNoNewPrivileges, withReadonlyPaths, withSecurityOpts } from "./security.js";
import { assertInvalid, build } from "./testdata/spec-assert.js";

describe("withNoNewPrivileges / withSecurityOpts", () => {
  it("withNoNewPrivileges", () => {
    assert.equal(build(withNoNewPrivileges()).process?.noNewPrivileges, true);
    assert.equal(build(withNoNewPrivileges(), withNoNewPrivileges(false)).process?.noNewPrivileges, undefined);
  });

  const accepted: Array<[string[], boolean | undefined]> = [
    [[], undefined],
    [["no-new-privileges"], true],
    [["no-new-privileges=true"], true],
    [["no-new-privileges:true"], true],
    [["no-new-privileges=1"], true],
    [["no-new-privileges=false"], undefined],
    [["no-new-privileges", "no-new-privileges=False"], undefined],
    [["seccomp=unconfined"], undefined],
    [["seccomp:unconfined"], undefined],
    [["apparmor=unconfined"], undefined],
    // apparmor values are withAppArmor's (apparmor.test.ts).
    [["apparmor=docker-default"], undefined],
    [["label=disable"], undefined],
    [["label:disable"], undefined],
    [["disable"], undefined],
    [["seccomp=unconfined", "no-new-privileges"], true],
    // seccomp values are withSeccomp's (seccomp.test.ts).
    [['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}'], undefined],
    [["seccomp=builtin"], undefined],
  ];
  for (const [opts, want] of accepted) {
    it(`accepts ${JSON.stringify(opts)}`, () => {
      assert.equal(build(withSecurityOpts(opts)).process?.noNewPrivileges, want);
    });
  }

  const labelMsg =
    "invalid --security-opt: label is not supported: SELinux labels are not applied by berth (only label=disable is accepted)";
  const refused: Array<[string, string]> = [
    ["foo", 'invalid --security-opt 1: "foo"'],
    ["foo=bar", 'invalid --security-opt 2: "foo=bar"'],
    ["systempaths=unconfined", 'invalid --security-opt 2: "systempaths=unconfined"'],
    ["no-new-privileges=maybe", 'invalid --security-opt 2: "no-new-privileges=maybe"'],
    ["label=user:USER", labelMsg],
    ["label:type:svirt_apache_t", labelMsg],
  ];
  for (const [opt, message] of refused) {
    it(`refuses ${JSON.stringify(opt)}`, () => assertInvalid(() => withSecurityOpts([opt]), message));
  }
});

describe("withMaskedPaths / withReadonlyPaths", () => {
  it("replace the defaults (the CLI sends [] for systempaths=unconfined)", () => {
    const s = build(withMaskedPaths([]), withReadonlyPaths(["/proc/sys"]));
    assert.deepEqual(s.linux?.maskedPaths, []);
    assert.deepEqual(s.linux?.readonlyPaths, ["/proc/sys"]);
  });
});
