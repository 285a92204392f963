// /volumes over the real volume store (plain directories in a temp root: no mounts involved).
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createVolumeStore, type VolumeStore } from "../volumes/index.js";
import type { DiskUsage } from "./backends.js";
import { parseVolumeCreateBody, volumeJson } from "./volumes-router.js";
import { FakeSystem } from "./testdata/fake-backend.js";
import { docker, hasDocker, request, startHarness, type Harness } from "./testdata/harness.js";

let h: Harness;
let store: VolumeStore;
let root: string;
before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-api-vol-"));
  store = await createVolumeStore({ root, now: () => new Date("2024-05-01T10:00:00Z") });
  const { FakeEngine, FakeImages } = await import("./testdata/fake-backend.js");
  // /system/df with the volumes' usage, as berthd assembles it.
  const system = new (class extends FakeSystem {
    override async df(): Promise<DiskUsage> {
      return { ...(await super.df()), volumes: await store.list({ usage: true }) };
    }
  })(new FakeEngine(), new FakeImages());
  h = await startHarness({ backends: { volumes: store, system } });
});
after(async () => {
  await h.close();
  await fs.rm(root, { recursive: true, force: true });
});

const CONTAINER = "c".repeat(64);
const filters = (f: unknown) => `filters=${encodeURIComponent(JSON.stringify(f))}`;

describe("volume JSON and bodies", () => {
  test("dockerd's Volume; UsageData only when measured", () => {
    const v = { name: "v", driver: "local", mountpoint: "/r/volumes/v/_data", createdAt: "2024-05-01T10:00:00Z", labels: { a: "b" }, options: {}, scope: "local" as const };
    assert.deepEqual(volumeJson(v), { CreatedAt: "2024-05-01T10:00:00Z", Driver: "local", Labels: { a: "b" }, Mountpoint: "/r/volumes/v/_data", Name: "v", Options: {}, Scope: "local" });
    assert.deepEqual(volumeJson({ ...v, usageData: { size: 12, refCount: 1 } }).UsageData, { Size: 12, RefCount: 1 });
  });

  test("create body: Name, Driver, DriverOpts, Labels; a cluster volume is refused", () => {
    assert.deepEqual(parseVolumeCreateBody({ Name: "x", Driver: "local", DriverOpts: {}, Labels: { a: "b" } }), { name: "x", driver: "local", driverOptions: {}, labels: { a: "b" } });
    assert.deepEqual(parseVolumeCreateBody(undefined), {});
    assert.deepEqual(parseVolumeCreateBody({ Name: "" }), {});
    assert.throws(() => parseVolumeCreateBody({ Name: "x", ClusterVolumeSpec: { Group: "g" } }), /unsupported volume option: ClusterVolumeSpec=/);
    assert.throws(() => parseVolumeCreateBody({ Labels: { a: 1 } }), /invalid Labels/);
  });
});

