// The volume store against a real filesystem: create/ls/inspect/rm/prune, references, restart
// persistence (by reopening the store) and crash leftovers.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { isConflict, isInvalidArgument, isNotFound } from "../base/errors.js";
import { ANONYMOUS_LABEL } from "./names.js";
import { createVolumeStore, type VolumeEvent, type VolumeStoreOptions } from "./store.js";

let base: string;
let n = 0;
before(async () => {
  base = await mkdtemp(join(tmpdir(), "berth-volumes-"));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

const C1 = "1".repeat(64);
const C2 = "2".repeat(64);
const fixedNow = () => new Date("2024-05-01T10:20:30.456Z");

async function freshRoot(): Promise<string> {
  const root = join(base, `root-${++n}`);
  await mkdir(root);
  return root;
}

async function open(root: string, o: Partial<VolumeStoreOptions> = {}) {
  return createVolumeStore({ root, now: fixedNow, ...o });
}

test("create: dockerd's layout and modes, RFC 3339 CreatedAt, scope local, a create event", async () => {
  const root = await freshRoot();
  const events: VolumeEvent[] = [];
  const store = await open(root, { onEvent: (e) => events.push(e) });
  const v = await store.create({ name: "web-data", labels: { app: "web" } });
  assert.deepEqual(v, {
    name: "web-data",
    driver: "local",
    mountpoint: join(root, "volumes", "web-data", "_data"),
    createdAt: "2024-05-01T10:20:30Z",
    labels: { app: "web" },
    options: {},
    scope: "local",
  });
  assert.equal((await stat(join(root, "volumes"))).mode & 0o7777, 0o701);
  assert.equal((await stat(join(root, "volumes", "web-data"))).mode & 0o7777, 0o701);
  assert.equal((await stat(v.mountpoint)).mode & 0o7777, 0o755);
  assert.deepEqual((await readdir(join(root, "volumes", "web-data"))).sort(), ["_data", "volume.json"]);
  assert.deepEqual(events, [{ action: "create", name: "web-data", attributes: { driver: "local" } }]);
  assert.deepEqual(store.get("web-data"), v);

  // Creating it again returns it as it is (labels asked for now are ignored), without an event.
  const again = await store.create({ name: "web-data", labels: { other: "x" }, driver: "local" });
  assert.deepEqual(again, v);
  assert.equal(events.length, 1);
});

test("create: anonymous volumes get a 64-hex name and the anonymous label", async () => {
  const store = await open(await freshRoot());
  const v = await store.create({ labels: { a: "b" } });
  assert.match(v.name, /^[0-9a-f]{64}$/);
  assert.deepEqual(v.labels, { a: "b", [ANONYMOUS_LABEL]: "" });
  const w = await store.create({ name: "" });
  assert.notEqual(w.name, v.name);
});

test("create: refused names, options and drivers, with dockerd's messages", async () => {
  const store = await open(await freshRoot());
  const rejects = (p: Promise<unknown>, check: (e: unknown) => boolean, message: string) =>
    assert.rejects(p, (e: unknown) => check(e) && (e as Error).message === message);
  await rejects(store.create({ name: "x" }), isInvalidArgument, "create x: volume name is too short, names should be at least two alphanumeric characters");
  await rejects(store.create({ name: "../etc" }), isInvalidArgument, `create ../etc: "../etc" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  await rejects(store.create({ name: "vv", driverOptions: { colour: "red" } }), isInvalidArgument, `create vv: invalid option: "colour"`);
  await rejects(store.create({ name: "vv", driverOptions: { type: "tmpfs" } }), isInvalidArgument, `create vv: missing required option: "device"`);
  await rejects(store.create({ name: "vv", driver: "nfs-plugin" }), isNotFound, `error looking up volume plugin nfs-plugin: plugin "nfs-plugin" not found`);
  assert.deepEqual(await store.list(), []);
  assert.deepEqual(await readdir(store.dir), []);
});

test("inspect and rm of a missing volume: get <name>: no such volume; rm -f ignores it", async () => {
  const store = await open(await freshRoot());
  assert.throws(() => store.get("nope"), (e: unknown) => isNotFound(e) && (e as Error).message === "get nope: no such volume");
  await assert.rejects(store.remove("nope"), (e: unknown) => isNotFound(e) && (e as Error).message === "get nope: no such volume");
  await store.remove("nope", { force: true });
  assert.throws(() => store.acquire("nope", C1), isNotFound);
});

test("references: rm refused while in use (even with force), allowed after release; data deleted", async () => {
  const events: VolumeEvent[] = [];
  const store = await open(await freshRoot(), { onEvent: (e) => events.push(e) });
  const v = await store.create({ name: "shared", reference: C2 });
  store.acquire("shared", C1);
  store.acquire("shared", C1);
  assert.deepEqual(store.usedBy("shared"), [C1, C2]);
  await writeFile(join(v.mountpoint, "f"), "data");
  for (const force of [false, true]) {
    await assert.rejects(
      store.remove("shared", { force }),
      (e: unknown) => isConflict(e) && (e as Error).message === `remove shared: volume is in use - [${C1}, ${C2}]`,
    );
  }
  store.release("shared", C1);
  store.release("shared", C2);
  store.release("shared", C2); // twice is fine
  assert.deepEqual(store.usedBy("shared"), []);
  await store.remove("shared");
  assert.equal(store.has("shared"), false);
  assert.deepEqual(await readdir(store.dir), []);
  assert.deepEqual(events.map((e) => e.action), ["create", "destroy"]);
});

test("ls: sorted, filtered (dangling, name, label, driver), usage on request", async () => {
  const store = await open(await freshRoot());
  const web = await store.create({ name: "web-data", labels: { app: "web" }, reference: C1 });
  await store.create({ name: "db-data", labels: { app: "db" } });
  const anon = await store.create({});
  await writeFile(join(web.mountpoint, "a"), "12345");
  const names = async (filters: Record<string, string[]>) => (await store.list({ filters })).map((v) => v.name);
  assert.deepEqual(await names({}), [anon.name, "db-data", "web-data"].sort());
  assert.deepEqual(await names({ dangling: ["true"] }), [anon.name, "db-data"].sort());
  assert.deepEqual(await names({ dangling: ["false"] }), ["web-data"]);
  assert.deepEqual(await names({ name: ["data"] }), ["db-data", "web-data"]);
  assert.deepEqual(await names({ label: ["app=db"] }), ["db-data"]);
  assert.deepEqual(await names({ label: [ANONYMOUS_LABEL] }), [anon.name]);
  assert.deepEqual(await names({ driver: ["local"], label: ["app"] }), ["db-data", "web-data"]);
  await assert.rejects(store.list({ filters: { until: ["1h"] } }), (e: unknown) => isInvalidArgument(e) && (e as Error).message === "invalid filter 'until'");
  const withUsage = await store.list({ usage: true, filters: { name: ["web"] } });
  assert.deepEqual(withUsage[0]?.usageData, { size: 5, refCount: 1 });
  assert.equal((await store.list())[0]?.usageData, undefined);
  assert.equal(await store.size("web-data"), 5);
});

test("prune: unused anonymous volumes by default, all unused with all=true, never volumes with options", async () => {
  const events: VolumeEvent[] = [];
  const store = await open(await freshRoot(), { onEvent: (e) => events.push(e) });
  const used = await store.create({ reference: C1 });
  const unused = await store.create({ labels: { keep: "no" } });
  await store.create({ name: "named" });
  await store.create({ name: "labelled", labels: { keep: "yes" } });
  await store.create({ name: "on-tmpfs", driverOptions: { type: "tmpfs", device: "tmpfs" } });
  await writeFile(join(unused.mountpoint, "f"), "x".repeat(100));

  const first = await store.prune();
  assert.deepEqual(first, { volumesDeleted: [unused.name], spaceReclaimed: 100 });
  assert.deepEqual(events.at(-1), { action: "prune", name: "", attributes: { reclaimed: "100" } });

  const second = await store.prune({ filters: { all: ["true"], "label!": ["keep=yes"] } });
  assert.deepEqual(second, { volumesDeleted: ["named"], spaceReclaimed: 0 });
  assert.deepEqual((await store.list()).map((v) => v.name).sort(), [used.name, "labelled", "on-tmpfs"].sort());

  store.release(used.name, C1);
  const third = await store.prune({ filters: { all: ["1"] } });
  assert.deepEqual(third.volumesDeleted.sort(), [used.name, "labelled"].sort());
  assert.deepEqual((await store.list()).map((v) => v.name), ["on-tmpfs"]);

  await assert.rejects(store.prune({ filters: { dangling: ["true"] } }), isInvalidArgument);
  // One prune at a time, as dockerd.
  await store.create({});
  const running = store.prune();
  await assert.rejects(store.prune(), (e: unknown) => isConflict(e) && (e as Error).message === "a prune operation is already running");
  await running;
});

test("restart: volumes, labels, options and CreatedAt survive reopening; references do not", async () => {
  const root = await freshRoot();
  const a = await open(root);
  const v = await a.create({ name: "keep", labels: { x: "1" }, driverOptions: { type: "tmpfs", device: "tmpfs", o: "size=1m" }, reference: C1 });
  const anon = await a.create({});
  await writeFile(join(anon.mountpoint, "f"), "kept");

  const b = await open(root, { now: () => new Date("2030-01-01T00:00:00Z") });
  assert.deepEqual(b.loadProblems, []);
  assert.deepEqual(b.get("keep"), v);
  assert.deepEqual(b.get(anon.name), anon);
  assert.equal(await readFile(join(anon.mountpoint, "f"), "utf8"), "kept");
  // The engine re-acquires from its container records (restoreContainerMounts).
  assert.deepEqual(b.usedBy("keep"), []);
  assert.deepEqual((await b.list({ filters: { dangling: ["true"] } })).length, 2);
});

test("open: crash leftovers are deleted, foreign entries reported and left alone", async () => {
  const root = await freshRoot();
  const store = await open(root);
  await store.create({ name: "good" });
  const dir = store.dir;
  // A create that crashed before its rename, and a remove that crashed after its rename.
  await mkdir(join(dir, ".creating-0123", "_data"), { recursive: true });
  await writeFile(join(dir, ".creating-0123", "volume.json"), "{");
  await mkdir(join(dir, ".removing-4567", "_data", "deep"), { recursive: true });
  await writeFile(join(dir, ".removing-4567", "_data", "deep", "f"), "x");
  await mkdir(join(dir, ".copyup-89ab"));
  // Not berth's: a dockerd-style volume without a record, a corrupt record, a stray file.
  await mkdir(join(dir, "from-dockerd", "_data"), { recursive: true });
  await mkdir(join(dir, "corrupt", "_data"), { recursive: true });
  await writeFile(join(dir, "corrupt", "volume.json"), "not json");
  await writeFile(join(dir, "metadata.db"), "");

  const reopened = await open(root);
  assert.deepEqual((await reopened.list()).map((v) => v.name), ["good"]);
  assert.deepEqual((await readdir(dir)).sort(), ["corrupt", "from-dockerd", "good", "metadata.db"]);
  assert.deepEqual(
    reopened.loadProblems.map((p) => [p.reason, p.path.slice(dir.length + 1)]),
    [["corrupt", "corrupt/volume.json"], ["missing", "from-dockerd"], ["unexpected-entry", "metadata.db"]],
  );
  // The name of a directory the store did not load is not silently reused.
  await assert.rejects(reopened.create({ name: "from-dockerd" }), (e: unknown) => isConflict(e) && /volume already exists/.test((e as Error).message));
  assert.deepEqual((await readdir(dir)).filter((e) => e.startsWith(".")), []);
});

test("concurrency: one name is created once; remove and create of one name serialize", async () => {
  const events: VolumeEvent[] = [];
  const store = await open(await freshRoot(), { onEvent: (e) => events.push(e) });
  const made = await Promise.all(Array.from({ length: 5 }, (_, i) => store.create({ name: "race", reference: `${i}`.repeat(64) })));
  assert.equal(new Set(made.map((v) => v.createdAt)).size, 1);
  assert.equal(events.filter((e) => e.action === "create").length, 1);
  assert.equal(store.usedBy("race").length, 5);
  for (let i = 0; i < 5; i++) store.release("race", `${i}`.repeat(64));
  const [, again] = await Promise.all([store.remove("race"), store.create({ name: "race" })]);
  assert.equal(again.name, "race");
  assert.ok(store.has("race"));
  assert.deepEqual(events.map((e) => e.action), ["create", "destroy", "create"]);
});
