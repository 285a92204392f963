import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { isBerthError } from "../../base/errors.js";
import type { Spec } from "../../containerd/oci/spec-types.js";
import { DEFAULT_CAPABILITIES, defaultSpec } from "./default-spec.js";
import {
  type SpecOpt,
  KNOWN_CAPABILITIES,
  applySpecOpts,
  buildSpec,
  mergeEnv,
  mergeTmpfsOptions,
  normalizeCapabilities,
  parseBind,
  resolveUser,
  withArgs,
  withBinds,
  withCapAdd,
  withCapDrop,
  withCapabilities,
  withCgroupsPath,
  withCpu,
  withCwd,
  withDomainname,
  withEnv,
  withHostname,
  withHostsAndResolvConf,
  withMaskedPaths,
  withMemoryLimit,
  withNetworkMode,
  withNoNewPrivileges,
  withPidsLimit,
  withReadonlyPaths,
  withReadonlyRootfs,
  withRootfsPath,
  withSecurityOpts,
  withShmSize,
  withTmpfs,
  withTty,
  withUser,
} from "./spec-opts.js";

const PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const DEFAULT_MOUNT_DESTINATIONS = ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"];

/** Asserts a BerthError of kind invalid-argument with exactly this message. */
function assertInvalid(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isBerthError(e, "invalid-argument"), `expected invalid-argument, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

const build = (...opts: SpecOpt[]): Spec => buildSpec(opts);
const env = (s: Spec) => s.process?.env;
const caps = (s: Spec) => s.process?.capabilities;
const mountsOf = (s: Spec) => (s.mounts ?? []).map((m) => m.destination);
const mountAt = (s: Spec, dest: string) => s.mounts?.find((m) => m.destination === dest);
const allExist = { exists: () => true };

describe("buildSpec / applySpecOpts", () => {
  it("with no options is the default spec", () => {
    assert.deepEqual(buildSpec([]), defaultSpec());
  });

  it("applies options in order", () => {
    const s = build(withCwd("/a"), withCwd("/b"));
    assert.equal(s.process?.cwd, "/b");
  });

  it("applySpecOpts mutates and returns the given spec", () => {
    const spec = defaultSpec();
    assert.equal(applySpecOpts(spec, [withHostname("h")]), spec);
    assert.equal(spec.hostname, "h");
  });

  it("creates process/linux when a spec lacks them", () => {
    const s = applySpecOpts({ ociVersion: "1.0.2" }, [withArgs(["sh"]), withPidsLimit(5)]);
    assert.deepEqual(s.process, { user: { uid: 0, gid: 0 }, cwd: "/", args: ["sh"] });
    assert.deepEqual(s.linux, { resources: { pids: { limit: 5 } } });
  });
});

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

  const apparmorMsg =
    "invalid --security-opt: apparmor is not supported: AppArmor profiles are not applied by berth yet (only apparmor=unconfined is accepted)";
  const labelMsg =
    "invalid --security-opt: label is not supported: SELinux labels are not applied by berth (only label=disable is accepted)";
  const refused: Array<[string, string]> = [
    ["foo", 'invalid --security-opt 1: "foo"'],
    ["foo=bar", 'invalid --security-opt 2: "foo=bar"'],
    ["systempaths=unconfined", 'invalid --security-opt 2: "systempaths=unconfined"'],
    ["no-new-privileges=maybe", 'invalid --security-opt 2: "no-new-privileges=maybe"'],
    ["apparmor=docker-default", apparmorMsg],
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

describe("withMemoryLimit", () => {
  const MiB = 1024 * 1024;
  const cases: Array<[string, SpecOpt, object]> = [
    ["limit only: swap defaults to twice the limit", withMemoryLimit(512 * MiB), { limit: 512 * MiB, swap: 1024 * MiB }],
    ["explicit swap", withMemoryLimit(512 * MiB, 768 * MiB), { limit: 512 * MiB, swap: 768 * MiB }],
    ["swap equal to limit (no swap)", withMemoryLimit(512 * MiB, 512 * MiB), { limit: 512 * MiB, swap: 512 * MiB }],
    ["swap -1: unlimited, not written", withMemoryLimit(512 * MiB, -1), { limit: 512 * MiB }],
    ["exactly 6MB", withMemoryLimit(6 * MiB), { limit: 6 * MiB, swap: 12 * MiB }],
    ["no limit", withMemoryLimit(0), {}],
    ["no swap accounting: limit only", withMemoryLimit(512 * MiB, 0, { swapLimit: false }), { limit: 512 * MiB }],
  ];
  for (const [name, opt, want] of cases) {
    it(name, () => assert.deepEqual(build(opt).linux?.resources?.memory, want));
  }

  it("a later call replaces an earlier one", () => {
    assert.deepEqual(build(withMemoryLimit(512 * MiB), withMemoryLimit(0)).linux?.resources?.memory, {});
  });

  const errors: Array<[string, () => unknown, string]> = [
    ["below 6MB", () => withMemoryLimit(6 * MiB - 1), "Minimum memory limit allowed is 6MB"],
    ["negative", () => withMemoryLimit(-1), "Minimum memory limit allowed is 6MB"],
    ["swap below limit", () => withMemoryLimit(512 * MiB, 256 * MiB), "Minimum memoryswap limit should be larger than memory limit, see usage"],
    ["swap without limit", () => withMemoryLimit(0, 256 * MiB), "You should always set the Memory limit when using Memoryswap limit, see usage"],
    ["fractional bytes", () => withMemoryLimit(7e6 + 0.5), "memory limit must be an integer, got 7000000.5"],
  ];
  for (const [name, fn, message] of errors) {
    it(`refuses ${name}`, () => assertInvalid(fn, message));
  }
});

describe("withCpu", () => {
  const cases: Array<[string, SpecOpt, object]> = [
    ["--cpus 1.5", withCpu({ nanoCpus: 1_500_000_000 }), { period: 100000, quota: 150000 }],
    ["--cpus 0.01", withCpu({ nanoCpus: 10_000_000 }), { period: 100000, quota: 1000 }],
    ["--cpus truncates like int64 division", withCpu({ nanoCpus: 1_234_567_891 }), { period: 100000, quota: 123456 }],
    ["huge nanoCpus stays exact", withCpu({ nanoCpus: 128_000_000_000 }), { period: 100000, quota: 12_800_000 }],
    ["shares", withCpu({ shares: 512 }), { shares: 512 }],
    ["quota and period", withCpu({ quota: 50000, period: 200000 }), { quota: 50000, period: 200000 }],
    ["quota -1 (unlimited)", withCpu({ quota: -1 }), { quota: -1 }],
    ["cpusets", withCpu({ cpusetCpus: "0-2,4", cpusetMems: "0" }), { cpus: "0-2,4", mems: "0" }],
    ["nanoCpus within numCpus", withCpu({ nanoCpus: 2e9 }, { numCpus: 2 }), { period: 100000, quota: 200000 }],
  ];
  for (const [name, opt, want] of cases) {
    it(name, () => assert.deepEqual(build(opt).linux?.resources?.cpu, want));
  }

  const errors: Array<[string, () => unknown, string]> = [
    ["negative shares", () => withCpu({ shares: -1 }), "shares: invalid argument"],
    ["nanoCpus with period", () => withCpu({ nanoCpus: 1e9, period: 100000 }), "Conflicting options: Nano CPUs and CPU Period cannot both be set"],
    ["nanoCpus with quota", () => withCpu({ nanoCpus: 1e9, quota: 50000 }), "Conflicting options: Nano CPUs and CPU Quota cannot both be set"],
    ["more CPUs than the host has", () => withCpu({ nanoCpus: 3e9 }, { numCpus: 2 }), "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"],
    ["negative nanoCpus with numCpus", () => withCpu({ nanoCpus: -1 }, { numCpus: 4 }), "Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"],
    ["negative nanoCpus", () => withCpu({ nanoCpus: -1 }), "Range of CPUs is from 0.01 upwards; NanoCPUs can not be negative"],
    ["period below 1ms", () => withCpu({ period: 999 }), "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"],
    ["period above 1s", () => withCpu({ period: 1_000_001 }), "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"],
    ["quota below 1ms", () => withCpu({ quota: 999 }), "CPU cfs quota can not be less than 1ms (i.e. 1000)"],
    ["bad cpuset cpus", () => withCpu({ cpusetCpus: "0-" }), "Invalid value 0- for cpuset cpus: invalid format: 0-"],
    ["reversed cpuset range", () => withCpu({ cpusetCpus: "3-1" }), "Invalid value 3-1 for cpuset cpus: invalid format: 3-1"],
    ["bad cpuset mems", () => withCpu({ cpusetMems: "a" }), "Invalid value a for cpuset mems: invalid format: a"],
    ["fractional quota", () => withCpu({ quota: 1000.5 }), "CPU quota must be an integer, got 1000.5"],
  ];
  for (const [name, fn, message] of errors) {
    it(`refuses ${name}`, () => assertInvalid(fn, message));
  }
});

describe("withPidsLimit", () => {
  const cases: Array<[number, number]> = [
    [100, 100],
    [0, -1],
    [-5, -1],
  ];
  for (const [input, want] of cases) {
    it(`${input} → ${want}`, () => assert.deepEqual(build(withPidsLimit(input)).linux?.resources?.pids, { limit: want }));
  }
  it("refuses a fraction", () => assertInvalid(() => withPidsLimit(1.5), "pids limit must be an integer, got 1.5"));
});

describe("withReadonlyRootfs / withRootfsPath / withCgroupsPath", () => {
  it("read-only rootfs", () => {
    assert.deepEqual(build(withReadonlyRootfs()).root, { path: "rootfs", readonly: true });
    assert.deepEqual(build(withReadonlyRootfs(), withReadonlyRootfs(false)).root, { path: "rootfs" });
  });

  it("does not touch the default mounts (their ro options are dockerd's already)", () => {
    assert.deepEqual(build(withReadonlyRootfs()).mounts, defaultSpec().mounts);
  });

  it("rootfs path keeps readonly", () => {
    assert.deepEqual(build(withReadonlyRootfs(), withRootfsPath("/var/lib/berth/c1/rootfs")).root, {
      path: "/var/lib/berth/c1/rootfs",
      readonly: true,
    });
  });

  it("refuses a relative rootfs path", () => {
    assertInvalid(() => withRootfsPath("rootfs"), 'rootfs path must be absolute, got "rootfs"');
  });

  it("cgroups path", () => {
    assert.equal(build(withCgroupsPath("/berth/abc")).linux?.cgroupsPath, "/berth/abc");
    assertInvalid(() => withCgroupsPath(""), "cgroups path must not be empty");
  });
});

describe("withShmSize", () => {
  const shmOptions = (s: Spec) => mountAt(s, "/dev/shm")?.options;
  it("replaces the size on the default /dev/shm", () => {
    assert.deepEqual(shmOptions(build(withShmSize(128 * 1024 * 1024))), ["nosuid", "noexec", "nodev", "mode=1777", "size=134217728"]);
  });
  it("0 means dockerd's 64MiB", () => {
    assert.deepEqual(shmOptions(build(withShmSize(0))), ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]);
  });
  it("leaves a container's own /dev/shm mount alone", () => {
    const s = build(withTmpfs({ "/dev/shm": "size=1m" }), withShmSize(1 << 30));
    assert.deepEqual(mountAt(s, "/dev/shm"), {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "tmpfs",
      options: ["noexec", "nosuid", "nodev", "rprivate", "size=1m"],
    });
  });
  it("refuses a negative size", () => assertInvalid(() => withShmSize(-1), "SHM size can not be less than 0"));
});

describe("mergeTmpfsOptions", () => {
  const cases: Array<[string, string[], string[]]> = [
    ["defaults only", ["noexec", "nosuid", "nodev", "rprivate"], ["noexec", "nosuid", "nodev", "rprivate"]],
    ["exec overrides noexec, keeping later order", ["noexec", "nosuid", "nodev", "rprivate", "exec"], ["nosuid", "nodev", "rprivate", "exec"]],
    ["one propagation mode", ["rprivate", "shared"], ["shared"]],
    ["later data wins", ["size=1m", "mode=700", "size=2m"], ["mode=700", "size=2m"]],
    ["defaults is dropped", ["defaults", "ro"], ["ro"]],
    ["all data keys", ["size=1", "mode=1", "uid=1", "gid=1", "nr_inodes=1", "nr_blocks=1", "mpol=default"], ["size=1", "mode=1", "uid=1", "gid=1", "nr_inodes=1", "nr_blocks=1", "mpol=default"]],
  ];
  for (const [name, input, want] of cases) {
    it(name, () => assert.deepEqual(mergeTmpfsOptions(input), want));
  }

  const errors: Array<[string[], string]> = [
    [["foo"], 'Invalid tmpfs option ["foo"]'],
    [["bogus=1"], 'Invalid tmpfs option ["bogus" "1"]'],
    [[""], 'Invalid tmpfs option [""]'],
  ];
  for (const [input, message] of errors) {
    it(`refuses ${JSON.stringify(input)}`, () => assertInvalid(() => mergeTmpfsOptions(input), message));
  }
});

describe("withTmpfs", () => {
  it("adds tmpfs mounts with docker's default options", () => {
    const s = build(withTmpfs({ "/run": "", "/tmp": "size=64m,exec" }));
    assert.deepEqual(s.mounts?.slice(7), [
      { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["noexec", "nosuid", "nodev", "rprivate"] },
      { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "rprivate", "size=64m", "exec"] },
    ]);
  });

  it("a tmpfs at /dev replaces the default /dev and everything under it", () => {
    const s = build(withTmpfs({ "/dev": "" }));
    assert.deepEqual(mountsOf(s), ["/proc", "/sys", "/sys/fs/cgroup", "/dev"]);
  });

  it("a tmpfs at a default destination replaces that default only", () => {
    assert.deepEqual(mountsOf(build(withTmpfs({ "/dev/shm": "" }))), ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]);
    assert.equal(mountAt(build(withTmpfs({ "/dev/shm": "" })), "/dev/shm")?.source, "tmpfs");
  });

  const errors: Array<[Record<string, string>, string]> = [
    [{ "/": "" }, "invalid specification: destination can't be '/'"],
    [{ "//": "" }, "invalid specification: destination can't be '/'"],
    [{ tmp: "" }, "invalid mount path: 'tmp' mount path must be absolute"],
    [{ "/tmp": "nosuchopt" }, 'Invalid tmpfs option ["nosuchopt"]'],
  ];
  for (const [input, message] of errors) {
    it(`refuses ${JSON.stringify(input)}`, () => assertInvalid(() => withTmpfs(input), message));
  }
});

describe("parseBind", () => {
  const cases: Array<[string, ReturnType<typeof parseBind>]> = [
    ["/src:/dst", { source: "/src", destination: "/dst", readonly: false, propagation: "rprivate" }],
    ["/src:/dst:ro", { source: "/src", destination: "/dst", readonly: true, propagation: "rprivate" }],
    ["/src:/dst:rw", { source: "/src", destination: "/dst", readonly: false, propagation: "rprivate" }],
    ["/src/:/dst/../x/:ro,z", { source: "/src", destination: "/x", readonly: true, propagation: "rprivate" }],
    ["/src:/dst:Z", { source: "/src", destination: "/dst", readonly: false, propagation: "rprivate" }],
    ["/src:/dst:rslave", { source: "/src", destination: "/dst", readonly: false, propagation: "rslave" }],
    ["/src:/dst:ro,shared,cached", { source: "/src", destination: "/dst", readonly: true, propagation: "shared" }],
  ];
  for (const [raw, want] of cases) {
    it(raw, () => assert.deepEqual(parseBind(raw), want));
  }

  const errors: Array<[string, string]> = [
    ["/a:/b:ro:x", "invalid volume specification: '/a:/b:ro:x'"],
    [":/b", "invalid volume specification: ':/b'"],
    ["/b", "invalid volume specification: '/b': anonymous volumes are not bind mounts"],
    ["/b:rw", "invalid volume specification: '/b:rw'"],
    ["/a:/b:rx", "invalid mode: rx"],
    ["/a:/b:ro,rw", "invalid mode: ro,rw"],
    ["/a:/b:z,Z", "invalid mode: z,Z"],
    ["/a:/b:shared,slave", "invalid mode: shared,slave"],
    ["/a:/", `invalid volume specification: '/a:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`],
    ["/a:b", `invalid volume specification: '/a:b': invalid mount config for type "bind": invalid mount path: 'b' mount path must be absolute`],
    ["/a:/b:nocopy", `invalid volume specification: '/a:/b:nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified`],
    ["data:/b", `invalid volume specification: 'data:/b': invalid mount config for type "bind": invalid mount path: 'data' mount path must be absolute`],
    ["./data:/b", `invalid volume specification: './data:/b': invalid mount config for type "bind": invalid mount path: './data' mount path must be absolute`],
  ];
  for (const [raw, message] of errors) {
    it(`refuses ${raw}`, () => assertInvalid(() => parseBind(raw), message));
  }
});