describe("/volumes routes", () => {
  test("create 201, inspect, list with filters {Volumes, Warnings}", async () => {
    const r = await request(h.socketPath, "POST", "/v1.43/volumes/create", { body: { Name: "data", Driver: "local", DriverOpts: {}, Labels: { tier: "db" } } });
    assert.equal(r.status, 201);
    assert.deepEqual(r.json(), {
      CreatedAt: "2024-05-01T10:00:00Z", Driver: "local", Labels: { tier: "db" }, Mountpoint: path.join(root, "volumes", "data", "_data"),
      Name: "data", Options: {}, Scope: "local",
    });
    const anon = (await request(h.socketPath, "POST", "/volumes/create", { body: {} })).json<{ Name: string; Labels: Record<string, string> }>();
    assert.match(anon.Name, /^[0-9a-f]{64}$/);
    assert.deepEqual(anon.Labels, { "com.docker.volume.anonymous": "" });
    assert.equal((await request(h.socketPath, "GET", "/volumes/data")).json<{ Name: string }>().Name, "data");
    const missing = await request(h.socketPath, "GET", "/volumes/nope");
    assert.equal(missing.status, 404);
    const list = (await request(h.socketPath, "GET", "/volumes")).json<{ Volumes: { Name: string }[]; Warnings: unknown }>();
    assert.deepEqual(list.Warnings, []);
    assert.deepEqual(list.Volumes.map((v) => v.Name).sort(), [anon.Name, "data"].sort());
    const names = async (f: unknown) => (await request(h.socketPath, "GET", `/volumes?${filters(f)}`)).json<{ Volumes: { Name: string }[] }>().Volumes.map((v) => v.Name);
    assert.deepEqual(await names({ label: ["tier=db"] }), ["data"]);
    // "t" is not a hex digit: the anonymous volume's random hex name never matches (it can start with "da").
    assert.deepEqual(await names({ name: ["^dat"] }), ["data"]);
    assert.deepEqual(await names({ driver: ["other"] }), []);
    store.acquire("data", CONTAINER);
    assert.deepEqual(await names({ dangling: ["true"] }), [anon.Name]);
    assert.deepEqual(await names({ dangling: ["false"] }), ["data"]);
    const bad = await request(h.socketPath, "GET", `/volumes?${filters({ colour: ["red"] })}`);
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json(), { message: "invalid filter 'colour'" });
    store.release("data", CONTAINER);
    await store.remove(anon.Name);
  });

  test("delete: 204, 409 in use (dockerd's message), 404, force makes missing fine", async () => {
    await store.create({ name: "rmme" });
    store.acquire("rmme", CONTAINER);
    const busy = await request(h.socketPath, "DELETE", "/volumes/rmme");
    assert.equal(busy.status, 409);
    assert.deepEqual(busy.json(), { message: `remove rmme: volume is in use - [${CONTAINER}]` });
    assert.equal((await request(h.socketPath, "DELETE", "/volumes/rmme?force=1")).status, 409, "force does not remove a volume in use");
    store.release("rmme", CONTAINER);
    assert.equal((await request(h.socketPath, "DELETE", "/volumes/rmme")).status, 204);
    assert.equal((await request(h.socketPath, "DELETE", "/volumes/rmme")).status, 404);
    assert.equal((await request(h.socketPath, "DELETE", "/volumes/rmme?force=1")).status, 204);
  });

  test("prune: anonymous unused only from 1.42, all unused below (all=true added), label filters", async () => {
    for (const v of await store.list()) await store.remove(v.name);
    await store.create({ name: "named" });
    await store.create({ name: "keepme", labels: { keep: "1" } });
    const anon = await store.create({});
    const used = await store.create({});
    store.acquire(used.name, CONTAINER);
    await fs.writeFile(path.join(anon.mountpoint, "f"), "12345");
    const r = await request(h.socketPath, "POST", "/v1.43/volumes/prune");
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { VolumesDeleted: [anon.name], SpaceReclaimed: 5 });
    const old = await request(h.socketPath, "POST", `/v1.41/volumes/prune?${filters({ "label!": ["keep"] })}`);
    assert.deepEqual(old.json(), { VolumesDeleted: ["named"], SpaceReclaimed: 0 });
    const all = await request(h.socketPath, "POST", `/v1.43/volumes/prune?${filters({ all: ["true"] })}`);
    assert.deepEqual(all.json<{ VolumesDeleted: string[] }>().VolumesDeleted, ["keepme"]);
    assert.equal((await request(h.socketPath, "POST", `/volumes/prune?${filters({ dangling: ["true"] })}`)).status, 400);
    store.release(used.name, CONTAINER);
    await store.remove(used.name);
  });

  test("system df lists volumes with UsageData", async () => {
    const v = await store.create({ name: "dfvol" });
    await fs.writeFile(path.join(v.mountpoint, "f"), "abc");
    const df = (await request(h.socketPath, "GET", "/system/df")).json<{ Volumes: { Name: string; UsageData: { Size: number; RefCount: number } }[] }>();
    assert.deepEqual(df.Volumes.find((x) => x.Name === "dfvol")!.UsageData, { Size: 3, RefCount: 0 });
    await store.remove("dfvol");
  });
});

describe("docker CLI 28 over the volume store", { skip: hasDocker ? false : "no docker CLI" }, () => {
  test("volume create, ls, inspect, rm, prune; system df", async () => {
    const made = await docker(h, ["volume", "create", "--label", "a=b", "clivol"]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(made.stdout, "clivol\n");
    const ls = await docker(h, ["volume", "ls", "--format", "{{.Driver}} {{.Name}}"]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(ls.stdout, "local clivol\n");
    const insp = await docker(h, ["volume", "inspect", "--format", "{{.Name}} {{.Labels.a}} {{.Scope}}", "clivol"]);
    assert.equal(insp.stdout, "clivol b local\n");
    const df = await docker(h, ["system", "df", "--format", "{{.Type}} {{.TotalCount}}"]);
    assert.equal(df.code, 0, df.stderr);
    assert.match(df.stdout, /^Local Volumes 1$/m);
    const anon = await docker(h, ["volume", "create"]);
    const pruned = await docker(h, ["volume", "prune", "-f"]);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, new RegExp(`Deleted Volumes:\\n${anon.stdout.trim()}\\n`));
    assert.equal((await docker(h, ["volume", "rm", "clivol"])).code, 0);
    const gone = await docker(h, ["volume", "inspect", "clivol"]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no such volume/);
  });
});
