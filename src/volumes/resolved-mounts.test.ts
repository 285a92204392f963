import assert from "node:assert/strict";
import { test } from "node:test";

import { overlayLayers, readonlyOverlayOptions } from "./copy-up.js";
import { mountsAtOrUnder, parseMountInfo } from "./host-mount.js";
import { decodeResolvedMounts, inspectMounts, ociMounts, volumeNamesOf } from "./resolved-mounts.js";
import type { ResolvedMount } from "./types.js";

const mounts: ResolvedMount[] = [
  { type: "volume", source: "/b/volumes/db/_data", destination: "/var/lib/db", readonly: false, propagation: "", volumeName: "db", anonymous: false, copyUp: true, mode: "z" },
  { type: "bind", source: "/srv", destination: "/srv", readonly: true, propagation: "rslave", copyUp: false, mode: "ro,rslave" },
  { type: "bind", source: "/opt", destination: "/opt", readonly: false, propagation: "rprivate", copyUp: false, mode: "", nonRecursive: true },
  { type: "tmpfs", source: "", destination: "/run", readonly: true, propagation: "", copyUp: false, mode: "", tmpfsOptions: "ro,size=1m" },
  { type: "volume", source: "/b/volumes/ff/_data", destination: "/cache", readonly: true, propagation: "", volumeName: "f".repeat(64), anonymous: true, copyUp: false, mode: "" },
];

test("OCI mounts as dockerd writes them; tmpfs data for withTmpfs", () => {
  assert.deepEqual(ociMounts(mounts), {
    binds: [
      { destination: "/var/lib/db", type: "bind", source: "/b/volumes/db/_data", options: ["rbind"] },
      { destination: "/srv", type: "bind", source: "/srv", options: ["rbind", "ro", "rslave"] },
      { destination: "/opt", type: "bind", source: "/opt", options: ["bind", "rprivate"] },
      { destination: "/cache", type: "bind", source: "/b/volumes/ff/_data", options: ["rbind", "ro"] },
    ],
    tmpfs: { "/run": "ro,size=1m" },
  });
});

test("inspect Mounts: sorted by destination, volume name and driver, RW, mode, propagation", () => {
  assert.deepEqual(inspectMounts(mounts), [
    { type: "volume", name: "f".repeat(64), source: "/b/volumes/ff/_data", destination: "/cache", driver: "local", mode: "", rw: false, propagation: "" },
    { type: "bind", name: "", source: "/opt", destination: "/opt", driver: "", mode: "", rw: true, propagation: "rprivate" },
    { type: "tmpfs", name: "", source: "", destination: "/run", driver: "", mode: "", rw: false, propagation: "" },
    { type: "bind", name: "", source: "/srv", destination: "/srv", driver: "", mode: "ro,rslave", rw: false, propagation: "rslave" },
    { type: "volume", name: "db", source: "/b/volumes/db/_data", destination: "/var/lib/db", driver: "local", mode: "z", rw: true, propagation: "" },
  ]);
  assert.deepEqual(volumeNamesOf(mounts), ["db", "f".repeat(64)]);
});

test("the persisted list decodes to what was written; bad fields are named", () => {
  assert.deepEqual(decodeResolvedMounts(JSON.parse(JSON.stringify(mounts))), mounts);
  assert.throws(() => decodeResolvedMounts({}), /mountPoints: expected an array/);
  assert.throws(() => decodeResolvedMounts([{ ...mounts[0], type: "nfs" }]), /mountPoints\[0\]\.type: expected volume\|bind\|tmpfs/);
  assert.throws(() => decodeResolvedMounts([{ ...mounts[0], volumeName: undefined }]), /mountPoints\[0\]\.volumeName/);
  assert.throws(() => decodeResolvedMounts([{ ...mounts[1], readonly: "yes" }]), /mountPoints\[0\]\.readonly: expected a boolean/);
});

test("mountinfo: fields and octal escapes", () => {
  const text = [
    "22 27 0:21 / /proc rw,relatime - proc proc rw",
    "45 27 0:39 / /var/lib/berth/volumes/my\\040vol/_data rw - tmpfs tmpfs rw,size=1024k",
    "46 45 0:40 / /var/lib/berth/volumes/my\\040vol/_data/sub rw - tmpfs tmpfs rw",
    "",
  ].join("\n");
  const entries = parseMountInfo(text);
  assert.deepEqual(entries[1], { mountId: 45, parentId: 27, mountPoint: "/var/lib/berth/volumes/my vol/_data", fsType: "tmpfs", source: "tmpfs" });
  assert.deepEqual(mountsAtOrUnder(entries, "/var/lib/berth/volumes/my vol/"), [
    "/var/lib/berth/volumes/my vol/_data/sub",
    "/var/lib/berth/volumes/my vol/_data",
  ]);
  assert.deepEqual(mountsAtOrUnder(entries, "/var/lib/berth/volumes/my"), []);
});

test("overlay: layers top first; one page of options, else relative to the common directory", () => {
  const m = { type: "overlay", source: "overlay", options: ["index=off", "workdir=/s/9/work", "upperdir=/s/9/fs", "lowerdir=/s/2/fs:/s/1/fs"] };
  assert.deepEqual(overlayLayers(m), ["/s/9/fs", "/s/2/fs", "/s/1/fs"]);
  assert.deepEqual(readonlyOverlayOptions(overlayLayers(m), ["userxattr"]), { options: "ro,lowerdir=/s/9/fs:/s/2/fs:/s/1/fs,userxattr" });
  assert.deepEqual(readonlyOverlayOptions(overlayLayers(m), [], 30), { options: "ro,lowerdir=9/fs:2/fs:1/fs", cwd: "/s" });
  assert.throws(() => readonlyOverlayOptions(overlayLayers(m), [], 10), /too many image layers/);
});
