// Prune, swarm/plugin answers, a failed load, and login/push/distribution against a registry with
// htpasswd auth — through the real docker CLI (28.x) and plain HTTP on the socket, as users and
// client libraries hit them. COMPAT_DOCKER_HOST=unix:///path/docker.sock runs the same against
// dockerd 20.10 (with busybox:latest loaded).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { startBerthd, type Berthd } from "../helpers/berthd.js";
import { DOCKER, runDocker } from "../helpers/docker-cli.js";
import { HTPASSWD_USER, registryAvailable, startRegistry, type TestRegistry } from "../helpers/registry.js";

const pexec = promisify(execFile);
const HAVE_CLI = existsSync(DOCKER);
let b: Berthd | undefined;
let host = process.env.COMPAT_DOCKER_HOST ?? "";
let tmp: string;
const RUN = ["--network", "none"];
const LABEL = `berth-prune-test=${process.pid}`;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-prune-"));
  if (!host) {
    b = await startBerthd({ label: "prune" });
    host = b.dockerHost;
    const tar = path.join(tmp, "busybox.tar");
    await pexec(process.execPath, ["--import", "tsx", "scripts/busybox-image.ts", tar], { cwd: new URL("../..", import.meta.url).pathname });
    if (HAVE_CLI) await ok(["load", "-i", tar]);
  }
});
after(async () => {
  await b?.destroy();
  await fs.rm(tmp, { recursive: true, force: true });
});

