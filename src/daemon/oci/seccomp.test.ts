import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { isInvalidArgument } from "../../base/errors.js";
import type { LinuxSeccomp, Spec } from "../../containerd/oci/spec-types.js";
import { DEFAULT_CAPABILITIES } from "./default-spec.js";
import { buildSpec, withCapabilities, withSecurityOpts } from "./index.js";
import {
  defaultSeccompProfile,
  evaluateSeccompProfile,
  loadDaemonSeccomp,
  parseKernelRelease,
  seccompOptOf,
  seccompSecurityOption,
  withSeccomp,
  type SeccompHost,
} from "./seccomp.js";
import { decodeSeccompProfile, parseSeccompProfile } from "./seccomp-profile.js";
import { DEFAULT_SECCOMP_PROFILE } from "./seccomp-default-profile.js";

const AMD64: SeccompHost = { arch: "amd64", kernelRelease: "6.18.44-fc-v1300" };
const ALL_CAPS_SET = [...DEFAULT_CAPABILITIES];

/** What dockerd 20.10.24 wrote into config.json on an amd64 host with kernel 6.18. */
function golden(name: string): { bounding: string[]; seccomp: LinuxSeccomp } {
  return JSON.parse(readFileSync(new URL(`./testdata/seccomp-dockerd-${name}.json`, import.meta.url), "utf8"));
}

function allowed(f: LinuxSeccomp | undefined): Set<string> {
  const out = new Set<string>();
  for (const s of f?.syscalls ?? []) if (s.action === "SCMP_ACT_ALLOW" && !s.args) for (const n of s.names) out.add(n);
  return out;
}

const evalDefault = (caps: readonly string[], host = AMD64) => evaluateSeccompProfile(defaultSeccompProfile(), caps, host);

function specWith(opts: { securityOpt?: string[]; add?: string[]; drop?: string[]; privileged?: boolean }, host = AMD64): Spec {
  return buildSpec([
    withCapabilities({ add: opts.add ?? [], drop: opts.drop ?? [] }),
    withSecurityOpts(opts.securityOpt ?? []),
    withSeccomp({ securityOpt: opts.securityOpt ?? [], privileged: opts.privileged ?? false, host }),
  ]);
}

function assertInvalid(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => isInvalidArgument(e) && re.test((e as Error).message));
}

describe("the generated default profile", () => {
  it("is dockerd 20.10's: errno by default, an archMap, hundreds of allowed calls", () => {
    const p = defaultSeccompProfile();
    assert.equal(DEFAULT_SECCOMP_PROFILE.defaultAction, "SCMP_ACT_ERRNO");
    assert.equal(p.archMap.length, 7);
    assert.ok(p.syscalls[0]!.names.length > 300);
    assert.ok(p.syscalls[0]!.names.includes("read"));
    assert.ok(!p.syscalls[0]!.names.includes("unshare"));
  });
});

describe("evaluateSeccompProfile equals dockerd 20.10's config.json", () => {
  for (const name of ["default", "sysadmin", "ptrace-dropall"]) {
    it(`${name}`, () => {
      const g = golden(name);
      assert.deepEqual(evalDefault(g.bounding), g.seccomp);
    });
  }
});

