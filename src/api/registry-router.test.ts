import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { isBerthError } from "../base/errors.js";
import { progressBar } from "./json-stream.js";
import { parseAuthBody } from "./registry-router.js";
import { request, startHarness, type Harness } from "./testdata/harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const ndjson = (b: Buffer) => b.toString().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
const authHeader = (o: object) => ({ "X-Registry-Auth": Buffer.from(JSON.stringify(o)).toString("base64url") });

test("auth: the credentials go to the images layer; its answer is dockerd's body, a refusal its 500", async () => {
  const ok = await request(h.socketPath, "POST", "/v1.41/auth", { body: { username: "u", password: "p", serveraddress: "127.0.0.1:5000" } });
  assert.equal(ok.status, 200, ok.body.toString());
  assert.equal(ok.body.toString(), '{"IdentityToken":"","Status":"Login Succeeded"}\n');
  const bad = await request(h.socketPath, "POST", "/v1.41/auth", { body: { username: "u", password: "x", serveraddress: "127.0.0.1:5000" } });
  assert.equal(bad.status, 500);
  assert.deepEqual(bad.json(), { message: "login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized" });
  // The CLI's body (Go field names), and docker-py's `auth` form.
  assert.deepEqual(parseAuthBody({ Username: "u", Password: "p", ServerAddress: "r:5000", Email: "" }), { serverAddress: "r:5000", username: "u", password: "p" });
  assert.deepEqual(parseAuthBody({ auth: Buffer.from("u:p:q").toString("base64"), serveraddress: "r" }), { serverAddress: "r", username: "u", password: "p:q" });
  assert.throws(() => parseAuthBody({ identitytoken: "tok", serveraddress: "r" }), (e: unknown) => isBerthError(e, "invalid-argument") && /IdentityToken/.test(e.message));
});

test("push: dockerd's progress messages, the digest line and the aux; every tag of the repository without ?tag", async () => {
  h.images.images.set("sha256:" + "c".repeat(64), { id: "sha256:" + "c".repeat(64), names: ["127.0.0.1:5000/bb:1", "127.0.0.1:5000/bb:2"], created: new Date(), labels: {}, size: 10 });
  const headers = authHeader({ username: "u", password: "p", serveraddress: "127.0.0.1:5000" });
  const missing = await request(h.socketPath, "POST", "/v1.41/images/127.0.0.1:5000/bb/push?tag=1");
  assert.equal(missing.status, 400, "dockerd 20.10 needs X-Registry-Auth");
  const one = await request(h.socketPath, "POST", "/v1.41/images/127.0.0.1:5000/bb/push?tag=1", { headers });
  assert.equal(one.status, 200);
  assert.deepEqual(ndjson(one.body), [
    { status: "The push refers to repository [127.0.0.1:5000/bb]" },
    { status: "Preparing", progressDetail: {}, id: "aaaaaaaaaaaa" },
    { status: "Pushing", progressDetail: { current: 0, total: 100 }, progress: progressBar(0, 100), id: "aaaaaaaaaaaa" },
    { status: "Pushed", progressDetail: {}, id: "aaaaaaaaaaaa" },
    { status: "1: digest: sha256:" + "9".repeat(64) + " size: 527" },
    { progressDetail: {}, aux: { Tag: "1", Digest: "sha256:" + "9".repeat(64), Size: 527 } },
  ]);
  assert.deepEqual(h.images.calls.filter((c) => c.method === "push").at(-1)!.args, ["127.0.0.1:5000/bb:1", { credentials: { username: "u", password: "p" } }]);
  const all = ndjson((await request(h.socketPath, "POST", "/v1.41/images/127.0.0.1:5000/bb/push", { headers })).body);
  assert.deepEqual(all.filter((m) => m.aux).map((m) => (m.aux as { Tag: string }).Tag), ["1", "2"]);
  assert.ok(all.some((m) => m.status === "Layer already exists"), "tag 1 is in the registry already");
  // An unknown image is reported in the stream after the first line, as dockerd does.
  const unknown = await request(h.socketPath, "POST", "/v1.41/images/127.0.0.1:5000/nope/push", { headers: { "X-Registry-Auth": "e30=" } });
  assert.equal(unknown.status, 200);
  assert.deepEqual(ndjson(unknown.body).at(-1), { errorDetail: { message: "An image does not exist locally with the tag: 127.0.0.1:5000/nope" }, error: "An image does not exist locally with the tag: 127.0.0.1:5000/nope" });
  const noTag = ndjson((await request(h.socketPath, "POST", "/v1.41/images/127.0.0.1:5000/bb/push?tag=nope", { headers })).body);
  assert.equal(noTag.at(-1)!.error, "tag does not exist: 127.0.0.1:5000/bb:nope");

  const dist = await request(h.socketPath, "GET", "/v1.41/distribution/127.0.0.1:5000/bb:1/json", { headers });
  assert.equal(dist.status, 200);
  assert.deepEqual(dist.json(), {
    Descriptor: { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: "sha256:" + "9".repeat(64), size: 527 },
    Platforms: [{ architecture: "amd64", os: "linux" }],
  });
  assert.equal((await request(h.socketPath, "GET", "/v1.41/distribution/127.0.0.1:5000/none:1/json")).status, 404);
});
