import assert from "node:assert/strict";
import { test } from "node:test";

import { isInvalidArgument } from "../base/errors.js";
import { convertTmpfsOptions, parseMountFlag, parseMountSpec, parseVolumeSpec, type MountSpec } from "./mount-spec.js";

const everywhere = { exists: () => true };
const nowhere = { exists: () => false };

function throwsInvalid(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isInvalidArgument(e), `expected invalid-argument, got ${String(e)}`);
    if (typeof message === "string") assert.equal((e as Error).message, message);
    else assert.match((e as Error).message, message);
    return true;
  });
}

// moby volume/mounts/linux_parser_test.go TestLinuxParseMountRaw: the valid list.
test("-v: every form dockerd accepts parses", () => {
  for (const raw of [
    "/home",
    "/home:/home",
    "/home:/something/else",
    "/with space",
    "/home:/with space",
    "relative:/absolute-path",
    "hostPath:/containerPath:ro",
    "/hostPath:/containerPath:rw",
    "/rw:/ro",
    "/hostPath:/containerPath:shared",
    "/hostPath:/containerPath:rshared",
    "/hostPath:/containerPath:slave",
    "/hostPath:/containerPath:rslave",
    "/hostPath:/containerPath:private",
    "/hostPath:/containerPath:rprivate",
    "/hostPath:/containerPath:ro,shared",
    "/hostPath:/containerPath:ro,z,shared",
    "/hostPath:/containerPath:Z,slave,ro",
    "/hostPath:/containerPath:rslave,ro,Z",
    "/hostPath:/containerPath:ro,Z,rprivate",
    "/hostPath:/containerPath:delegated",
    "name:/data:nocopy",
    "name:/data:ro,nocopy,z",
  ]) {
    assert.doesNotThrow(() => parseVolumeSpec(raw), raw);
  }
});

// moby TestLinuxParseMountRaw: the invalid map (with dockerd's full messages here).
test("-v: dockerd's errors and messages", () => {
  const spec = (raw: string) => `invalid volume specification: '${raw}'`;
  const cases: Array<[string, string]> = [
    ["", spec("")],
    ["./", `${spec("./")}: invalid mount config for type "volume": invalid mount path: './' mount path must be absolute`],
    ["../", `${spec("../")}: invalid mount config for type "volume": invalid mount path: '../' mount path must be absolute`],
    ["/:../", `${spec("/:../")}: invalid mount config for type "bind": invalid mount path: '../' mount path must be absolute`],
    ["/:path", `${spec("/:path")}: invalid mount config for type "bind": invalid mount path: 'path' mount path must be absolute`],
    [":", spec(":")],
    ["/tmp:", spec("/tmp:")],
    [":test", spec(":test")],
    [":/test", spec(":/test")],
    ["tmp:", spec("tmp:")],
    [":test:", spec(":test:")],
    ["::", spec("::")],
    [":::", spec(":::")],
    ["/tmp:::", spec("/tmp:::")],
    [":/tmp::", spec(":/tmp::")],
    ["/path:rw", spec("/path:rw")],
    ["/path:ro", spec("/path:ro")],
    ["/rw:rw", spec("/rw:rw")],
    ["path:ro", spec("path:ro")],
    ["/path:/path:sw", "invalid mode: sw"],
    ["/path:/path:rwz", "invalid mode: rwz"],
    ["/path:/path:ro,rshared,rslave", "invalid mode: ro,rshared,rslave"],
    ["/path:/path:ro,z,rshared,rslave", "invalid mode: ro,z,rshared,rslave"],
    ["/path:/path:ro,ro", "invalid mode: ro,ro"],
    ["/path:shared", spec("/path:shared")],
    ["name:/absolute-path:rshared", `${spec("name:/absolute-path:rshared")}: invalid mount config for type "volume": field BindOptions must not be specified`],
    ["name:/absolute-path:private", `${spec("name:/absolute-path:private")}: invalid mount config for type "volume": field BindOptions must not be specified`],
    ["/host:/c:nocopy", `${spec("/host:/c:nocopy")}: invalid mount config for type "bind": field VolumeOptions must not be specified`],
    ["name:/", `${spec("name:/")}: invalid mount config for type "volume": invalid specification: destination can't be '/'`],
    ["/host:/", `${spec("/host:/")}: invalid mount config for type "bind": invalid specification: destination can't be '/'`],
    ["name::ro", `${spec("name::ro")}: invalid mount config for type "volume": field Target must not be empty`],
    ["a:b:c:d", spec("a:b:c:d")],
  ];
  for (const [raw, message] of cases) throwsInvalid(() => parseVolumeSpec(raw), message);
});