describe("withBinds", () => {
  it("writes rbind, ro and propagation as dockerd", () => {
    const s = build(withBinds(["/srv/data:/data", "/etc/app:/etc/app:ro"], allExist));
    assert.deepEqual(s.mounts?.slice(7), [
      { destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "rprivate"] },
      { destination: "/etc/app", type: "bind", source: "/etc/app", options: ["rbind", "ro", "rprivate"] },
    ]);
    assert.equal(s.linux?.rootfsPropagation, undefined);
  });

  it("orders container mounts parents first, after the defaults", () => {
    const s = build(withBinds(["/h/deep:/a/b/c", "/h/top:/a"], allExist), withTmpfs({ "/a/b": "" }));
    assert.deepEqual(mountsOf(s), [...DEFAULT_MOUNT_DESTINATIONS, "/a", "/a/b", "/a/b/c"]);
  });

  it("a bind at a default destination replaces the default", () => {
    const s = build(withBinds(["/host/proc-ish:/proc:ro"], allExist));
    assert.deepEqual(mountsOf(s), [...DEFAULT_MOUNT_DESTINATIONS.slice(1), "/proc"]);
    assert.deepEqual(mountAt(s, "/proc"), { destination: "/proc", type: "bind", source: "/host/proc-ish", options: ["rbind", "ro", "rprivate"] });
  });

  it("a later mount at the same destination replaces an earlier one", () => {
    const s = build(withBinds(["/one:/data"], allExist), withTmpfs({ "/data": "" }));
    assert.equal(mountAt(s, "/data")?.type, "tmpfs");
    assert.equal(s.mounts?.filter((m) => m.destination === "/data").length, 1);
  });

  it("shared propagation makes the rootfs shared; slave makes it rslave unless already shared", () => {
    assert.equal(build(withBinds(["/a:/a:shared"], allExist)).linux?.rootfsPropagation, "shared");
    assert.equal(build(withBinds(["/a:/a:rslave"], allExist)).linux?.rootfsPropagation, "rslave");
    assert.equal(build(withBinds(["/a:/a:rshared", "/b:/b:slave"], allExist)).linux?.rootfsPropagation, "shared");
    assert.equal(build(withBinds(["/a:/a:private"], allExist)).linux?.rootfsPropagation, undefined);
  });

  it("asks the injected exists() about each cleaned source", () => {
    const asked: string[] = [];
    withBinds(["/a/:/x", "/b/../c:/y"], { exists: (p) => (asked.push(p), true) });
    assert.deepEqual(asked, ["/a", "/c"]);
  });

  it("refuses a missing source, naming it", () => {
    assertInvalid(
      () => withBinds(["/nope:/data"], { exists: (p) => p !== "/nope" }),
      `invalid volume specification: '/nope:/data': invalid mount config for type "bind": bind source path does not exist: /nope`,
    );
  });

  it("refuses a relative source", () => {
    assertInvalid(
      () => withBinds(["rel:/data"], allExist),
      `invalid volume specification: 'rel:/data': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`,
    );
  });

  it("refuses two binds at one destination", () => {
    assertInvalid(() => withBinds(["/a:/data", "/b:/data/"], allExist), "Duplicate mount point: /data");
  });
});

