import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { parseFilters } from "./filters.js";
import { pruneMatcher } from "./prune-router.js";
import { request, startHarness, type Harness } from "./testdata/harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const filters = (f: unknown) => `filters=${encodeURIComponent(JSON.stringify(f))}`;
async function create(name: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await request(h.socketPath, "POST", `/containers/create?name=${name}`, { body: { Image: "busybox", Cmd: ["sleep", "100"], ...body } });
  assert.equal(r.status, 201, r.body.toString());
  return r.json<{ Id: string }>().Id;
}
const names = () => h.engine.list({ all: true }).map((c) => c.name).sort();

test("pruneMatcher: until keeps newer objects, label needs all, label! refuses all", () => {
  const now = new Date("2026-01-01T12:00:00Z");
  const m = pruneMatcher(parseFilters(JSON.stringify({ until: ["1h"], label: ["a=1"], "label!": ["b"] })), now);
  assert.equal(m(new Date("2026-01-01T10:00:00Z"), { a: "1" }), true);
  assert.equal(m(new Date("2026-01-01T11:30:00Z"), { a: "1" }), false, "created after until");
  assert.equal(m(new Date("2026-01-01T10:00:00Z"), { a: "2" }), false);
  assert.equal(m(new Date("2026-01-01T10:00:00Z"), { a: "1", b: "x" }), false);
  assert.throws(() => pruneMatcher(parseFilters(JSON.stringify({ until: ["1h", "2h"] }))), /more than one until/);
  assert.throws(() => pruneMatcher(parseFilters(JSON.stringify({ until: ["bogus"] }))), /failed to parse value as time or duration/);
});

test("containers/prune removes every non-running container that matches, and says which", async () => {
  const created = await create("pr-created", { Labels: { keep: "no" } });
  const exited = await create("pr-exited");
  assert.equal((await request(h.socketPath, "POST", `/containers/${exited}/start`)).status, 204);
  h.engine.exit(exited, 3);
  const running = await create("pr-running");
  assert.equal((await request(h.socketPath, "POST", `/containers/${running}/start`)).status, 204);
  const labelled = await create("pr-labelled", { Labels: { keep: "yes" } });
  h.images.rootfsSizes.set(exited, 4096);
  h.images.rootfsSizes.set(running, 8192);

  const bad = await request(h.socketPath, "POST", `/containers/prune?${filters({ dangling: ["true"] })}`);
  assert.equal(bad.status, 400);
  const some = await request(h.socketPath, "POST", `/containers/prune?${filters({ "label!": ["keep=yes"] })}`);
  assert.equal(some.status, 200, some.body.toString());
  const r = some.json<{ ContainersDeleted: string[]; SpaceReclaimed: number }>();
  assert.deepEqual(r.ContainersDeleted.sort(), [created, exited].sort());
  assert.equal(r.SpaceReclaimed, 4096, "the removed containers' writable layers, not the running one's");
  assert.deepEqual(names(), ["/pr-labelled", "/pr-running"]);
  const rest = (await request(h.socketPath, "POST", "/containers/prune")).json<{ ContainersDeleted: string[] }>();
  assert.deepEqual(rest.ContainersDeleted, [labelled]);
  assert.deepEqual((await request(h.socketPath, "POST", "/containers/prune")).json(), { ContainersDeleted: null, SpaceReclaimed: 0 });
  assert.deepEqual(names(), ["/pr-running"]);
  await request(h.socketPath, "DELETE", `/containers/${running}?force=1`);
});

test("images/prune: dangling only by default, dangling=false takes every unused image; used ones stay", async () => {
  const id = (c: string) => "sha256:" + c.repeat(64);
  h.images.images.set(id("d"), { id: id("d"), names: [], created: new Date("2025-01-01T00:00:00Z"), labels: {}, size: 1000 });
  h.images.images.set(id("e"), { id: id("e"), names: ["docker.io/library/old:1"], created: new Date("2025-01-01T00:00:00Z"), labels: { team: "a" }, size: 2000 });
  h.images.images.set(id("f"), { id: id("f"), names: ["docker.io/library/new:1"], created: new Date(), labels: {}, size: 4000 });
  const user = await create("pr-user"); // busybox, never started: still in use
  const dangling = await request(h.socketPath, "POST", "/images/prune");
  assert.equal(dangling.status, 200);
  assert.deepEqual(dangling.json(), { ImagesDeleted: [{ Deleted: id("d") }], SpaceReclaimed: 1000 });

  const bad = await request(h.socketPath, "POST", `/images/prune?${filters({ dangling: ["maybe"] })}`);
  assert.equal(bad.status, 400);
  assert.match(bad.json<{ message: string }>().message, /dangling=\[maybe\]/);
  const labelled = await request(h.socketPath, "POST", `/images/prune?${filters({ dangling: ["false"], label: ["team=a"] })}`);
  assert.deepEqual(labelled.json(), { ImagesDeleted: [{ Untagged: "old:1" }, { Deleted: id("e") }], SpaceReclaimed: 2000 });
  const older = await request(h.socketPath, "POST", `/images/prune?${filters({ dangling: ["false"], until: ["24h"] })}`);
  assert.deepEqual(older.json(), { ImagesDeleted: null, SpaceReclaimed: 0 }, "busybox is in use, new:1 is too new");
  const all = await request(h.socketPath, "POST", `/images/prune?${filters({ dangling: ["false"] })}`);
  assert.deepEqual(all.json(), { ImagesDeleted: [{ Untagged: "new:1" }, { Deleted: id("f") }], SpaceReclaimed: 4000 });
  assert.deepEqual([...h.images.images.keys()], [id("b")]);
  await request(h.socketPath, "DELETE", `/containers/${user}`);
});

test("build/prune: there is no build cache, so nothing is removed", async () => {
  assert.deepEqual((await request(h.socketPath, "POST", "/build/prune?all=1")).json(), { CachesDeleted: null, SpaceReclaimed: 0 });
});