test("-v: what each form resolves to", () => {
  assert.deepEqual(parseVolumeSpec("/data"), {
    type: "volume", name: undefined, destination: "/data", readonly: false, mode: "", copyUp: true, driver: "",
  });
  assert.deepEqual(parseVolumeSpec("cache:/var/cache/:ro,nocopy"), {
    type: "volume", name: "cache", destination: "/var/cache", readonly: true, mode: "ro,nocopy", copyUp: false, driver: "",
  });
  assert.deepEqual(parseVolumeSpec("cache:/c", { volumeDriver: "local" }), {
    type: "volume", name: "cache", destination: "/c", readonly: false, mode: "", copyUp: true, driver: "local",
  });
  assert.deepEqual(parseVolumeSpec("/srv//x/:/mnt:ro,rshared"), {
    type: "bind", source: "/srv/x", destination: "/mnt", readonly: true, propagation: "rshared", mode: "ro,rshared",
    nonRecursive: false, createMountpoint: false,
  });
  assert.equal((parseVolumeSpec("/a:/b") as { propagation: string }).propagation, "rprivate");
  // A volume name the local driver will refuse still parses: the store's create reports it.
  assert.equal((parseVolumeSpec("bad name:/x") as { name: string }).name, "bad name");
});

test("-v: a bind source must exist when the host is asked (berth refuses where dockerd would create it)", () => {
  throwsInvalid(
    () => parseVolumeSpec("/nope/x/:/c", { host: nowhere }),
    `invalid volume specification: '/nope/x/:/c': invalid mount config for type "bind": bind source path does not exist: /nope/x`,
  );
  assert.doesNotThrow(() => parseVolumeSpec("name:/c", { host: nowhere }));
});

test("--mount objects: volume, bind, tmpfs", () => {
  assert.deepEqual(
    parseMountSpec(
      { type: "volume", source: "db", target: "/var/lib/db/", readOnly: true, volumeOptions: { noCopy: true, labels: { a: "1" }, driverConfig: { name: "local", options: { type: "tmpfs", device: "tmpfs" } } } },
      everywhere,
    ),
    {
      type: "volume", name: "db", destination: "/var/lib/db", readonly: true, mode: "", copyUp: false, driver: "local",
      driverOptions: { type: "tmpfs", device: "tmpfs" }, labels: { a: "1" },
    },
  );
  assert.deepEqual(parseMountSpec({ type: "volume", target: "/anon" }, everywhere), {
    type: "volume", name: undefined, destination: "/anon", readonly: false, mode: "", copyUp: true, driver: "",
  });
  assert.deepEqual(parseMountSpec({ type: "bind", source: "/srv", target: "/mnt", bindOptions: { propagation: "rslave", nonRecursive: true } }, everywhere), {
    type: "bind", source: "/srv", destination: "/mnt", readonly: false, propagation: "rslave", mode: "", nonRecursive: true, createMountpoint: false,
  });
  assert.deepEqual(parseMountSpec({ type: "tmpfs", target: "/run", readOnly: true, tmpfsOptions: { sizeBytes: 64 * 2 ** 20, mode: 0o1777 } }, everywhere), {
    type: "tmpfs", destination: "/run", readonly: true, tmpfsOptions: "ro,mode=1777,size=64m",
  });
});

