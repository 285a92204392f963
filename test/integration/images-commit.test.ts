// Commit, the rootfs view and the changes walker against a real containerd: a container snapshot
// is changed through a real read-write overlay mount of it (the view docker cp uses on a
// stopped container), its changes are listed, it is committed (Diff/Diff, the config and
// manifest, the layer applied under its chain ID) and a container of the new image runs and
// sees the changes. RPC counts are asserted exactly; nothing is left mounted or leased.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { startTestContainerd, type TestContainerd } from "../helpers/containerd.js";
import { minimalSpec } from "../helpers/spec.js";
import { RecordingBackend } from "../helpers/backend.js";
import { createClient, type LibcontainerdClient } from "../../src/libcontainerd/index.js";
import { buildBusyboxImage, createImageService, EMPTY_LAYER_DIFF_ID, type ImageService } from "../../src/images/index.js";
import { RootfsViews } from "../../src/daemon/rootfs-view.js";
import { overlayChanges } from "../../src/daemon/rootfs-changes.js";
import { overlayDirs } from "../../src/base/overlay-mount.js";
import { readMountInfo } from "../../src/volumes/host-mount.js";

let ctd: TestContainerd;
let images: ImageService;
let lcd: LibcontainerdClient;
let views: RootfsViews;
let busyboxId: string;
const backend = new RecordingBackend();

before(async () => {
  ctd = await startTestContainerd("commit");
  images = createImageService({ containerd: ctd.client });
  lcd = await createClient({ containerd: ctd.client, stateDir: path.join(ctd.dir, "fifos"), backend });
  await backend.waitStreamUp(lcd);
  const loaded = await images.load(Readable.from([await buildBusyboxImage()]));
  busyboxId = loaded.images[0]!.id;
  views = new RootfsViews({ dir: path.join(ctd.dir, "views") });
});
after(async () => {
  await lcd.close();
  const left = await ctd.leftovers();
  const ingests = (await ctd.client.content.rpc.listStatuses({})).statuses.map((s) => s.ref);
  const mounted = (await readMountInfo()).filter((m) => m.mountPoint.startsWith(path.join(ctd.dir, "views")));
  await ctd.stop();
  assert.deepEqual(left.leases, []);
  assert.deepEqual(ingests, []);
  assert.deepEqual(mounted, []);
});

const calls = async <T>(fn: () => Promise<T>) => {
  const { result, calls } = await ctd.client.counter.measure(fn);
  return [result, calls] as const;
};

async function runIn(imageRef: string, args: string[]): Promise<string> {
  const id = `run-${randomBytes(4).toString("hex")}`;
  const rootfs = await images.prepareRootfs(id, imageRef);
  const spec = minimalSpec({ namespace: ctd.namespace, id, rootfs: "rootfs", args });
  const c = await lcd.newContainer(id, { spec, rootfs: { kind: "snapshot", snapshotter: rootfs.snapshotter, key: rootfs.key, mounts: rootfs.mounts } });
  const out: Buffer[] = [];
  let ended: Promise<unknown> = Promise.resolve();
  const task = await c.start({
    attachStdio: (io) => {
      io.stdout!.on("data", (b: Buffer) => out.push(b));
      io.stderr!.resume();
      ended = once(io.stdout!, "end");
    },
  });
  const exit = await task.exited;
  await task.delete();
  await ended;
  await c.delete();
  await images.removeRootfs(rootfs.key);
  assert.equal(exit.exitCode, 0, Buffer.concat(out).toString());
  return Buffer.concat(out).toString();
}

