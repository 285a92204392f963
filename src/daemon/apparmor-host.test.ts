import assert from "node:assert/strict";
import { test } from "node:test";
import { appArmorHost, appArmorParser, ensureDefaultAppArmorProfile, parseLoadedProfiles, type AppArmorProbe } from "./apparmor-host.js";

function probe(files: Record<string, string>): AppArmorProbe {
  return { readFile: (f) => files[f], exists: (f) => f in files };
}

const ENABLED = {
  "/sys/module/apparmor/parameters/enabled": "Y\n",
  "/sbin/apparmor_parser": "",
  "/sys/kernel/security/apparmor/profiles": "docker-default (enforce)\n/usr/bin/man (complain)\n",
};

test("AppArmor is enabled only with the kernel switch on and apparmor_parser present", () => {
  assert.equal(appArmorParser(probe({})), undefined);
  assert.equal(appArmorParser(probe({ "/sys/module/apparmor/parameters/enabled": "N\n", "/sbin/apparmor_parser": "" })), undefined);
  assert.equal(appArmorParser(probe({ "/sys/module/apparmor/parameters/enabled": "Y\n" })), undefined);
  assert.equal(appArmorParser(probe(ENABLED)), "/sbin/apparmor_parser");
  assert.deepEqual(appArmorHost(probe({})), { enabled: false });
  const h = appArmorHost(probe(ENABLED));
  assert.equal(h.enabled, true);
  assert.equal(h.isLoaded?.("docker-default"), true);
  assert.equal(h.isLoaded?.("/usr/bin/man"), true);
  assert.equal(h.isLoaded?.("other"), false);
});

test("loaded profiles are parsed from the kernel's list", () => {
  assert.deepEqual([...parseLoadedProfiles("a (enforce)\nb c (complain)\n\nbad line\n")], ["a", "b c"]);
});

test("the default profile is loaded with apparmor_parser -Kr where AppArmor is enabled, and not otherwise", async () => {
  const calls: { cmd: string; args: string[]; text: string }[] = [];
  const run = async (cmd: string, args: string[]) => {
    const { readFile } = await import("node:fs/promises");
    calls.push({ cmd, args, text: await readFile(args[1]!, "utf8") });
  };
  assert.deepEqual(await ensureDefaultAppArmorProfile({ probe: probe({}), run }), { enabled: false });
  assert.equal(calls.length, 0);
  const host = await ensureDefaultAppArmorProfile({ probe: probe(ENABLED), run });
  assert.equal(host.enabled, true);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.cmd, "/sbin/apparmor_parser");
  assert.equal(calls[0]!.args[0], "-Kr");
  assert.match(calls[0]!.text, /^profile docker-default flags=/m);
  await assert.rejects(ensureDefaultAppArmorProfile({ probe: probe(ENABLED), run: async () => { throw new Error("parser said no"); } }), /loading the AppArmor profile docker-default failed: parser said no/);
});