describe("withHostsAndResolvConf", () => {
  const files = { resolvConf: "/c/resolv.conf", hostname: "/c/hostname", hosts: "/c/hosts" };
  const want = (ro: boolean) =>
    [
      ["/etc/resolv.conf", "/c/resolv.conf"],
      ["/etc/hostname", "/c/hostname"],
      ["/etc/hosts", "/c/hosts"],
    ].map(([destination, source]) => ({
      destination,
      type: "bind",
      source,
      options: ro ? ["rbind", "ro", "rprivate"] : ["rbind", "rprivate"],
    }));

  it("binds the three files writable, in dockerd's order", () => {
    assert.deepEqual(build(withHostsAndResolvConf(files)).mounts?.slice(7), want(false));
  });

  it("read-only when the rootfs is read-only", () => {
    assert.deepEqual(build(withReadonlyRootfs(), withHostsAndResolvConf(files)).mounts?.slice(7), want(true));
    assert.deepEqual(build(withHostsAndResolvConf(files, { readonly: true })).mounts?.slice(7), want(true));
  });

  it("skips files not given", () => {
    assert.deepEqual(mountsOf(build(withHostsAndResolvConf({ hosts: "/c/hosts" }))), [...DEFAULT_MOUNT_DESTINATIONS, "/etc/hosts"]);
  });

  it("sorts with other container mounts by depth", () => {
    const s = build(withHostsAndResolvConf({ hosts: "/c/hosts" }), withBinds(["/e:/etc"], allExist));
    assert.deepEqual(mountsOf(s).slice(7), ["/etc", "/etc/hosts"]);
  });

  it("refuses a relative host path", () => {
    assertInvalid(() => withHostsAndResolvConf({ hosts: "hosts" }), '/etc/hosts source must be an absolute host path, got "hosts"');
  });
});

