// A container's volumes through create → start → stop → remove → restore, as the engine will
// drive them (docs/volumes.md), against a real store; tmpfs-backed volumes need root.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { isInvalidArgument } from "../base/errors.js";
import type { RootfsRecord } from "../container/record.js";
import type { PreparedRootfs } from "../daemon/image-source.js";
import type { RootfsSource } from "./copy-up.js";
import {
  activateContainerMounts,
  createContainerMounts,
  deactivateContainerMounts,
  releaseContainerMounts,
  restoreContainerMounts,
} from "./container-mounts.js";
import { mountsAtOrUnder, readMountInfo, unmountFilesystem } from "./host-mount.js";
import { planMounts } from "./mount-plan.js";
import { inspectMounts } from "./resolved-mounts.js";
import { createVolumeStore } from "./store.js";

// The engine passes its rootfs as it has it: both of its shapes are RootfsSources.
const rootfsShapesFit: Array<(r: RootfsRecord | PreparedRootfs) => RootfsSource> = [(r) => r];
void rootfsShapesFit;

const skip = process.getuid?.() !== 0 ? "needs root (mount)" : false;
const C1 = "1".repeat(64);
const C2 = "2".repeat(64);
const host = { exists: existsSync };
let base: string;
let n = 0;

before(async () => {
  base = await mkdtemp(join(tmpdir(), "berth-ctrmounts-"));
});
after(async () => {
  for (const m of mountsAtOrUnder(await readMountInfo(), base)) await unmountFilesystem(m).catch(() => {});
  await rm(base, { recursive: true, force: true });
});

/** A berth root with a directory rootfs whose image has content at /data, /var/lib/app, /skip. */
async function setup() {
  const root = join(base, `root-${++n}`);
  const rootfs = join(root, "rootfs");
  for (const d of ["data", "var/lib/app", "skip"]) await mkdir(join(rootfs, d), { recursive: true });
  await writeFile(join(rootfs, "data/seed"), "image data");
  await writeFile(join(rootfs, "var/lib/app/db"), "image db");
  await writeFile(join(rootfs, "skip/x"), "not copied");
  const hostDir = join(root, "host");
  await mkdir(hostDir);
  const store = await createVolumeStore({ root });
  return { root, rootfs, hostDir, store };
}

test("create → start → stop → rm: references, copy-up, inspect, anonymous volumes removed only with -v", async () => {
  const { rootfs, hostDir, store } = await setup();
  const plan = planMounts(
    {
      binds: ["named:/data", `${hostDir}:/host:ro`],
      mounts: [{ type: "volume", target: "/skip", volumeOptions: { noCopy: true } }, { type: "tmpfs", target: "/tmp" }],
      volumes: ["/var/lib/app", "/data"],
    },
    host,
  );
  const mounts = await createContainerMounts(store, C1, plan);
  const named = store.get("named");
  const anon = mounts.filter((m) => m.anonymous).map((m) => m.volumeName as string);
  assert.equal(anon.length, 2);
  for (const v of ["named", ...anon]) assert.deepEqual(store.usedBy(v), [C1]);
  assert.deepEqual(
    inspectMounts(mounts).map((m) => [m.type, m.destination, m.name === "named" || m.name === "" ? m.name : "(anon)", m.mode, m.rw, m.source === named.mountpoint]),
    [
      ["volume", "/data", "named", "z", true, true],
      ["bind", "/host", "", "ro", false, false],
      ["volume", "/skip", "(anon)", "z", true, false],
      ["tmpfs", "/tmp", "", "", true, false],
      ["volume", "/var/lib/app", "(anon)", "", true, false],
    ],
  );

  // First start: copy-up into the empty volumes that allow it.
  const { populated } = await activateContainerMounts(store, C1, mounts, { rootfs: { kind: "path", path: rootfs }, populate: true });
  assert.deepEqual(populated, ["/data", "/var/lib/app"]);
  assert.equal(await readFile(join(named.mountpoint, "seed"), "utf8"), "image data");
  const byDest = (d: string) => mounts.find((m) => m.destination === d)!;
  assert.equal(await readFile(join(byDest("/var/lib/app").source, "db"), "utf8"), "image db");
  assert.deepEqual(await readdir(byDest("/skip").source), []);
  await deactivateContainerMounts(store, C1, mounts);

  // A second container on the same named volume: not empty, so not copied again.
  await writeFile(join(named.mountpoint, "seed"), "changed by the container");
  const other = await createContainerMounts(store, C2, planMounts({ binds: ["named:/data"] }, host));
  assert.deepEqual((await activateContainerMounts(store, C2, other, { rootfs: { kind: "path", path: rootfs }, populate: true })).populated, []);
  assert.equal(await readFile(join(named.mountpoint, "seed"), "utf8"), "changed by the container");

  // docker rm (no -v): references dropped, every volume stays.
  assert.deepEqual(await releaseContainerMounts(store, C1, mounts), []);
  for (const v of anon) assert.ok(store.has(v));
  assert.deepEqual(store.usedBy("named"), [C2]);

  // docker rm -v / --rm of a container that has anonymous volumes: those go, named ones never.
  const third = await createContainerMounts(store, C1, planMounts({ binds: ["named:/data"], volumes: ["/var/lib/app"] }, host));
  const thirdAnon = third.find((m) => m.anonymous)!.volumeName!;
  assert.deepEqual(await releaseContainerMounts(store, C1, third, { removeAnonymous: true }), [thirdAnon]);
  assert.equal(store.has(thirdAnon), false);
  assert.ok(store.has("named"));
  assert.deepEqual(store.usedBy("named"), [C2]);
});