describe("evaluateSeccompProfile conditions", () => {
  it("CAP_SYS_ADMIN adds the mount/unshare/setns group and drops the clone flag filter", () => {
    const plain = evalDefault(ALL_CAPS_SET);
    const admin = evalDefault([...ALL_CAPS_SET, "CAP_SYS_ADMIN"]);
    for (const call of ["unshare", "mount", "setns", "bpf", "umount2"]) {
      assert.ok(!allowed(plain).has(call), call);
      assert.ok(allowed(admin).has(call), call);
    }
    // Without the capability clone is allowed only without namespace flags (arg 0, masked).
    const clone = plain!.syscalls!.find((s) => s.names.includes("clone") && s.args);
    assert.deepEqual(clone?.args, [{ index: 0, value: 2114060288, op: "SCMP_CMP_MASKED_EQ" }]);
    assert.equal(admin!.syscalls!.find((s) => s.names.includes("clone") && s.args), undefined);
  });

  it("clone3 fails with ENOSYS (errnoRet 38) unless CAP_SYS_ADMIN, so glibc falls back to clone", () => {
    const c3 = evalDefault(ALL_CAPS_SET)!.syscalls!.find((s) => s.names.length === 1 && s.names[0] === "clone3");
    assert.deepEqual(c3, { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 });
    assert.ok(allowed(evalDefault([...ALL_CAPS_SET, "CAP_SYS_ADMIN"])).has("clone3"));
    // On mips the ENOSYS number differs (89) and the first group does not apply.
    const mips = evalDefault(ALL_CAPS_SET, { arch: "mips64", kernelRelease: "5.10" });
    assert.deepEqual(mips!.syscalls!.find((s) => s.names[0] === "clone3" && s.action === "SCMP_ACT_ERRNO")?.errnoRet, 89);
  });

  it("each capability group follows its capability", () => {
    const pairs: Array<[string, string]> = [
      ["CAP_SYS_PTRACE", "kcmp"], ["CAP_SYS_PTRACE", "process_vm_readv"], ["CAP_SYS_BOOT", "reboot"],
      ["CAP_SYS_MODULE", "init_module"], ["CAP_SYS_TIME", "settimeofday"], ["CAP_SYSLOG", "syslog"],
      ["CAP_SYS_NICE", "mbind"], ["CAP_DAC_READ_SEARCH", "open_by_handle_at"], ["CAP_SYS_RAWIO", "iopl"],
    ];
    for (const [cap, call] of pairs) {
      assert.ok(!allowed(evalDefault(ALL_CAPS_SET)).has(call), `${call} without ${cap}`);
      assert.ok(allowed(evalDefault([...ALL_CAPS_SET, cap])).has(call), `${call} with ${cap}`);
    }
    // chroot is in docker's default set; dropping CAP_SYS_CHROOT removes it.
    assert.ok(allowed(evalDefault(ALL_CAPS_SET)).has("chroot"));
    assert.ok(!allowed(evalDefault(ALL_CAPS_SET.filter((c) => c !== "CAP_SYS_CHROOT"))).has("chroot"));
  });

  it("ptrace is allowed from kernel 4.8 on (seccomp could be bypassed with it before)", () => {
    assert.ok(allowed(evalDefault(ALL_CAPS_SET, { arch: "amd64", kernelRelease: "4.8.0" })).has("ptrace"));
    assert.ok(allowed(evalDefault(ALL_CAPS_SET, { arch: "amd64", kernelRelease: "4.19.0-1-amd64" })).has("ptrace"));
    assert.ok(!allowed(evalDefault(ALL_CAPS_SET, { arch: "amd64", kernelRelease: "4.4.0-generic" })).has("ptrace"));
    assert.ok(!allowed(evalDefault(ALL_CAPS_SET, { arch: "amd64", kernelRelease: "3.99" })).has("ptrace"));
  });

  it("maps the host architecture to archMap's entry and its arch-only groups", () => {
    const arm = evalDefault(ALL_CAPS_SET, { arch: "arm64", kernelRelease: "5.10" })!;
    assert.deepEqual(arm.architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
    assert.ok(allowed(arm).has("arm_fadvise64_64"));
    assert.ok(!allowed(arm).has("arch_prctl"));
    const x86 = evalDefault(ALL_CAPS_SET)!;
    assert.deepEqual(x86.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    assert.ok(allowed(x86).has("arch_prctl") && allowed(x86).has("modify_ldt"));
    assert.ok(!allowed(x86).has("arm_fadvise64_64"));
    const s390 = evalDefault(ALL_CAPS_SET, { arch: "s390x", kernelRelease: "5.10" })!;
    assert.deepEqual(s390.architectures, ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]);
    assert.deepEqual(s390.syscalls!.find((s) => s.names[0] === "clone" && s.args)?.args?.[0]?.index, 1);
    // An architecture moby has no name for: no architectures, no arch-only groups.
    const riscv = evalDefault(ALL_CAPS_SET, { arch: "", kernelRelease: "6.1" })!;
    assert.equal(riscv.architectures, undefined);
    assert.ok(!allowed(riscv).has("arch_prctl"));
    // ppc64le has no archMap entry in 20.10's profile but its own group.
    const ppc = evalDefault(ALL_CAPS_SET, { arch: "ppc64le", kernelRelease: "6.1" })!;
    assert.equal(ppc.architectures, undefined);
    assert.ok(allowed(ppc).has("sync_file_range2"));
  });

  it("a profile with neither defaultAction nor syscalls gives no filter", () => {
    assert.equal(evaluateSeccompProfile(parseSeccompProfile("{}"), [], AMD64), undefined);
    assert.equal(evaluateSeccompProfile(parseSeccompProfile("null"), [], AMD64), undefined);
  });

  it("parses kernel releases as moby does", () => {
    assert.deepEqual(parseKernelRelease("3.12.25-gentoo"), { kernel: 3, major: 12 });
    assert.deepEqual(parseKernelRelease("3.12-1-amd64"), { kernel: 3, major: 12 });
    assert.throws(() => parseKernelRelease("abc"));
  });
});

describe("custom profiles (docker format)", () => {
  const custom = JSON.stringify({
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [
      { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 },
      { name: "chmod", action: "SCMP_ACT_ERRNO", includes: { caps: ["CAP_SYS_ADMIN"] } },
      { names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 8, valueTwo: 0, op: "SCMP_CMP_EQ" }], comment: "x" },
    ],
  });

  it("evaluates conditions, keeps errnoRet and args, takes name for names", () => {
    const f = evaluateSeccompProfile(parseSeccompProfile(custom), ALL_CAPS_SET, AMD64);
    assert.deepEqual(f, {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 },
        { names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
      ],
    });
    const admin = evaluateSeccompProfile(parseSeccompProfile(custom), ["CAP_SYS_ADMIN"], AMD64)!;
    assert.deepEqual(admin.syscalls![1], { names: ["chmod"], action: "SCMP_ACT_ERRNO" });
  });

  it("matches keys case-insensitively and ignores unknown ones, as Go's json does", () => {
    const p = parseSeccompProfile('{"DefaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":1,"flags":["x"],"SYSCALLS":[{"Names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}');
    assert.deepEqual(evaluateSeccompProfile(p, [], AMD64), { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] });
  });

  it("'name' with 'names' is refused only in a group that applies, as in dockerd", () => {
    const p = parseSeccompProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ERRNO","includes":{"caps":["CAP_SYS_ADMIN"]}}]}');
    assert.deepEqual(evaluateSeccompProfile(p, [], AMD64), { defaultAction: "SCMP_ACT_ALLOW" });
    assertInvalid(() => evaluateSeccompProfile(p, ["CAP_SYS_ADMIN"], AMD64), /^'name' and 'names' were specified/);
    // Neither an action nor syscalls: no filter, and no further checks.
    assert.equal(evaluateSeccompProfile(parseSeccompProfile('{"architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86"}]}'), [], AMD64), undefined);
  });

  it("the old format's architectures are kept as given", () => {
    const p = parseSeccompProfile('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"]}');
    assert.deepEqual(evaluateSeccompProfile(p, [], { arch: "arm64", kernelRelease: "5.4" })?.architectures, ["SCMP_ARCH_X86_64"]);
  });

  it("prototype-named keys are ordinary unknown keys", () => {
    const p = parseSeccompProfile('{"__proto__":{"defaultAction":"SCMP_ACT_KILL"},"constructor":1,"defaultAction":"SCMP_ACT_LOG"}');
    assert.equal(p.defaultAction, "SCMP_ACT_LOG");
  });

  const bad: Array<[string, RegExp]> = [
    ["{not json", /^Decoding seccomp profile failed: /],
    ['"str"', /expected an object/],
    ['{"defaultAction":1}', /defaultAction: expected a string/],
    ['{"defaultAction":"SCMP_ACT_NOPE"}', /unknown action "SCMP_ACT_NOPE"/],
    ['{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}', /^'architectures' and 'archMap' were specified/],
    ['{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]}', /unknown architecture "SCMP_ARCH_VAX"/],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[null]}', /syscalls\[0\]: expected an object/],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ERRNO","errnoRet":-1}]}', /errnoRet: expected an unsigned integer/],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"EQ"}]}]}', /unknown operator "EQ"/],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}', /index: 6 is not a syscall argument/],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}', /larger than berth can pass on exactly/],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4"}}]}', /invalid kernel version "4"/],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"0.0"}}]}', /version cannot be 0.0/],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","comment":5}]}', /comment: expected a string/],
    ['{"syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW"}]}', /defaultAction: missing/],
  ];
  for (const [text, re] of bad) {
    it(`refuses ${text.slice(0, 90)}`, () => assertInvalid(() => parseSeccompProfile(text), re));
  }

  it("decodes the typed default profile without a JSON round trip", () => {
    assert.deepEqual(decodeSeccompProfile(DEFAULT_SECCOMP_PROFILE), parseSeccompProfile(JSON.stringify(DEFAULT_SECCOMP_PROFILE)));
  });
});