describe("withNetworkMode", () => {
  const netns = (s: Spec) => s.linux?.namespaces?.filter((n) => n.type === "network");
  const dockerSysctls = { "net.ipv4.ping_group_range": "0 2147483647", "net.ipv4.ip_unprivileged_port_start": "0" };

  for (const mode of ["bridge", "default", "", "none", "my-network"]) {
    it(`${JSON.stringify(mode)}: own network namespace with dockerd's sysctls`, () => {
      const s = build(withNetworkMode(mode));
      assert.deepEqual(netns(s), [{ type: "network" }]);
      assert.deepEqual(s.linux?.sysctl, dockerSysctls);
    });
  }

  it("host: no network namespace and no net sysctls", () => {
    const s = build(withNetworkMode("host"));
    assert.deepEqual(netns(s), []);
    assert.deepEqual(
      s.linux?.namespaces?.map((n) => n.type),
      ["mount", "uts", "pid", "ipc"],
    );
    assert.equal(s.linux?.sysctl, undefined);
  });

  it("bridge then host removes what bridge added", () => {
    const s = build(withNetworkMode("bridge"), withNetworkMode("host"));
    assert.deepEqual(netns(s), []);
    assert.equal(s.linux?.sysctl, undefined);
  });

  it("keeps a sysctl the user set", () => {
    const s = build(withDomainname("d"), (spec) => {
      spec.linux!.sysctl!["net.ipv4.ip_unprivileged_port_start"] = "1024";
    }, withNetworkMode("bridge"), withNetworkMode("host"));
    assert.deepEqual(s.linux?.sysctl, { "kernel.domainname": "d", "net.ipv4.ip_unprivileged_port_start": "1024" });
  });

  it("joins a given namespace path", () => {
    const s = build(withNetworkMode("bridge", { netnsPath: "/var/run/netns/cni-1" }));
    assert.deepEqual(netns(s), [{ type: "network", path: "/var/run/netns/cni-1" }]);
  });

  it("container:<id> joins that namespace without setting sysctls", () => {
    const s = build(withNetworkMode("container:abc", { netnsPath: "/proc/42/ns/net" }));
    assert.deepEqual(netns(s), [{ type: "network", path: "/proc/42/ns/net" }]);
    assert.equal(s.linux?.sysctl, undefined);
  });

  it("skips sysctls the host lacks", () => {
    const s = build(withNetworkMode("bridge", { sysctlAvailable: (n) => n !== "net.ipv4.ping_group_range" }));
    assert.deepEqual(s.linux?.sysctl, { "net.ipv4.ip_unprivileged_port_start": "0" });
  });

  const errors: Array<[string, () => unknown, string]> = [
    ["container mode without a path", () => withNetworkMode("container:abc"), 'network mode "container:abc" needs the network namespace path of that container'],
    ["host with a path", () => withNetworkMode("host", { netnsPath: "/proc/1/ns/net" }), 'network mode "host" takes no network namespace path'],
    ["a relative path", () => withNetworkMode("bridge", { netnsPath: "netns" }), 'network namespace path must be absolute, got "netns"'],
  ];
  for (const [name, fn, message] of errors) {
    it(`refuses ${name}`, () => assertInvalid(fn, message));
  }
});

