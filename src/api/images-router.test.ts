import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";
import type { ImageService } from "../images/types.js";
import type { ImageBackend } from "./backends.js";
import { familiarName } from "./image-json.js";
import { describeReference, pullReference, referenceMatches, registryCredentials } from "./images-router.js";
import { humanSize, progressBar } from "./json-stream.js";
import { request, startHarness, type Harness } from "./testdata/harness.js";

// The images layer's service is usable as the API's backend as it is.
const _imageServiceFits = (s: ImageService): ImageBackend => s;
void _imageServiceFits;

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const ndjson = (b: Buffer) => b.toString().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

test("names are shown in the familiar form", () => {
  assert.equal(familiarName("docker.io/library/busybox:latest"), "busybox:latest");
  assert.equal(familiarName("docker.io/library/busybox@sha256:abc"), "busybox@sha256:abc");
  assert.equal(familiarName("docker.io/user/app:1"), "user/app:1");
  assert.equal(familiarName("docker.io/library/a/b:1"), "library/a/b:1");
  assert.equal(familiarName("localhost:5000/x:y"), "localhost:5000/x:y");
});

test("pull references, the 'Pulling from' line, and X-Registry-Auth", () => {
  assert.equal(pullReference("busybox", "latest"), "busybox:latest");
  assert.equal(pullReference("busybox:1.36", "latest"), "busybox:latest");
  assert.equal(pullReference("localhost:5000/x", ""), "localhost:5000/x");
  assert.equal(pullReference("localhost:5000/x", "v1"), "localhost:5000/x:v1");
  assert.equal(pullReference("busybox", "sha256:" + "a".repeat(64)), "busybox@sha256:" + "a".repeat(64));
  assert.deepEqual(describeReference("busybox:latest"), { path: "library/busybox", tagOrDigest: "latest" });
  assert.deepEqual(describeReference("docker.io/library/alpine:3"), { path: "library/alpine", tagOrDigest: "3" });
  assert.deepEqual(describeReference("localhost:5000/team/app"), { path: "team/app", tagOrDigest: "latest" });
  assert.deepEqual(describeReference("user/app@sha256:abc"), { path: "user/app", tagOrDigest: "sha256:abc" });
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  assert.deepEqual(registryCredentials(enc({ username: "u", password: "p", serveraddress: "r" })), { username: "u", password: "p" });
  assert.deepEqual(registryCredentials(enc({ auth: Buffer.from("u2:p:2").toString("base64") })), { username: "u2", password: "p:2" });
  assert.equal(registryCredentials(enc({})), undefined);
  assert.equal(registryCredentials(undefined), undefined);
  assert.throws(() => registryCredentials("%%%"), /X-Registry-Auth/);
});

test("reference filter globs and progress text", () => {
  assert.ok(referenceMatches("busy*", "busybox:latest"));
  assert.ok(referenceMatches("busybox", "busybox:latest"));
  assert.ok(referenceMatches("busybox:lat*", "busybox:latest"));
  assert.ok(!referenceMatches("alp*", "busybox:latest"));
  assert.equal(humanSize(1984172), "1.984MB");
  assert.equal(humanSize(999), "999B");
  assert.equal(progressBar(50, 100), `[${"=".repeat(25)}>${" ".repeat(24)}]      50B/100B`);
});

test("list: docker's summary shape, newest first, filters", async () => {
  const r = await request(h.socketPath, "GET", "/v1.43/images/json");
  assert.equal(r.status, 200);
  const [img] = r.json<Record<string, unknown>[]>();
  assert.deepEqual(img, {
    Containers: -1, Created: 1704067200, Id: "sha256:" + "b".repeat(64), Labels: null, ParentId: "", RepoDigests: [],
    RepoTags: ["busybox:latest"], SharedSize: -1, Size: 4261550, VirtualSize: 4261550,
  });
  const f = (x: unknown) => request(h.socketPath, "GET", `/images/json?filters=${encodeURIComponent(JSON.stringify(x))}`);
  assert.equal((await f({ reference: ["busy*"] })).json<unknown[]>().length, 1);
  assert.equal((await f({ reference: ["alpine"] })).json<unknown[]>().length, 0);
  assert.equal((await f({ dangling: ["true"] })).json<unknown[]>().length, 0);
  assert.equal((await f({ bogus: ["1"] })).status, 400);
});

