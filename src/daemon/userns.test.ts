import assert from "node:assert/strict";
import { test } from "node:test";
import { isBerthError } from "../base/errors.js";
import {
  freeRangeStart, lookupName, mappingsOf, parseRemapFlag, parseSubIds, remappedRoot, resolveRemap, toContainer, toHost, type RemapHost,
} from "./userns.js";

test("subordinate id files: name:start:length lines, comments and bad lines skipped", () => {
  assert.deepEqual(parseSubIds("# c\nalice:100000:65536\nbad\nbob:x:1\ndockremap:165536:65536\n\n"), [
    { name: "alice", start: 100000, length: 65536 },
    { name: "dockremap", start: 165536, length: 65536 },
  ]);
});

test("mappings: one per range, container ids from 0 in file order; ids translate both ways", () => {
  const maps = mappingsOf([{ name: "u", start: 200000, length: 10 }, { name: "u", start: 100000, length: 5 }]);
  assert.deepEqual(maps, [{ containerID: 0, hostID: 200000, size: 10 }, { containerID: 10, hostID: 100000, size: 5 }]);
  assert.equal(toHost(maps, 0), 200000);
  assert.equal(toHost(maps, 12), 100002);
  assert.equal(toHost(maps, 15), -1);
  assert.equal(toContainer(maps, 100004), 14);
  assert.equal(toContainer(maps, 0), -1);
  assert.deepEqual(remappedRoot({ uids: maps, gids: [{ containerID: 0, hostID: 300000, size: 1 }] }), { uid: 200000, gid: 300000 });
});

test("--userns-remap values: default is dockremap; USER[:GROUP]", () => {
  assert.deepEqual(parseRemapFlag("default"), { user: "dockremap", group: "dockremap" });
  assert.deepEqual(parseRemapFlag("alice"), { user: "alice", group: "alice" });
  assert.deepEqual(parseRemapFlag("1000:staff"), { user: "1000", group: "staff" });
  for (const bad of ["", ":g", "a:", "a:b:c"]) assert.throws(() => parseRemapFlag(bad), (e: unknown) => isBerthError(e, "invalid-argument"));
});

test("a free range: the first 65536 ids from 100000 that no range uses", () => {
  assert.equal(freeRangeStart([]), 100000);
  assert.equal(freeRangeStart([{ name: "a", start: 100000, length: 65536 }]), 165536);
  assert.equal(freeRangeStart([{ name: "a", start: 300000, length: 10 }, { name: "b", start: 100000, length: 65536 }]), 165536);
  assert.equal(freeRangeStart([{ name: "a", start: 200000, length: 10 }, { name: "b", start: 100000, length: 65536 }]), 200010);
  assert.equal(freeRangeStart([{ name: "a", start: 500, length: 10 }]), 100000);
});

test("users and groups are found by name or number", () => {
  const passwd = "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
  assert.equal(lookupName(passwd, "alice"), "alice");
  assert.equal(lookupName(passwd, "1000"), "alice");
  assert.equal(lookupName(passwd, "bob"), undefined);
});

/** A host whose files change when useradd/usermod run. */
function fakeHost(files: Record<string, string>): RemapHost & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async readFile(f) { return files[f] ?? ""; },
    async run(cmd, args) {
      calls.push([cmd, ...args]);
      if (cmd === "useradd") {
        files["/etc/passwd"] += "dockremap:x:999:999::/nonexistent:/bin/false\n";
        files["/etc/group"] += "dockremap:x:999:\n";
      } else if (cmd === "usermod") {
        const v = args[args.indexOf("-v") + 1]!.split("-").map(Number);
        const w = args[args.indexOf("-w") + 1]!.split("-").map(Number);
        files["/etc/subuid"] += `dockremap:${v[0]}:${v[1]! - v[0]! + 1}\n`;
        files["/etc/subgid"] += `dockremap:${w[0]}:${w[1]! - w[0]! + 1}\n`;
      }
    },
  };
}

test("default: dockremap is created with useradd and given a free range with usermod, then mapped", async () => {
  const h = fakeHost({ "/etc/passwd": "root:x:0:0::/root:/bin/sh\n", "/etc/group": "root:x:0:\n", "/etc/subuid": "alice:100000:65536\n", "/etc/subgid": "" });
  const r = await resolveRemap("default", h);
  assert.deepEqual(h.calls, [["useradd", "-r", "-s", "/bin/false", "dockremap"], ["usermod", "-v", "165536-231071", "-w", "100000-165535", "dockremap"]]);
  assert.deepEqual(r.uids, [{ containerID: 0, hostID: 165536, size: 65536 }]);
  assert.deepEqual(r.gids, [{ containerID: 0, hostID: 100000, size: 65536 }]);
  // A second start finds everything in place.
  const again = await resolveRemap("default", h);
  assert.equal(h.calls.length, 2);
  assert.deepEqual(again.uids, r.uids);
});

test("a named user must exist and have ranges: berth creates nothing for it", async () => {
  const files = { "/etc/passwd": "alice:x:1000:1000::/:/bin/sh\n", "/etc/group": "alice:x:1000:\nstaff:x:50:\n", "/etc/subuid": "alice:200000:1000\n", "/etc/subgid": "staff:300000:1000\n" };
  const h = fakeHost({ ...files });
  const r = await resolveRemap("1000:staff", h);
  assert.deepEqual([r.user, r.group], ["alice", "staff"]);
  assert.deepEqual(r.gids, [{ containerID: 0, hostID: 300000, size: 1000 }]);
  await assert.rejects(resolveRemap("bob", h), /no user "bob"/);
  await assert.rejects(resolveRemap("alice", h), /no subgid ranges found for group "alice"/);
  assert.deepEqual(h.calls, []);
});