describe("a docker run, composed", () => {
  it("docker run --user 1000 --cap-drop ALL --cap-add NET_BIND_SERVICE --read-only --tmpfs /tmp -v /srv:/srv:ro", () => {
    const s = build(
      withArgs(["nginx", "-g", "daemon off;"]),
      withEnv(["PATH=/usr/local/nginx/bin:/usr/bin:/bin", "NGINX_VERSION=1.25"]),
      withCwd("/srv"),
      withHostname("0123456789ab"),
      withUser({ uid: 1000, gid: 1000, additionalGids: [1000] }),
      withCapabilities({ add: ["NET_BIND_SERVICE"], drop: ["ALL"] }),
      withReadonlyRootfs(),
      withTmpfs({ "/tmp": "" }),
      withBinds(["/srv:/srv:ro"], allExist),
      withHostsAndResolvConf({ hosts: "/c/hosts", resolvConf: "/c/resolv.conf", hostname: "/c/hostname" }),
      withNetworkMode("bridge", { netnsPath: "/var/run/netns/x" }),
      withCgroupsPath("/berth/0123456789ab"),
      withSecurityOpts(["no-new-privileges"]),
      withMemoryLimit(64 * 1024 * 1024),
      withPidsLimit(64),
    );
    assert.deepEqual(s.process, {
      user: { uid: 1000, gid: 1000, additionalGids: [1000] },
      env: ["PATH=/usr/local/nginx/bin:/usr/bin:/bin", "NGINX_VERSION=1.25", "HOSTNAME=0123456789ab"],
      cwd: "/srv",
      capabilities: { bounding: ["CAP_NET_BIND_SERVICE"] },
      args: ["nginx", "-g", "daemon off;"],
      noNewPrivileges: true,
    });
    assert.deepEqual(s.root, { path: "rootfs", readonly: true });
    assert.deepEqual(mountsOf(s), [...DEFAULT_MOUNT_DESTINATIONS, "/tmp", "/srv", "/etc/resolv.conf", "/etc/hostname", "/etc/hosts"]);
    assert.deepEqual(mountAt(s, "/etc/hosts")?.options, ["rbind", "ro", "rprivate"]);
    assert.deepEqual(s.linux?.resources, {
      devices: defaultSpec().linux?.resources?.devices,
      memory: { limit: 67108864, swap: 134217728 },
      pids: { limit: 64 },
    });
    assert.equal(s.linux?.cgroupsPath, "/berth/0123456789ab");
    // The spec is plain JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });
});