test("inspect, history, tag (201), remove (untagged + deleted)", async () => {
  const insp = (await request(h.socketPath, "GET", "/images/busybox/json")).json<Record<string, any>>();
  assert.equal(insp.Id, "sha256:" + "b".repeat(64));
  assert.deepEqual(insp.RepoTags, ["busybox:latest"]);
  assert.equal(insp.Created, "2024-01-01T00:00:00Z");
  assert.deepEqual(insp.Config.Cmd, ["sh"]);
  assert.deepEqual(insp.RootFS, { Type: "layers", Layers: ["sha256:" + "e".repeat(64)] });
  assert.equal((await request(h.socketPath, "GET", "/images/nope/json")).status, 404);
  const hist = (await request(h.socketPath, "GET", "/images/busybox:latest/history")).json<Record<string, unknown>[]>();
  assert.deepEqual(Object.keys(hist[0]!), ["Comment", "Created", "CreatedBy", "Id", "Size", "Tags"]);
  assert.equal(hist[1]!.Id, "<missing>");
  const tag = await request(h.socketPath, "POST", "/images/busybox/tag?repo=localhost:5000/mine&tag=v1");
  assert.equal(tag.status, 201);
  assert.ok((await request(h.socketPath, "GET", "/images/localhost:5000/mine:v1/json")).status === 200, "a name with a port and slash routes");
  assert.equal((await request(h.socketPath, "POST", "/images/busybox/tag")).status, 400);
  const rm = await request(h.socketPath, "DELETE", "/images/localhost:5000/mine:v1?force=1");
  assert.deepEqual(rm.json(), [{ Untagged: "busybox:latest" }, { Untagged: "localhost:5000/mine:v1" }, { Deleted: "sha256:" + "b".repeat(64) }]);
  assert.deepEqual(h.images.calls.at(-1), { method: "remove", args: ["localhost:5000/mine:v1", { force: true, signal: (h.images.calls.at(-1)!.args[1] as { signal: AbortSignal }).signal }] });
  assert.equal((await request(h.socketPath, "DELETE", "/images/busybox")).status, 404);
});

test("pull: NDJSON progress as dockerd words it", async () => {
  const auth = Buffer.from(JSON.stringify({ username: "me", password: "pw" })).toString("base64url");
  const r = await request(h.socketPath, "POST", "/v1.43/images/create?fromImage=alpine&tag=3", { headers: { "X-Registry-Auth": auth } });
  assert.equal(r.status, 200);
  assert.equal(r.headers["content-type"], "application/json");
  const msgs = ndjson(r.body);
  assert.deepEqual(msgs[0], { status: "Pulling from library/alpine", id: "3" });
  assert.deepEqual(msgs[1], { status: "Pulling fs layer", progressDetail: {}, id: "aaaaaaaaaaaa" });
  assert.ok(msgs.some((m) => m.status === "Downloading" && (m.progressDetail as { current: number }).current === 50));
  assert.deepEqual(msgs.at(-3), { status: "Pull complete", progressDetail: {}, id: "aaaaaaaaaaaa" });
  assert.deepEqual(msgs.at(-2), { status: "Digest: sha256:" + "d".repeat(64) });
  assert.deepEqual(msgs.at(-1), { status: "Status: Downloaded newer image for alpine:3" });
  assert.deepEqual(h.images.calls.find((c) => c.method === "pull")!.args, ["alpine:3", { credentials: { username: "me", password: "pw" } }]);
});

