import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { mergeEnv, withArgs, withCwd, withDomainname, withEnv, withHostname, withOomScoreAdj, withTty, withUlimits } from "./process.js";
import { PATH, assertInvalid, build, env } from "./testdata/spec-assert.js";

describe("withArgs", () => {
  it("sets args (a copy)", () => {
    const args = ["sh", "-c", "echo hi"];
    const s = build(withArgs(args));
    args.push("x");
    assert.deepEqual(s.process?.args, ["sh", "-c", "echo hi"]);
  });

  it("refuses an empty command as dockerd does", () => {
    assertInvalid(() => withArgs([]), "No command specified");
  });
});

describe("mergeEnv / withEnv", () => {
  const cases: Array<[string, string[], string[], string[]]> = [
    ["appends new keys", ["A=1"], ["B=2"], ["A=1", "B=2"]],
    ["replaces a key in place", ["A=1", "B=2"], ["A=3"], ["A=3", "B=2"]],
    ["a bare key removes it", ["A=1", "B=2"], ["A"], ["B=2"]],
    ["removing an absent key is a no-op", ["A=1"], ["Z"], ["A=1"]],
    ["remove then set restores in place", ["A=1", "B=2"], ["A", "A=9"], ["A=9", "B=2"]],
    ["the last of duplicate overrides wins", [], ["A=1", "A=2"], ["A=2"]],
    ["values may contain =", [], ["A=b=c"], ["A=b=c"]],
    ["empty value is a value", ["A=1"], ["A="], ["A="]],
  ];
  for (const [name, base, overrides, want] of cases) {
    it(name, () => assert.deepEqual(mergeEnv(base, overrides), want));
  }

  it("keeps the default PATH unless PATH is set", () => {
    assert.deepEqual(env(build(withEnv(["FOO=bar"]))), [PATH, "FOO=bar"]);
    assert.deepEqual(env(build(withEnv(["PATH=/bin"]))), ["PATH=/bin"]);
  });

  it("later withEnv overrides earlier (image env, then container env)", () => {
    assert.deepEqual(env(build(withEnv(["A=image", "B=1"]), withEnv(["A=container"]))), [PATH, "A=container", "B=1"]);
  });
});

describe("withCwd", () => {
  const cases: Array<[string, string]> = [
    ["", "/"],
    ["/", "/"],
    ["/app", "/app"],
    ["/app/", "/app"],
    ["/a/../b//c/.", "/b/c"],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${want}`, () => assert.equal(build(withCwd(input)).process?.cwd, want));
  }

  it("refuses a relative directory with dockerd's message", () => {
    assertInvalid(() => withCwd("app"), "the working directory 'app' is invalid, it needs to be an absolute path");
  });
});

describe("withHostname", () => {
  it("sets the hostname and HOSTNAME", () => {
    const s = build(withHostname("abc123"));
    assert.equal(s.hostname, "abc123");
    assert.deepEqual(env(s), [PATH, "HOSTNAME=abc123"]);
  });

  it("a user HOSTNAME wins whatever the order", () => {
    assert.deepEqual(env(build(withHostname("h"), withEnv(["HOSTNAME=mine"]))), [PATH, "HOSTNAME=mine"]);
    assert.deepEqual(env(build(withEnv(["HOSTNAME=mine"]), withHostname("h"))), [PATH, "HOSTNAME=mine"]);
  });

  it("a second withHostname updates the HOSTNAME it set", () => {
    assert.deepEqual(env(build(withHostname("a"), withHostname("b"))), [PATH, "HOSTNAME=b"]);
  });
});

describe("withDomainname", () => {
  it("sets kernel.domainname, as runc 1.1 ignores spec.domainname", () => {
    const s = build(withDomainname("example.org"));
    assert.deepEqual(s.linux?.sysctl, { "kernel.domainname": "example.org" });
    assert.equal(s.domainname, undefined);
  });

  it("an empty name removes it and leaves no empty sysctl map", () => {
    assert.equal(build(withDomainname("x"), withDomainname("")).linux?.sysctl, undefined);
  });
});

describe("withTty", () => {
  it("true sets terminal and TERM=xterm", () => {
    const s = build(withTty(true));
    assert.equal(s.process?.terminal, true);
    assert.deepEqual(env(s), [PATH, "TERM=xterm"]);
  });

  it("keeps a TERM the user set", () => {
    assert.deepEqual(env(build(withEnv(["TERM=vt100"]), withTty(true))), [PATH, "TERM=vt100"]);
  });

  it("false sets terminal false and adds no TERM", () => {
    const s = build(withTty(false));
    assert.equal(s.process?.terminal, false);
    assert.deepEqual(env(s), [PATH]);
  });
});

describe("withUlimits", () => {
  it("writes RLIMIT_<NAME> rlimits; a later one of a type replaces the earlier", () => {
    const s = build(withUlimits([{ name: "nofile", soft: 1024, hard: 2048 }, { name: "nproc", soft: 5, hard: 5 }]), withUlimits([{ name: "nproc", soft: 7, hard: 9 }]));
    assert.deepEqual(s.process?.rlimits, [
      { type: "RLIMIT_NOFILE", soft: 1024, hard: 2048 },
      { type: "RLIMIT_NPROC", soft: 7, hard: 9 },
    ]);
  });

  const errors: Array<[string, { name: string; soft: number; hard: number }, string]> = [
    ["an unknown name", { name: "files", soft: 1, hard: 1 }, "invalid ulimit type: files"],
    ["soft above hard", { name: "nofile", soft: 2, hard: 1 }, "ulimit soft limit must be less than or equal to hard limit: 2 > 1"],
    ["unlimited (-1), which a JSON spec cannot carry", { name: "core", soft: -1, hard: -1 }, "unlimited (-1) ulimit for core is not supported by berth"],
    ["a negative value", { name: "core", soft: -2, hard: 1 }, "invalid ulimit value for core: -2"],
  ];
  for (const [what, u, message] of errors) {
    it(`refuses ${what}`, () => assertInvalid(() => withUlimits([u]), message));
  }
});

describe("withOomScoreAdj", () => {
  it("writes the score, 0 included (dockerd always sets it)", () => {
    assert.equal(build(withOomScoreAdj(500)).process?.oomScoreAdj, 500);
    assert.equal(build(withOomScoreAdj(0)).process?.oomScoreAdj, 0);
    assert.equal(build().process?.oomScoreAdj, undefined);
  });

  it("refuses a score outside [-1000, 1000]", () => {
    assertInvalid(() => withOomScoreAdj(1001), "Invalid value 1001, range for oom score adj is [-1000, 1000]");
    assertInvalid(() => withOomScoreAdj(-1001), "Invalid value -1001, range for oom score adj is [-1000, 1000]");
  });
});
