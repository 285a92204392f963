import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isBerthError } from "./errors.js";
import { createNameRegistry } from "./names.js";
import { containerConfig, generateContainerId, hostConfig, newContainerRecord, type ContainerRecord } from "./record.js";
import { createContainerStore, RECORD_FILE } from "./store.js";
import { fakeClock } from "./testdata/clock.js";

const clock = fakeClock();

async function tempRoot(t: { after(fn: () => Promise<void>): void }) {
  const root = await mkdtemp(join(tmpdir(), "berth-store-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

function record(name = "/web", labels: Record<string, string> = {}): ContainerRecord {
  return newContainerRecord({
    name,
    config: containerConfig({ image: "alpine", cmd: ["sh"], labels }),
    hostConfig: hostConfig(),
    imageId: "sha256:" + "d".repeat(64),
    driver: "overlayfs",
    now: clock.now,
  });
}

test("save writes <root>/containers/<id>/config.json, load reads it back, no temp file remains", async (t) => {
  const root = await tempRoot(t);
  const store = createContainerStore({ root });
  const r = record();
  await store.save(r);
  assert.equal(store.containerDir(r.id), join(root, "containers", r.id));
  const file = join(root, "containers", r.id, RECORD_FILE);
  const onDisk = JSON.parse(await readFile(file, "utf8"));
  assert.equal(onDisk.schemaVersion, 1);
  assert.deepEqual(onDisk.record, r);
  assert.deepEqual(await store.load(r.id), r);
  assert.deepEqual(await readdir(store.containerDir(r.id)), [RECORD_FILE]);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
});

test("save replaces the previous version", async (t) => {
  const store = createContainerStore({ root: await tempRoot(t) });
  const r = record();
  await store.save(r);
  r.restartCount = 5;
  r.name = "/renamed";
  await store.save(r);
  const back = await store.load(r.id);
  assert.equal(back.restartCount, 5);
  assert.equal(back.name, "/renamed");
});

test("concurrent saves of one container leave one complete version and no temp files", async (t) => {
  const store = createContainerStore({ root: await tempRoot(t) });
  const r = record();
  const versions = Array.from({ length: 20 }, (_, i) => ({
    ...r,
    restartCount: i,
    config: { ...r.config, labels: { pad: "x".repeat(i * 5000) } },
  }));
  await Promise.all(versions.map((v) => store.save(v)));
  const back = await store.load(r.id);
  assert.equal(back.config.labels["pad"]!.length, back.restartCount * 5000);
  assert.deepEqual(await readdir(store.containerDir(r.id)), [RECORD_FILE]);
});

test("an aborted save throws, leaves the old version and no temp file", async (t) => {
  const store = createContainerStore({ root: await tempRoot(t) });
  const r = record();
  await store.save(r);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(store.save({ ...r, restartCount: 9 }, { signal: ac.signal }), { name: "AbortError" });
  assert.equal((await store.load(r.id)).restartCount, 0);
  assert.deepEqual(await readdir(store.containerDir(r.id)), [RECORD_FILE]);
});

test("IDs that are not 64 hex digits never become paths", async (t) => {
  const store = createContainerStore({ root: await tempRoot(t) });
  for (const bad of ["../etc", "a".repeat(63), "", "A".repeat(64)]) {
    assert.throws(() => store.containerDir(bad), (e: unknown) => isBerthError(e, "invalid-argument"));
    await assert.rejects(store.save({ ...record(), id: bad }), (e: unknown) => isBerthError(e, "invalid-argument"));
  }
});

test("load of a missing container is not-found", async (t) => {
  const store = createContainerStore({ root: await tempRoot(t) });
  await assert.rejects(store.load(generateContainerId()), (e: unknown) => isBerthError(e, "not-found"));
});

test("delete removes the directory with everything in it, and is idempotent", async (t) => {
  const store = createContainerStore({ root: await tempRoot(t) });
  const r = record();
  await store.save(r);
  await writeFile(join(store.containerDir(r.id), "hostname"), "web\n");
  await store.delete(r.id);
  await assert.rejects(stat(store.containerDir(r.id)), { code: "ENOENT" });
  await store.delete(r.id);
  await assert.rejects(store.load(r.id), (e: unknown) => isBerthError(e, "not-found"));
  assert.deepEqual((await store.loadAll()).records, []);
});

test("loadAll on a fresh root: nothing, no problems", async (t) => {
  const store = createContainerStore({ root: join(await tempRoot(t), "not-yet") });
  assert.deepEqual(await store.loadAll(), { records: [], problems: [] });
});

test("loadAll loads every good record and reports, sets aside or skips every bad one", async (t) => {
  const root = await tempRoot(t);
  const store = createContainerStore({ root, now: () => new Date(1700000000000) });
  const good = [record("/one"), record("/two"), record("/three")];
  for (const r of good) await store.save(r);
  const dir = (id: string) => join(root, "containers", id);
  const write = async (id: string, text: string) => {
    await mkdir(dir(id), { recursive: true });
    await writeFile(join(dir(id), RECORD_FILE), text);
  };

  const truncated = generateContainerId();
  const full = JSON.stringify({ schemaVersion: 1, record: { ...record("/trunc"), id: truncated } });
  await write(truncated, full.slice(0, full.length / 2));
  const wrongShape = generateContainerId();
  await write(wrongShape, JSON.stringify({ schemaVersion: 1, record: { ...record("/wrong"), id: wrongShape, config: "nope" } }));
  const misplaced = generateContainerId(); // a record whose ID is not its directory's
  await write(misplaced, JSON.stringify({ schemaVersion: 1, record: record("/misplaced") }));
  const newer = generateContainerId();
  await write(newer, JSON.stringify({ schemaVersion: 2, record: { whatever: true } }));
  const unreadable = generateContainerId(); // reading it fails with EISDIR
  await mkdir(join(dir(unreadable), RECORD_FILE), { recursive: true });
  const empty = generateContainerId();
  await mkdir(dir(empty));
  await mkdir(join(root, "containers", "lost+found"));
  // A crash between creating a temp file and renaming it over the record.
  const leftover = join(dir(good[0]!.id), `${RECORD_FILE}.tmp-123-abcdef`);
  await writeFile(leftover, '{"schemaVer');

  const { records, problems } = await store.loadAll();
  assert.deepEqual(
    records.map((r) => r.name).sort(),
    ["/one", "/three", "/two"],
  );
  assert.deepEqual(records.find((r) => r.name === "/one"), good[0]);
  const byPath = new Map(problems.map((p) => [p.path, p]));
  assert.equal(problems.length, 7, JSON.stringify(problems, null, 1));

  const setAside = (id: string) => join(dir(id), `${RECORD_FILE}.corrupt-1700000000000`);
  for (const id of [truncated, wrongShape, misplaced]) {
    const p = byPath.get(join(dir(id), RECORD_FILE));
    assert.equal(p?.reason, "corrupt", id);
    assert.equal(p?.setAsideTo, setAside(id));
    await stat(setAside(id));
    await assert.rejects(stat(join(dir(id), RECORD_FILE)), { code: "ENOENT" });
  }
  assert.match(byPath.get(join(dir(truncated), RECORD_FILE))!.message, /JSON/);
  assert.match(byPath.get(join(dir(wrongShape), RECORD_FILE))!.message, /record\.config: expected an object/);
  assert.match(byPath.get(join(dir(misplaced), RECORD_FILE))!.message, /the directory/);

  const u = byPath.get(join(dir(unreadable), RECORD_FILE));
  assert.equal(u?.reason, "unreadable");
  assert.equal(u?.setAsideTo, setAside(unreadable));

  const n = byPath.get(join(dir(newer), RECORD_FILE));
  assert.equal(n?.reason, "unsupported-version");
  assert.equal(n?.setAsideTo, undefined);
  await stat(join(dir(newer), RECORD_FILE)); // left in place for the newer berth

  assert.equal(byPath.get(join(dir(empty), RECORD_FILE))?.reason, "missing");
  assert.equal(byPath.get(join(root, "containers", "lost+found"))?.reason, "unexpected-entry");
  await assert.rejects(stat(leftover), { code: "ENOENT" });

  // The next start does not set anything aside again: those directories now lack a record.
  const again = await store.loadAll();
  assert.equal(again.records.length, 3);
  const reasons = again.problems.map((p) => p.reason).sort();
  assert.deepEqual(reasons, ["missing", "missing", "missing", "missing", "missing", "unexpected-entry", "unsupported-version"]);
  assert.ok(again.problems.every((p) => p.setAsideTo === undefined));
});

test("two concurrent creates with one name: one container on disk, one conflict", async (t) => {
  const store = createContainerStore({ root: await tempRoot(t) });
  const names = createNameRegistry();
  const create = async (labels: Record<string, string>) => {
    await new Promise((res) => setImmediate(res));
    const r = record("/placeholder", labels);
    r.name = names.reserve("db", r.id);
    try {
      await store.save(r);
    } catch (e) {
      names.release(r.name);
      throw e;
    }
    return r;
  };
  const results = await Promise.allSettled([create({ who: "first" }), create({ who: "second" })]);
  const won = results.flatMap((x) => (x.status === "fulfilled" ? [x.value] : []));
  const lost = results.flatMap((x) => (x.status === "rejected" ? [x.reason as unknown] : []));
  assert.equal(won.length, 1);
  assert.equal(lost.length, 1);
  assert.ok(isBerthError(lost[0], "conflict"));
  const { records } = await store.loadAll();
  assert.deepEqual(records, won);
  assert.equal(names.get("db"), won[0]!.id);
});

test("save skips a write of the bytes already on disk, and writes again after any change", async (t) => {
  const root = await tempRoot(t);
  const store = createContainerStore({ root });
  const r = record("/skip");
  await store.save(r);
  const file = join(root, "containers", r.id, RECORD_FILE);
  const first = (await stat(file)).ino;
  await store.save(r); // the same bytes: no new file
  assert.equal((await stat(file)).ino, first);
  r.name = "/renamed";
  await store.save(r); // a change: a new file renamed over the old one
  const second = (await stat(file)).ino;
  assert.notEqual(second, first);
  // Another store on the same root (a restarted berthd) knows the bytes it loaded.
  const again = createContainerStore({ root });
  const { records } = await again.loadAll();
  await again.save(records[0]!);
  assert.equal((await stat(file)).ino, second);
  records[0]!.name = "/third";
  await again.save(records[0]!);
  assert.notEqual((await stat(file)).ino, second);
  assert.equal((await again.load(r.id)).name, "/third");
});