test("pull errors: before any progress a status, after it an in-band error object", async () => {
  const missing = await request(h.socketPath, "POST", "/images/create?fromImage=nonexistent&tag=latest");
  assert.equal(missing.status, 404);
  assert.match(missing.json<{ message: string }>().message, /pull access denied/);
  const broken = await request(h.socketPath, "POST", "/images/create?fromImage=broken&tag=latest");
  assert.equal(broken.status, 200);
  assert.deepEqual(ndjson(broken.body).at(-1), { errorDetail: { message: "unexpected EOF" }, error: "unexpected EOF" });
  assert.equal((await request(h.socketPath, "POST", "/images/create")).status, 400);
  assert.equal((await request(h.socketPath, "POST", "/images/create?fromImage=x&platform=linux/s390x")).status, 400);
});

test("load: the body streams to the backend; quiet gives just the result lines", async () => {
  const quiet = await request(h.socketPath, "POST", "/images/load?quiet=1", { raw: Buffer.alloc(4096), headers: { "Content-Type": "application/x-tar" } });
  assert.equal(quiet.status, 200);
  assert.equal(quiet.body.toString(), '{"stream":"Loaded image: loaded:latest\\n"}\n');
  const loud = ndjson((await request(h.socketPath, "POST", "/images/load?quiet=0", { raw: Buffer.alloc(100) })).body);
  assert.equal(loud[0]!.status, "Loading layer");
  const byDefault = await request(h.socketPath, "POST", "/images/load", { raw: Buffer.alloc(100) });
  assert.equal(byDefault.body.toString(), '{"stream":"Loaded image: loaded:latest\\n"}\n', "dockerd's quiet defaults to true");
  // dockerd 20.10 answers 200 and reports even an immediate failure in the stream (docker-py's
  // ImageLoadError comes from that line).
  const empty = await request(h.socketPath, "POST", "/images/load?quiet=1", { raw: "" });
  assert.equal(empty.status, 200);
  assert.deepEqual(ndjson(empty.body), [{ errorDetail: { message: "unexpected EOF: the archive is empty" }, error: "unexpected EOF: the archive is empty" }]);
});

test("load streams without the JSON body cap", async () => {
  const h2 = await startHarness({ maxBodyBytes: 1024 });
  try {
    const r = await request(h2.socketPath, "POST", "/images/load?quiet=1", { raw: Buffer.alloc(64 * 1024) });
    assert.equal(r.status, 200);
  } finally {
    await h2.close();
  }
});

test("import (fromSrc=-): repo, tag, changes and message reach the backend", async () => {
  const r = await request(h.socketPath, "POST", "/images/create?fromSrc=-&repo=imported&tag=v2&message=hi&changes=CMD%20%5B%22sh%22%5D&changes=ENV%20A%3Db", { raw: Buffer.alloc(1024) });
  assert.equal(r.status, 200);
  assert.deepEqual(ndjson(r.body), [{ status: "sha256:" + "2".repeat(64) }]);
  const call = h.images.calls.find((c) => c.method === "importRootfs")!.args[0] as Record<string, unknown>;
  assert.deepEqual({ ...call, signal: undefined }, { signal: undefined, changes: ['CMD ["sh"]', "ENV A=b"], tag: "imported:v2", message: "hi" });
  assert.equal((await request(h.socketPath, "POST", "/images/create?fromSrc=http://example.com/x.tar")).status, 501);
});

test("save: a tar body, one image or several; unknown names are a 404 before any byte", async () => {
  const one = await request(h.socketPath, "GET", "/images/loaded/get");
  assert.equal(one.status, 404);
  await request(h.socketPath, "POST", "/images/create?fromImage=alpine&tag=3");
  h.images.images.set("sha256:" + "3".repeat(64), { id: "sha256:" + "3".repeat(64), names: ["docker.io/library/alpine:3"], created: new Date(), labels: {}, size: 1 });
  const r = await new Promise<{ type: string | undefined; size: number }>((resolve) => {
    http.get({ socketPath: h.socketPath, path: "/images/get?names=alpine:3&names=alpine:3", agent: false }, (res) => {
      let size = 0;
      res.on("data", (d: Buffer) => (size += d.length));
      res.on("end", () => resolve({ type: res.headers["content-type"], size }));
    });
  });
  assert.equal(r.type, "application/x-tar");
  assert.ok(r.size >= 1024);
});