function docker(args: string[], o: { input?: string; env?: Record<string, string> } = {}) {
  return runDocker(host, args, { ...o, env: { DOCKER_CONFIG: path.join(tmp, "cfg"), ...o.env } });
}
async function ok(args: string[], o?: { input?: string }): Promise<string> {
  const r = await docker(args, o);
  assert.equal(r.code, 0, `docker ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** One request on the daemon's socket: status and body. */
function api(method: string, p: string, o: { body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: host.replace(/^unix:\/\//, ""), method, path: p, headers: { ...o.headers, ...(o.body !== undefined ? { "Content-Length": String(Buffer.byteLength(o.body)) } : {}) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

/** A one-file rootfs tarball, for `docker import` (each import is a new image ID). */
async function rootfsTar(name: string): Promise<Buffer> {
  const dir = await fs.mkdtemp(path.join(tmp, "rootfs-"));
  await fs.writeFile(path.join(dir, name), `${name} ${Date.now()}\n`);
  const { stdout } = await pexec("tar", ["-C", dir, "-cf", "-", name], { encoding: "buffer" });
  return stdout;
}
async function importImage(name: string, changes: string[] = []): Promise<string> {
  const tar = path.join(tmp, `${name.replace(/\W/g, "_")}.tar`);
  await fs.writeFile(tar, await rootfsTar("f"));
  const out = await ok(["import", ...changes.flatMap((c) => ["--change", c]), tar, ...(name ? [name] : [])]);
  return out.trim();
}

describe("prune, swarm, load through the docker CLI", { skip: HAVE_CLI ? false : `no docker CLI at ${DOCKER}` }, () => {
  test("ps --filter exited=0 lists only containers that ran; container prune removes every stopped one matching", async () => {
    const created = (await ok(["create", "--label", LABEL, ...RUN, "busybox", "true"])).trim();
    assert.equal(await ok(["run", "--label", LABEL, ...RUN, "busybox", "true"]), "");
    const exited0 = (await ok(["ps", "-aq", "--no-trunc", "--filter", `label=${LABEL}`, "--filter", "exited=0"])).trim().split("\n").filter(Boolean);
    assert.equal(exited0.length, 1, "the never-started container is not 'exited 0'");
    assert.notEqual(exited0[0], created);
    const running = (await ok(["run", "-d", "--label", LABEL, ...RUN, "busybox", "sleep", "300"])).trim();
    const failed = await docker(["run", "--label", LABEL, ...RUN, "busybox", "sh", "-c", "head -c 100000 /dev/zero > /data; exit 3"]);
    assert.equal(failed.code, 3);
    const kept = (await ok(["create", "--label", `${LABEL}-other`, ...RUN, "busybox", "true"])).trim();

    const out = await ok(["container", "prune", "-f", "--filter", `label=${LABEL}`]);
    assert.match(out, /^Deleted Containers:\n/);
    // The 100 kB the failed one wrote in its writable layer (plus metadata).
    assert.match(out, /Total reclaimed space: 1\d\d(\.\d+)?kB\n/, out);
    const deleted = out.split("\n").filter((l) => /^[0-9a-f]{64}$/.test(l));
    assert.equal(deleted.length, 3, out);
    assert.ok(deleted.includes(created) && deleted.includes(exited0[0]!));
    const left = (await ok(["ps", "-aq", "--no-trunc", "--filter", `label=${LABEL}`])).trim().split("\n");
    assert.deepEqual(left, [running], "the running container stays");
    assert.equal((await docker(["inspect", kept])).code, 0, "a container outside the filter stays");
    await ok(["rm", "-f", running, kept]);
  });

  test("image prune: a dangling image goes, one a container uses stays; -a with a label takes tagged unused ones", async () => {
    const dangling = await importImage("");
    assert.match(dangling, /^sha256:[0-9a-f]{64}$/);
    const tagged = await importImage("berth-prune-tagged:1", [`LABEL ${LABEL}`]);
    const user = await importImage("berth-prune-used:1", [`LABEL ${LABEL}`]);
    const ctr = (await ok(["create", ...RUN, "berth-prune-used:1", "/f"])).trim();

    const out = await ok(["image", "prune", "-f", "--filter", `until=1h`]);
    assert.doesNotMatch(out, new RegExp(dangling.slice(7)), "until=1h: the new dangling image is too new");
    const out2 = await ok(["image", "prune", "-f"]);
    assert.match(out2, new RegExp(`deleted: ${dangling}`), out2);
    assert.notEqual((await docker(["image", "inspect", dangling])).code, 0);

    const all = await ok(["image", "prune", "-a", "-f", "--filter", `label=${LABEL}`]);
    assert.match(all, /untagged: berth-prune-tagged:1/, all);
    assert.match(all, new RegExp(`deleted: ${tagged}`));
    assert.doesNotMatch(all, /berth-prune-used/, "an image a (never started) container uses is kept");
    assert.equal((await docker(["image", "inspect", user])).code, 0);
    assert.equal((await docker(["image", "inspect", "busybox:latest"])).code, 0, "busybox carries no label: kept");
    await ok(["rm", ctr]);
    await ok(["rmi", "berth-prune-used:1"]);
  });

  test("system prune -f succeeds end to end and removes stopped containers", async () => {
    const stopped = (await ok(["create", "--label", LABEL, ...RUN, "busybox", "true"])).trim();
    const out = await ok(["system", "prune", "-f", "--filter", `label=${LABEL}`]);
    assert.match(out, new RegExp(stopped), out);
    assert.match(out, /Total reclaimed space: /);
    assert.notEqual((await docker(["inspect", stopped])).code, 0);
  });

  test("swarm, node, service, secret, config: dockerd's answers for a node outside a swarm; no plugins", async () => {
    const leave = await docker(["swarm", "leave", "--force"]);
    assert.equal(leave.code, 1);
    assert.match(leave.stderr, /Error response from daemon: This node is not part of a swarm/);
    for (const args of [["node", "ls"], ["service", "ls"], ["secret", "ls"], ["config", "ls"]]) {
      const r = await docker(args);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, /This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again\./, args.join(" "));
    }
    const leaveApi = await api("POST", "/v1.41/swarm/leave?force=1");
    assert.deepEqual([leaveApi.status, JSON.parse(leaveApi.body)], [503, { message: "This node is not part of a swarm" }]);
    assert.equal((await ok(["plugin", "ls", "--format", "{{.Name}}"])).trim(), "");
  });

  test("load: a body that is no image archive is a 200 with the error in the stream; the CLI fails with it", async () => {
    const r = await api("POST", "/v1.41/images/load", { body: "abc", headers: { "Content-Type": "application/x-tar" } });
    assert.equal(r.status, 200);
    const last = JSON.parse(r.body.trim().split("\n").at(-1)!) as { error?: string; errorDetail?: { message: string } };
    assert.ok(last.error && last.errorDetail?.message === last.error, r.body);
    const cli = await docker(["load"], { input: "abc" });
    assert.equal(cli.code, 1);
    assert.ok(cli.stderr.includes(last.error!), cli.stderr);
  });
});

describe("dockerode", () => {
  test("pruneContainers, pruneImages, swarmLeave, loadImage as dockerode's users call them", async () => {
    const d = new Docker({ socketPath: host.replace(/^unix:\/\//, "") });
    const c = await d.createContainer({ Image: "busybox", Cmd: ["true"], Labels: { [LABEL.split("=")[0]!]: "dockerode" }, HostConfig: { NetworkMode: "none" } });
    const pruned = await d.pruneContainers({ filters: { label: [`${LABEL.split("=")[0]}=dockerode`] } });
    assert.deepEqual(pruned.ContainersDeleted, [c.id]);
    const images = await d.pruneImages({ filters: { label: [`${LABEL}-none`] } });
    assert.deepEqual(images, { ImagesDeleted: null, SpaceReclaimed: 0 });
    await assert.rejects(d.swarmLeave({ force: true }), (e: { statusCode?: number; json?: { message?: string } }) => e.statusCode === 503 && e.json?.message === "This node is not part of a swarm");
    const stream = await d.loadImage(Buffer.from("abc") as never);
    const text = await new Promise<string>((resolve) => {
      let t = "";
      stream.on("data", (x: Buffer) => (t += x.toString()));
      stream.on("end", () => resolve(t));
    });
    assert.match(text, /"errorDetail":\{"message":/);
  });
});

describe("login, push, distribution against a registry with htpasswd auth", { skip: !HAVE_CLI ? `no docker CLI at ${DOCKER}` : false }, () => {
  let reg: TestRegistry | undefined;
  before(async () => {
    if (await registryAvailable()) reg = await startRegistry({ htpasswd: true });
  });
  after(async () => reg?.stop());

  test("docker login checks the password with the registry; push sends the image; the registry has it; pull brings it back", async (t) => {
    if (!reg) return t.skip("no docker-registry (apt-get install docker-registry)");
    const bad = await docker(["login", "-u", HTPASSWD_USER.username, "--password-stdin", reg.host], { input: "wrong\n" });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`login attempt to http://${reg.host}/v2/ failed with status: 401 Unauthorized`));
    const login = await ok(["login", "-u", HTPASSWD_USER.username, "--password-stdin", reg.host], { input: HTPASSWD_USER.password + "\n" });
    assert.match(login, /Login Succeeded/);

    const name = `${reg.host}/berth/bb`;
    await ok(["tag", "busybox:latest", `${name}:1`]);
    const pushed = await ok(["push", `${name}:1`]);
    assert.match(pushed, new RegExp(`The push refers to repository \\[${name.replace(/\./g, "\\.")}\\]`));
    const m = /1: digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(pushed);
    assert.ok(m, pushed);
    // The registry itself has the manifest under that digest.
    const basic = "Basic " + Buffer.from(`${HTPASSWD_USER.username}:${HTPASSWD_USER.password}`).toString("base64");
    const res = await fetch(`http://${reg.host}/v2/berth/bb/manifests/1`, { headers: { authorization: basic, accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), m[1]);
    assert.equal((await res.arrayBuffer()).byteLength, Number(m[2]));
    const again = await ok(["push", `${name}:1`]);
    assert.match(again, /Layer already exists/);

    // GET /distribution/{name}/json with the CLI's X-Registry-Auth.
    const xauth = Buffer.from(JSON.stringify({ username: HTPASSWD_USER.username, password: HTPASSWD_USER.password, serveraddress: reg.host })).toString("base64").replace(/\+/g, "-").replace(/\//g, "_"); // Go's URLEncoding: padded
    const dist = await api("GET", `/v1.41/distribution/${name}:1/json`, { headers: { "X-Registry-Auth": xauth } });
    assert.equal(dist.status, 200, dist.body);
    const d = JSON.parse(dist.body) as { Descriptor: { digest: string; size: number }; Platforms: { os: string; architecture: string }[] };
    assert.equal(d.Descriptor.digest, m[1]);
    assert.equal(d.Descriptor.size, Number(m[2]));
    assert.deepEqual(d.Platforms, [{ architecture: "amd64", os: "linux" }]);

    await ok(["rmi", `${name}:1`]);
    const pulled = await ok(["pull", `${name}:1`]);
    assert.match(pulled, new RegExp(`Digest: ${m[1]}`));
    await ok(["rmi", `${name}:1`]);
    await ok(["logout", reg.host]);
  });
});
