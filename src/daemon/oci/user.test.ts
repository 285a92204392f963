import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { resolveUser, withUser } from "./user.js";
import { withCapAdd, withCapDrop } from "./capabilities.js";
import { DEFAULT_CAPABILITIES } from "./default-spec.js";
import { assertInvalid, build, caps } from "./testdata/spec-assert.js";

describe("withUser and capabilities", () => {
  it("root keeps effective and permitted equal to bounding", () => {
    const s = build(withUser({ uid: 0, gid: 0, additionalGids: [0, 10] }));
    assert.deepEqual(s.process?.user, { uid: 0, gid: 0, additionalGids: [0, 10] });
    assert.deepEqual(caps(s), {
      bounding: [...DEFAULT_CAPABILITIES],
      effective: [...DEFAULT_CAPABILITIES],
      permitted: [...DEFAULT_CAPABILITIES],
    });
  });

  it("a non-root user gets the bounding set only (dockerd 20.10.14+)", () => {
    const s = build(withUser({ uid: 1000, gid: 1000 }));
    assert.deepEqual(s.process?.user, { uid: 1000, gid: 1000 });
    assert.deepEqual(caps(s), { bounding: [...DEFAULT_CAPABILITIES] });
  });

  it("user and cap changes commute", () => {
    const a = build(withUser({ uid: 1000, gid: 1000 }), withCapAdd(["NET_ADMIN"]));
    const b = build(withCapAdd(["NET_ADMIN"]), withUser({ uid: 1000, gid: 1000 }));
    assert.deepEqual(caps(a), caps(b));
    assert.deepEqual(caps(a), { bounding: [...DEFAULT_CAPABILITIES, "CAP_NET_ADMIN"] });
  });

  it("switching back to root restores effective/permitted from bounding", () => {
    const s = build(withUser({ uid: 1, gid: 1 }), withCapDrop(["CHOWN"]), withUser({ uid: 0, gid: 0 }));
    const want = DEFAULT_CAPABILITIES.filter((c) => c !== "CAP_CHOWN");
    assert.deepEqual(caps(s), { bounding: want, effective: want, permitted: want });
  });

  it("passes umask through", () => {
    assert.deepEqual(build(withUser({ uid: 0, gid: 0, umask: 0o022 })).process?.user, { uid: 0, gid: 0, umask: 0o022 });
  });

  const bad: Array<[string, Parameters<typeof withUser>[0]]> = [
    ["negative uid", { uid: -1, gid: 0 }],
    ["uid beyond 2^31-1", { uid: 2 ** 31, gid: 0 }],
    ["fractional gid", { uid: 0, gid: 1.5 }],
    ["bad additional gid", { uid: 0, gid: 0, additionalGids: [-3] }],
  ];
  for (const [name, user] of bad) {
    it(`refuses ${name}`, () => assertInvalid(() => withUser(user), "uids and gids must be in range 0-2147483647"));
  }
});

describe("resolveUser", () => {
  const passwd = [
    "root:x:0:0:root:/root:/bin/ash",
    "daemon:x:2:2:daemon:/sbin:/sbin/nologin",
    "app:x:1000:1000:App:/home/app:/bin/sh",
    "  ", // blank lines are skipped
    "dup:x:1000:5:second entry for uid 1000:/home/dup:/bin/sh",
    "1234:x:4321:4321:numeric name:/n:/bin/sh",
  ].join("\n");
  const group = [
    "root:x:0:root",
    "bin:x:1:root,bin,daemon",
    "daemon:x:2:root,bin,daemon",
    "wheel:x:10:root,app",
    "app:x:1000:",
    "docker:x:999:app\r", // CRLF files are read as Go's scanner does
    "staff:x:50:",
  ].join("\n");

  const cases: Array<[string, string, string[], { uid: number; gid: number; additionalGids: number[]; home?: string }]> = [
    ["empty spec is root, with root's groups", "", [], { uid: 0, gid: 0, additionalGids: [0, 1, 2, 10], home: "/root" }],
    ["by name", "app", [], { uid: 1000, gid: 1000, additionalGids: [1000, 10, 999], home: "/home/app" }],
    ["by uid: first passwd match wins", "1000", [], { uid: 1000, gid: 1000, additionalGids: [1000, 10, 999], home: "/home/app" }],
    ["a numeric user is a uid, never a name", "1234", [], { uid: 1234, gid: 0, additionalGids: [0] }],
    ["uid not in passwd", "4242", [], { uid: 4242, gid: 0, additionalGids: [0] }],
    ["name:group (no supplementary groups)", "app:staff", [], { uid: 1000, gid: 50, additionalGids: [50], home: "/home/app" }],
    ["uid:gid both unknown", "4242:4343", [], { uid: 4242, gid: 4343, additionalGids: [4343] }],
    ["name:gid not in group file", "daemon:77", [], { uid: 2, gid: 77, additionalGids: [77], home: "/sbin" }],
    ["uid:group name", "4242:wheel", [], { uid: 4242, gid: 10, additionalGids: [10] }],
    ["group-add by name and number", "app", ["staff", "4000", "10"], { uid: 1000, gid: 1000, additionalGids: [1000, 10, 999, 50, 4000], home: "/home/app" }],
  ];
  for (const [name, spec, groupAdd, want] of cases) {
    it(name, () => assert.deepEqual(resolveUser(spec, passwd, group, groupAdd), want));
  }

  it("works without passwd and group files for numeric ids", () => {
    assert.deepEqual(resolveUser("5:6", undefined, undefined), { uid: 5, gid: 6, additionalGids: [6] });
    assert.deepEqual(resolveUser("", undefined, undefined), { uid: 0, gid: 0, additionalGids: [0] });
  });

  const errors: Array<[string, string, string[], string]> = [
    ["unknown user name", "nobody2", [], "unable to find user nobody2: no matching entries in passwd file"],
    ["unknown group name", "app:nogroup", [], "unable to find group nogroup: no matching entries in group file"],
    ["unknown group-add name", "app", ["ghosts"], "Unable to find group ghosts"],
    ["uid out of range", "2147483648", [], "uids and gids must be in range 0-2147483647"],
    ["negative gid", "0:-1", [], "uids and gids must be in range 0-2147483647"],
    ["group-add out of range", "0", ["-5"], "uids and gids must be in range 0-2147483647"],
  ];
  for (const [name, spec, groupAdd, message] of errors) {
    it(`refuses ${name}`, () => assertInvalid(() => resolveUser(spec, passwd, group, groupAdd), message));
  }

  it("an unknown name fails also when there is no passwd file", () => {
    assertInvalid(() => resolveUser("app", undefined, undefined), "unable to find user app: no matching entries in passwd file");
  });

  it("feeds withUser", () => {
    const s = build(withUser(resolveUser("app", passwd, group)));
    assert.deepEqual(s.process?.user, { uid: 1000, gid: 1000, additionalGids: [1000, 10, 999] });
    assert.deepEqual(caps(s), { bounding: [...DEFAULT_CAPABILITIES] });
  });
});
