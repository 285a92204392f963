// /containers/{id}/changes, /export and POST /commit over the fake engine: Docker's shapes and
// the query as dockerd reads it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import tar from "tar-stream";
import { commitChanges, commitReference } from "./container-fs-routes.js";
import { request, startHarness, type Harness } from "./testdata/harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

async function create(name: string): Promise<string> {
  const r = await request(h.socketPath, "POST", `/v1.41/containers/create?name=${name}`, { body: { Image: "busybox", Cmd: ["true"] } });
  assert.equal(r.status, 201, r.body.toString());
  return r.json<{ Id: string }>().Id;
}

function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name }, body);
  pack.finalize();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    pack.on("data", (c: unknown) => chunks.push(c as Buffer));
    pack.on("end", () => resolve(Buffer.concat(chunks)));
  });
}

test("changes: null without changes (as dockerd), then [{Path, Kind}]", async () => {
  await create("fs-changes");
  const empty = await request(h.socketPath, "GET", "/containers/fs-changes/changes");
  assert.equal(empty.status, 200);
  assert.equal(empty.body.toString().trim(), "null");
  const put = await request(h.socketPath, "PUT", "/containers/fs-changes/archive?path=/", { raw: await tarOf({ x: "1" }), headers: { "Content-Type": "application/x-tar" } });
  assert.equal(put.status, 200);
  assert.deepEqual((await request(h.socketPath, "GET", "/containers/fs-changes/changes")).json(), [{ Path: "/x", Kind: 1 }]);
  assert.equal((await request(h.socketPath, "GET", "/containers/nope/changes")).status, 404);
});

test("export: a tar stream", async () => {
  await create("fs-export");
  await request(h.socketPath, "PUT", "/containers/fs-export/archive?path=/", { raw: await tarOf({ f: "content" }), headers: { "Content-Type": "application/x-tar" } });
  const r = await request(h.socketPath, "GET", "/containers/fs-export/export");
  assert.equal(r.status, 200);
  assert.equal(r.headers["content-type"], "application/x-tar");
  assert.match(r.body.toString("latin1"), /content/);
});

test("commit: query and body reach the engine; 201 {Id}", async () => {
  await create("fs-commit");
  const q = "container=fs-commit&repo=myrepo/img&tag=v1&comment=msg&author=me&pause=0&changes=CMD%20%5B%22sh%22%5D&changes=ENV%20A%3D1";
  const r = await request(h.socketPath, "POST", `/v1.41/commit?${q}`, { body: { Env: ["B=2"] } });
  assert.equal(r.status, 201, r.body.toString());
  assert.deepEqual(r.json(), { Id: "sha256:" + "c".repeat(64) });
  const call = h.engine.calls.filter((c) => c.method === "commit").at(-1)!.args as [string, Record<string, any>];
  assert.equal(call[0], "fs-commit");
  assert.deepEqual({ ...call[1], containerConfig: undefined }, {
    containerConfig: undefined, config: { Env: ["B=2"] }, changes: ['CMD ["sh"]', "ENV A=1"], author: "me", comment: "msg",
    reference: "myrepo/img:v1", pause: false,
  });
  assert.equal(call[1].containerConfig.Image, "busybox");
  // No body and no pause: the container's config, paused by default.
  await request(h.socketPath, "POST", "/commit?container=fs-commit");
  const bare = h.engine.calls.filter((c) => c.method === "commit").at(-1)!.args[1] as Record<string, any>;
  assert.equal(bare.pause, true);
  assert.equal(bare.config, undefined);
  assert.equal(bare.reference, undefined);
  assert.equal((await request(h.socketPath, "POST", "/commit?container=nope")).status, 404);
  assert.equal((await request(h.socketPath, "POST", "/commit?container=fs-commit&repo=Bad:Repo")).status, 400);
});

test("commit changes as dockerd reads them: Dockerfile lines, several per parameter", () => {
  assert.deepEqual(commitChanges(['CMD ["sh"]', "ENV A=1\nLABEL x=\n\n# a comment", "ENV B=\\\n  2"]), ['CMD ["sh"]', "ENV A=1", "LABEL x=", "ENV B=  2"]);
  assert.deepEqual(commitChanges([]), []);
});

test("commit references as dockerd's RepoTagReference reads them", () => {
  assert.equal(commitReference("", "x"), undefined);
  assert.equal(commitReference("repo", ""), "repo:latest");
  assert.equal(commitReference("localhost:5000/a/b", "1.0"), "localhost:5000/a/b:1.0");
  assert.throws(() => commitReference("UPPER", ""), /invalid reference format/);
  assert.throws(() => commitReference("repo", "bad tag"), /invalid reference format/);
});
