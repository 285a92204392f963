import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Mount } from "../../containerd/oci/spec-types.js";
import { withReadonlyRootfs } from "./rootfs.js";
import { mergeTmpfsOptions, withHostsAndResolvConf, withMounts, withTmpfs } from "./mounts.js";
import { DEFAULT_MOUNT_DESTINATIONS, assertInvalid, build, mountsOf, mountAt } from "./testdata/spec-assert.js";

/** A resolved bind as the volumes layer hands it over: rbind, "ro" when asked, a propagation. */
const bind = (source: string, destination: string, ...mode: string[]): Mount => {
  const propagation = mode.find((m) => m !== "ro") ?? "rprivate";
  return { destination, type: "bind", source, options: ["rbind", ...(mode.includes("ro") ? ["ro"] : []), propagation] };
};

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

describe("withMounts", () => {
  it("places resolved binds after the defaults, as given", () => {
    const s = build(withMounts([bind("/srv/data", "/data"), bind("/etc/app", "/etc/app", "ro")]));
    assert.deepEqual(s.mounts?.slice(7), [
      { destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "rprivate"] },
      { destination: "/etc/app", type: "bind", source: "/etc/app", options: ["rbind", "ro", "rprivate"] },
    ]);
    assert.equal(s.linux?.rootfsPropagation, undefined);
  });

  it("orders container mounts parents first, after the defaults", () => {
    const s = build(withMounts([bind("/h/deep", "/a/b/c"), bind("/h/top", "/a")]), withTmpfs({ "/a/b": "" }));
    assert.deepEqual(mountsOf(s), [...DEFAULT_MOUNT_DESTINATIONS, "/a", "/a/b", "/a/b/c"]);
  });

  it("a bind at a default destination replaces the default", () => {
    const s = build(withMounts([bind("/host/proc-ish", "/proc", "ro")]));
    assert.deepEqual(mountsOf(s), [...DEFAULT_MOUNT_DESTINATIONS.slice(1), "/proc"]);
    assert.deepEqual(mountAt(s, "/proc"), { destination: "/proc", type: "bind", source: "/host/proc-ish", options: ["rbind", "ro", "rprivate"] });
  });

  it("a later mount at the same destination replaces an earlier one", () => {
    const s = build(withMounts([bind("/one", "/data")]), withTmpfs({ "/data": "" }));
    assert.equal(mountAt(s, "/data")?.type, "tmpfs");
    assert.equal(s.mounts?.filter((m) => m.destination === "/data").length, 1);
  });

  it("shared propagation makes the rootfs shared; slave makes it rslave unless already shared", () => {
    assert.equal(build(withMounts([bind("/a", "/a", "shared")])).linux?.rootfsPropagation, "shared");
    assert.equal(build(withMounts([bind("/a", "/a", "rslave")])).linux?.rootfsPropagation, "rslave");
    assert.equal(build(withMounts([bind("/a", "/a", "rshared"), bind("/b", "/b", "slave")])).linux?.rootfsPropagation, "shared");
    assert.equal(build(withMounts([bind("/a", "/a", "private")])).linux?.rootfsPropagation, undefined);
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
    const s = build(withHostsAndResolvConf({ hosts: "/c/hosts" }), withMounts([bind("/e", "/etc")]));
    assert.deepEqual(mountsOf(s).slice(7), ["/etc", "/etc/hosts"]);
  });

  it("refuses a relative host path", () => {
    assertInvalid(() => withHostsAndResolvConf({ hosts: "hosts" }), '/etc/hosts source must be an absolute host path, got "hosts"');
  });
});