test("rm -v leaves an anonymous volume another container still uses, without an error", async () => {
  const { store } = await setup();
  const mounts = await createContainerMounts(store, C1, planMounts({ volumes: ["/v"] }, host));
  const name = mounts[0]!.volumeName!;
  store.acquire(name, C2); // e.g. --volumes-from
  assert.deepEqual(await releaseContainerMounts(store, C1, mounts, { removeAnonymous: true }), []);
  assert.deepEqual(store.usedBy(name), [C2]);
});

test("a failed create releases what it referenced and removes the anonymous volumes it made", async () => {
  const { store } = await setup();
  await store.create({ name: "existing" });
  const plan = planMounts({ binds: ["existing:/a", "bad!name:/b"], volumes: ["/c"] }, host);
  await assert.rejects(createContainerMounts(store, C1, plan), (e: unknown) => isInvalidArgument(e) && /^create bad!name: /.test((e as Error).message));
  assert.deepEqual((await store.list()).map((v) => v.name), ["existing"]);
  assert.deepEqual(store.usedBy("existing"), []);
});

test("restore: references re-taken from the records; a missing volume is reported, not thrown", async () => {
  const { root, store } = await setup();
  const mounts = await createContainerMounts(store, C1, planMounts({ binds: ["keep:/k", "lost:/l"], volumes: ["/anon"] }, host));
  store.release("lost", C1);
  await store.remove("lost");

  const reopened = await createVolumeStore({ root });
  const persisted = JSON.parse(JSON.stringify(mounts)); // as the engine's record keeps them
  const problems = await restoreContainerMounts(reopened, C1, persisted, { running: false });
  assert.deepEqual(problems, ["get lost: no such volume"]);
  assert.deepEqual(reopened.usedBy("keep"), [C1]);
  assert.deepEqual(reopened.usedBy(mounts.find((m) => m.anonymous)!.volumeName!), [C1]);
  assert.deepEqual((await reopened.prune({ filters: { all: ["true"] } })).volumesDeleted, []);
});

test("a tmpfs-backed volume: mounted at start, populated inside the mount, unmounted at stop, re-mounted on restore of a running container", { skip }, async () => {
  const { root, rootfs, store } = await setup();
  const plan = planMounts({ mounts: [{ type: "volume", source: "fast", target: "/data", volumeOptions: { driverConfig: { options: { type: "tmpfs", device: "tmpfs", o: "size=4m" } } } }] }, host);
  const mounts = await createContainerMounts(store, C1, plan);
  const v = store.get("fast");
  assert.deepEqual(v.options, { type: "tmpfs", device: "tmpfs", o: "size=4m" });

  await activateContainerMounts(store, C1, mounts, { rootfs: { kind: "path", path: rootfs }, populate: true });
  const mounted = (await readMountInfo()).filter((m) => m.mountPoint === v.mountpoint);
  assert.equal(mounted[0]?.fsType, "tmpfs");
  assert.equal(await readFile(join(v.mountpoint, "seed"), "utf8"), "image data");

  // berthd restarts while the container runs: the restore re-registers the mount, no new one.
  const reopened = await createVolumeStore({ root });
  assert.deepEqual(await restoreContainerMounts(reopened, C1, mounts, { running: true }), []);
  await reopened.unmountIdle();
  assert.equal((await readMountInfo()).filter((m) => m.mountPoint === v.mountpoint).length, 1);

  await deactivateContainerMounts(reopened, C1, mounts);
  assert.deepEqual((await readMountInfo()).filter((m) => m.mountPoint === v.mountpoint), []);
  await releaseContainerMounts(reopened, C1, mounts, { removeAnonymous: true });
  assert.ok(reopened.has("fast"), "a named volume is never removed with its container");
});

test("a failed start unmounts what it mounted", { skip }, async () => {
  const { rootfs, store } = await setup();
  await writeFile(join(rootfs, "file"), "not a directory");
  const plan = planMounts({ mounts: [{ type: "volume", source: "tv", target: "/file", volumeOptions: { driverConfig: { options: { type: "tmpfs", device: "tmpfs" } } } }] }, host);
  const mounts = await createContainerMounts(store, C1, plan);
  await assert.rejects(
    activateContainerMounts(store, C1, mounts, { rootfs: { kind: "path", path: rootfs }, populate: true }),
    /cannot mount volume over existing file, file exists \/file/,
  );
  assert.deepEqual(mountsAtOrUnder(await readMountInfo(), store.dir), []);
});
