import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isBerthError } from "../../base/errors.js";
import { appArmorOptOf, appArmorProfileFor, renderDefaultAppArmorProfile, withAppArmor } from "./apparmor.js";
import { buildSpec } from "./spec-opt.js";

const OFF = { enabled: false };
const ON = { enabled: true, isLoaded: (n: string) => n === "my-profile" || n === "docker-default" };

function invalid(fn: () => unknown, re: RegExp) {
  assert.throws(fn, (e: unknown) => isBerthError(e, "invalid-argument") && re.test((e as Error).message));
}

describe("AppArmor spec field", () => {
  it("host without AppArmor: nothing applied, unconfined accepted, a named profile is a 400", () => {
    assert.equal(buildSpec([withAppArmor([], false, OFF)]).process?.apparmorProfile, undefined);
    assert.equal(buildSpec([withAppArmor(["apparmor=unconfined"], false, OFF)]).process?.apparmorProfile, undefined);
    assert.equal(buildSpec([withAppArmor([], true, OFF)]).process?.apparmorProfile, undefined);
    invalid(() => withAppArmor(["apparmor=docker-default"], false, OFF), /AppArmor is not enabled on this host/);
    invalid(() => withAppArmor(["apparmor:my-profile"], false, OFF), /apparmor=my-profile/);
  });

  it("host with AppArmor: docker-default by default, unconfined when privileged, the asked profile when loaded", () => {
    assert.equal(buildSpec([withAppArmor([], false, ON)]).process?.apparmorProfile, "docker-default");
    assert.equal(buildSpec([withAppArmor([], true, ON)]).process?.apparmorProfile, "unconfined");
    assert.equal(buildSpec([withAppArmor(["apparmor=unconfined"], false, ON)]).process?.apparmorProfile, "unconfined");
    assert.equal(buildSpec([withAppArmor(["apparmor=my-profile"], true, ON)]).process?.apparmorProfile, "my-profile");
    invalid(() => withAppArmor(["apparmor=nope"], false, ON), /no AppArmor profile of that name is loaded/);
  });

  it("the last apparmor option wins, both separators", () => {
    assert.equal(appArmorOptOf(["apparmor=a", "seccomp=unconfined", "apparmor:b"]), "b");
    assert.equal(appArmorOptOf(["no-new-privileges"]), undefined);
    assert.equal(appArmorProfileFor(["apparmor="], false, ON), "docker-default");
  });
});

describe("renderDefaultAppArmorProfile", () => {
  const text = renderDefaultAppArmorProfile("docker-default", { hasTunables: true, hasAbstractionsBase: true });
  it("is a profile of that name with dockerd's flags and includes", () => {
    assert.match(text, /^#include <tunables\/global>$/m);
    assert.match(text, /^profile docker-default flags=\(attach_disconnected,mediate_deleted\) \{$/m);
    assert.match(text, /^  #include <abstractions\/base>$/m);
    assert.match(text, /^\}$/m);
  });
  it("denies mount, /proc and /sys writes, sysrq, kcore, firmware and the LSM interface", () => {
    for (const rule of [
      "deny mount,", "deny @{PROC}/* w,", "deny @{PROC}/sys/[^k]** w,", "deny @{PROC}/sysrq-trigger rwklx,",
      "deny @{PROC}/kcore rwklx,", "deny /sys/firmware/** rwklx,", "deny /sys/kernel/security/** rwklx,",
      "deny /sys/fs/cg[^r]*/** wklx,",
    ]) assert.ok(text.includes(`  ${rule}\n`), rule);
  });
  it("names itself as the peer of signal and ptrace rules", () => {
    assert.match(text, /^  signal \(send,receive\) peer=docker-default,$/m);
    assert.match(text, /^  ptrace \(trace,read,tracedby,readby\) peer=docker-default,$/m);
  });
  it("leaves out includes the host lacks", () => {
    const bare = renderDefaultAppArmorProfile("x", { hasTunables: false, hasAbstractionsBase: false });
    assert.doesNotMatch(bare, /#include/);
    assert.match(bare, /^profile x /m);
  });
});