const containerConfig = { Hostname: "c1", Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh", "-c", "changes"], Image: "busybox", Labels: {} };

describe("a stopped container's snapshot", () => {
  let mounts: Awaited<ReturnType<ImageService["prepareRootfs"]>>["mounts"];

  test("is changed through a read-write overlay view: no RPC, unmounted after", async () => {
    mounts = (await images.prepareRootfs("c1", busyboxId)).mounts;
    const [root, viewCalls] = await calls(() => views.use("c1", { kind: "snapshot", mounts }, async (root) => {
      assert.ok((await readMountInfo()).some((m) => m.mountPoint === root && m.fsType === "overlay"), "mounted while in use");
      await fs.writeFile(path.join(root, "x"), "committed content\n");
      await fs.rm(path.join(root, "bin", "ls"));
      await fs.appendFile(path.join(root, "etc", "passwd"), "extra:x:1000:1000::/:/bin/sh\n");
      await fs.mkdir(path.join(root, "newdir", "sub"), { recursive: true });
      return root;
    }));
    assert.deepEqual(viewCalls, {});
    assert.ok(!(await readMountInfo()).some((m) => m.mountPoint === root), "unmounted after");
  });

  test("its changes: dockerd's list, no RPC", async () => {
    const dirs = overlayDirs(mounts[0]!);
    const [changes, c] = await calls(() => overlayChanges({ upper: dirs.upper!, lowers: dirs.lowers }));
    assert.deepEqual(c, {});
    assert.deepEqual(changes.map((x) => `${"CAD"[x.kind]} ${x.path}`), [
      "C /bin", "D /bin/ls", "C /etc", "C /etc/passwd", "A /newdir", "A /newdir/sub", "A /x",
    ]);
  });

  test("commit: a new layer, config merged with the changes, history; the image runs at once", async () => {
    const [committed, c] = await calls(() => images.commit({
      image: busyboxId, mounts, containerId: "c1", containerConfig,
      changes: ['CMD ["cat","/x"]', "ENV A=1"], author: "me <me@example.com>", comment: "my message", reference: "test/committed:1",
    }));
    assert.deepEqual(c, {
      "Leases/Create": 1,
      "Diff/Diff": 1, // the layer: the image's dirs (a read-only bind) against the snapshot
      "Content/Write": 2, // config, manifest
      "Snapshots/Prepare": 1, "Diff/Apply": 1, "Snapshots/Commit": 1, // the layer's snapshot under its chain ID
      "Images/Create": 1,
      "Leases/Delete": 1,
    });
    assert.equal(committed.name, "docker.io/test/committed:1");
    const info = await images.inspect("test/committed:1");
    const parent = await images.inspect(busyboxId);
    assert.equal(info.id, committed.id);
    assert.deepEqual(info.config.cmd, ["cat", "/x"]);
    assert.deepEqual(info.config.env, [...containerConfig.Env, "A=1"]);
    assert.equal(info.author, "me <me@example.com>");
    // What dockerd's inspect shows of a commit: the comment (from history), parent, container.
    assert.equal(info.comment, "my message");
    assert.equal(info.parent, busyboxId);
    assert.equal(info.container, "c1");
    assert.equal(info.containerConfig?.Image, "busybox");
    assert.equal(info.rootfs.diffIds.length, parent.rootfs.diffIds.length + 1);
    const history = await images.history("test/committed:1");
    assert.equal(history[0]!.comment, "my message");
    assert.equal(history[0]!.createdBy, "sh -c changes");
    // The layer's snapshot exists: a container of the image needs one Snapshots/Prepare.
    const [, prep] = await calls(async () => images.removeRootfs((await images.prepareRootfs("probe", "test/committed:1")).key));
    assert.deepEqual(prep, { "Snapshots/Prepare": 1, "Snapshots/Remove": 1 });
    assert.equal(await runIn("test/committed:1", ["sh", "-c", "cat /x; ls /bin/ls 2>&1 || true; tail -1 /etc/passwd; test -d /newdir/sub && echo dir"]),
      "committed content\nls: /bin/ls: No such file or directory\nextra:x:1000:1000::/:/bin/sh\ndir\n");
  });

  test("a commit round-trips through save and load (same image ID)", async () => {
    const archive: Buffer[] = [];
    for await (const chunk of await images.save(["test/committed:1"])) archive.push(chunk as Buffer);
    const id = (await images.inspect("test/committed:1")).id;
    await images.remove("test/committed:1");
    const loaded = await images.load(Readable.from([Buffer.concat(archive)]));
    assert.equal(loaded.images[0]!.id, id);
    assert.equal(await runIn("test/committed:1", ["cat", "/x"]), "committed content\n");
  });

  test("a container without changes: an empty-layer history entry, no layer", async () => {
    const fresh = (await images.prepareRootfs("c2", busyboxId)).mounts;
    const committed = await images.commit({ image: busyboxId, mounts: fresh, containerId: "c2", containerConfig, reference: "test/empty" });
    assert.equal(committed.name, "docker.io/test/empty:latest");
    const info = await images.inspect(committed.id);
    assert.deepEqual(info.rootfs.diffIds, (await images.inspect(busyboxId)).rootfs.diffIds);
    assert.ok(!info.rootfs.diffIds.includes(EMPTY_LAYER_DIFF_ID));
    const history = await images.history(committed.id);
    assert.equal(history[0]!.emptyLayer, true);
    await images.removeRootfs("c2");
  });

  test("a bad change fails before anything is written", async () => {
    const before = (await ctd.client.images.rpc.list({})).images.length;
    await assert.rejects(images.commit({ image: busyboxId, mounts, containerId: "c1", containerConfig, changes: ["RUN echo no"] }), /RUN is not supported/);
    assert.equal((await ctd.client.images.rpc.list({})).images.length, before);
    await images.removeRootfs("c1");
  });
});