describe("withSeccomp", () => {
  it("applies the default profile from the spec's bounding set after cap-add/cap-drop", () => {
    assert.deepEqual(specWith({}).linux?.seccomp, golden("default").seccomp);
    assert.deepEqual(specWith({ add: ["SYS_ADMIN"] }).linux?.seccomp, golden("sysadmin").seccomp);
    assert.deepEqual(specWith({ drop: ["ALL"], add: ["SYS_PTRACE"] }).linux?.seccomp, golden("ptrace-dropall").seccomp);
  });

  it("seccomp=unconfined and Privileged give no filter; the last seccomp option wins", () => {
    assert.equal(specWith({ securityOpt: ["seccomp=unconfined"] }).linux?.seccomp, undefined);
    assert.equal(specWith({ securityOpt: ["seccomp:unconfined"] }).linux?.seccomp, undefined);
    assert.equal(specWith({ privileged: true }).linux?.seccomp, undefined);
    // Privileged wins over a custom profile, as in dockerd.
    assert.equal(specWith({ privileged: true, securityOpt: ['seccomp={"defaultAction":"SCMP_ACT_LOG"}'] }).linux?.seccomp, undefined);
    assert.equal(specWith({ securityOpt: ["seccomp=unconfined", 'seccomp={"defaultAction":"SCMP_ACT_LOG"}'] }).linux?.seccomp?.defaultAction, "SCMP_ACT_LOG");
    assert.deepEqual(specWith({ securityOpt: ["seccomp=builtin"] }).linux?.seccomp, golden("default").seccomp);
    assert.deepEqual(seccompOptOf(["no-new-privileges", "seccomp=a=b", "label=disable"]), "a=b");
  });

  it("a custom profile replaces the default; a bad one fails at construction", () => {
    const s = specWith({ securityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}'] });
    assert.deepEqual(s.linux?.seccomp, { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] });
    assertInvalid(() => withSeccomp({ securityOpt: ["seccomp=/no/such/file.json"], privileged: false }), /^Decoding seccomp profile failed/);
  });

  it("uses the daemon's profile when the container names none, but not for seccomp=builtin", async () => {
    const daemon = await loadDaemonSeccomp("/etc/p.json", async () => '{"defaultAction":"SCMP_ACT_TRAP"}');
    const apply = (securityOpt: string[]) =>
      buildSpec([withSeccomp({ securityOpt, privileged: false, daemon, host: AMD64 })]).linux?.seccomp;
    assert.deepEqual(apply([]), { defaultAction: "SCMP_ACT_TRAP" });
    assert.equal(apply(["seccomp=builtin"])?.defaultAction, "SCMP_ACT_ERRNO");
    assert.equal(apply(["seccomp=unconfined"]), undefined);
    const off = await loadDaemonSeccomp("unconfined", async () => assert.fail("not read"));
    assert.equal(buildSpec([withSeccomp({ securityOpt: [], privileged: false, daemon: off, host: AMD64 })]).linux?.seccomp, undefined);
  });

  it("docker info names what applies, as dockerd 20.10 does", async () => {
    assert.equal(seccompSecurityOption(await loadDaemonSeccomp(undefined, async () => "")), "name=seccomp,profile=default");
    assert.equal(seccompSecurityOption(await loadDaemonSeccomp("/etc/p.json", async () => "{}")), "name=seccomp,profile=/etc/p.json");
    assert.equal(seccompSecurityOption(await loadDaemonSeccomp("unconfined", async () => "")), "name=seccomp,profile=unconfined");
    await assert.rejects(loadDaemonSeccomp("/nope.json", async () => { throw new Error("ENOENT"); }), /opening seccomp profile \(\/nope.json\) failed: ENOENT/);
    await assert.rejects(loadDaemonSeccomp("/bad.json", async () => "{"), /Decoding seccomp profile failed/);
  });
});