test("--mount objects: dockerd's validation messages", () => {
  const cases: Array<[MountSpec, string]> = [
    [{ type: "volume" }, `invalid mount config for type "volume": field Target must not be empty`],
    [{ type: "volume", target: "/" }, `invalid mount config for type "volume": invalid specification: destination can't be '/'`],
    [{ type: "volume", target: "rel" }, `invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute`],
    [{ type: "volume", target: "/x", readOnly: true }, `invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes`],
    [{ type: "volume", source: "v", target: "/x", bindOptions: {} }, `invalid mount config for type "volume": field BindOptions must not be specified`],
    [{ type: "volume", target: "/x", volumeOptions: { subpath: "a" } }, `invalid mount config for type "volume": must not set Subpath when using anonymous volumes`],
    [{ type: "bind", target: "/x" }, `invalid mount config for type "bind": field Source must not be empty`],
    [{ type: "bind", source: "rel", target: "/x" }, `invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`],
    [{ type: "bind", source: "/s", target: "/x", bindOptions: { propagation: "sideways" } }, `invalid mount config for type "bind": invalid propagation mode: sideways`],
    [{ type: "bind", source: "/s", target: "/x", volumeOptions: {} }, `invalid mount config for type "bind": field VolumeOptions must not be specified`],
    [{ type: "bind", source: "/missing", target: "/x" }, `invalid mount config for type "bind": bind source path does not exist: /missing`],
    [{ type: "tmpfs", source: "x", target: "/x" }, `invalid mount config for type "tmpfs": field Source must not be specified`],
    [{ type: "tmpfs", target: "/x", bindOptions: {} }, `invalid mount config for type "tmpfs": field BindOptions must not be specified`],
    [{ type: "tmpfs", target: "/x", tmpfsOptions: { options: [["nosuid"]] } }, `invalid mount config for type "tmpfs": invalid option: nosuid`],
    [{ type: "npipe", target: "/x" }, `invalid mount config for type "npipe": mount type unknown`],
  ];
  for (const [m, message] of cases) throwsInvalid(() => parseMountSpec(m, { exists: (p) => p !== "/missing" }), message);
  // CreateMountpoint lifts the existence check.
  assert.doesNotThrow(() => parseMountSpec({ type: "bind", source: "/missing", target: "/x", bindOptions: { createMountpoint: true } }, nowhere));
});

test("tmpfs options: dockerd's ConvertTmpfsOptions", () => {
  assert.equal(convertTmpfsOptions(undefined, false), "");
  assert.equal(convertTmpfsOptions({ sizeBytes: 3 * 2 ** 30 }, false), "size=3g");
  assert.equal(convertTmpfsOptions({ sizeBytes: 1536 }, false), "size=1536");
  assert.equal(convertTmpfsOptions({ sizeBytes: 1000 }, false), "size=1000");
  assert.equal(convertTmpfsOptions({ sizeBytes: 2048, mode: 0o700, options: [["exec"]] }, true), "ro,mode=700,size=2k,exec");
});

test("--mount flag: the docker CLI's syntax", () => {
  assert.deepEqual(parseMountFlag("type=volume,source=db,target=/data,readonly,volume-nocopy,volume-opt=type=tmpfs,volume-opt=o=size=1m,volume-label=a=b"), {
    type: "volume",
    source: "db",
    target: "/data",
    readOnly: true,
    volumeOptions: { labels: { a: "b" }, noCopy: true, driverConfig: { options: { type: "tmpfs", o: "size=1m" } } },
  });
  assert.deepEqual(parseMountFlag("target=/x"), { type: "volume", target: "/x" });
  assert.deepEqual(parseMountFlag("type=bind,src=/s,dst=/d,bind-propagation=RSHARED,ro=false"), {
    type: "bind", source: "/s", target: "/d", bindOptions: { propagation: "rshared" }, readOnly: false,
  });
  assert.deepEqual(parseMountFlag("type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770"), {
    type: "tmpfs", target: "/t", tmpfsOptions: { sizeBytes: 64 * 2 ** 20, mode: 0o1770 },
  });
  assert.deepEqual(parseMountFlag(`type=bind,"source=/a,b",target=/c`), { type: "bind", source: "/a,b", target: "/c" });

  const cases: Array<[string, string]> = [
    ["type=volume", "target is required"],
    ["type=,target=/x", "type is required"],
    ["target=/x,bogus", "invalid field 'bogus' must be a key=value pair"],
    ["target=/x,color=red", "unexpected key 'color' in 'color=red'"],
    ["target=/x,readonly=maybe", "invalid value for readonly: maybe"],
    ["target=/x,volume-nocopy=maybe", "invalid value for volume-nocopy: maybe"],
    ["type=tmpfs,target=/x,tmpfs-size=lots", "invalid value for tmpfs-size: lots"],
    ["type=tmpfs,target=/x,tmpfs-mode=999", "invalid value for tmpfs-mode: 999"],
    ["type=bind,source=/s,target=/x,volume-nocopy", "cannot mix 'volume-*' options with mount type 'bind'"],
    ["type=volume,target=/x,bind-propagation=shared", "cannot mix 'bind-*' options with mount type 'volume'"],
    ["type=volume,target=/x,tmpfs-size=1m", "cannot mix 'tmpfs-*' options with mount type 'volume'"],
  ];
  for (const [raw, message] of cases) throwsInvalid(() => parseMountFlag(raw), message);
});
