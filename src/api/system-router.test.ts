import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";
import type { EngineEvent } from "../daemon/types.js";
import { parseFilters } from "./filters.js";
import { eventFilter, eventJson } from "./system-router.js";
import { request, startHarness, type Harness } from "./testdata/harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const ev = (over: Partial<EngineEvent>): EngineEvent => ({
  type: "container",
  action: "start",
  id: "c0ffee" + "0".repeat(58),
  attributes: { name: "web", image: "busybox:latest", tier: "front" },
  timeNano: 1795925211123456789n,
  ...over,
});

test("event JSON: dockerd's fields, deprecated status/id/from for containers, exact timeNano", () => {
  const line = eventJson(ev({}));
  assert.ok(line.endsWith("}\n"));
  assert.ok(line.includes('"timeNano":1795925211123456789}'), line);
  assert.deepEqual(JSON.parse(line), {
    status: "start", id: "c0ffee" + "0".repeat(58), from: "busybox:latest", Type: "container", Action: "start",
    Actor: { ID: "c0ffee" + "0".repeat(58), Attributes: { name: "web", image: "busybox:latest", tier: "front" } },
    scope: "local", time: 1795925211, timeNano: 1795925211123456800,
  });
  const img = JSON.parse(eventJson(ev({ type: "image", action: "pull", id: "busybox:latest", attributes: { name: "busybox" } })));
  assert.equal(img.status, "pull");
  assert.equal(img.from, undefined);
  const net = JSON.parse(eventJson(ev({ type: "network", action: "connect", attributes: {} })));
  assert.equal(net.status, undefined);
  assert.equal(net.id, undefined);
});

test("event filters as moby applies them", () => {
  const match = (f: unknown, e: EngineEvent) => eventFilter(parseFilters(JSON.stringify(f)))(e);
  assert.ok(match({}, ev({})));
  assert.ok(match({ type: ["container"] }, ev({})));
  assert.ok(!match({ type: ["image"] }, ev({})));
  assert.ok(match({ event: ["start", "die"] }, ev({})));
  assert.ok(!match({ event: ["die"] }, ev({})));
  assert.ok(match({ event: ["exec_start"] }, ev({ action: "exec_start: sh -c true" })), "exec_start matches its detailed form");
  assert.ok(match({ container: ["web"] }, ev({})));
  assert.ok(match({ container: ["c0ffee"] }, ev({})), "ID prefix");
  assert.ok(!match({ container: ["db"] }, ev({})));
  assert.ok(!match({ container: ["web"] }, ev({ type: "image", id: "web" })), "a container filter excludes other types");
  assert.ok(match({ image: ["busybox"] }, ev({})), "tag stripped");
  assert.ok(match({ image: ["busybox:latest"] }, ev({ type: "image", id: "sha256:x", attributes: { name: "busybox:latest" } })));
  assert.ok(match({ label: ["tier=front"] }, ev({})));
  assert.ok(!match({ label: ["tier=back"] }, ev({})));
  assert.throws(() => eventFilter(parseFilters('{"colour":["red"]}')), /invalid filter 'colour'/);
});

test("/version and /info carry what the CLI prints", async () => {
  const v = (await request(h.socketPath, "GET", "/v1.43/version")).json<Record<string, any>>();
  assert.equal(v.ApiVersion, "1.43");
  assert.equal(v.MinAPIVersion, "1.24");
  assert.equal(v.Version, "0.1.0");
  assert.equal(v.Os, "linux");
  assert.equal(v.Components[0].Name, "Engine");
  assert.equal(v.Components[1].Name, "containerd");
  assert.equal(v.Components.filter((c: { Name: string }) => c.Name === "Engine").length, 1);
  assert.equal(v.Components[0].Details.Arch, v.Arch, "Go's arch name, not node's");
  assert.equal(v.Components[0].Details.GitCommit, "abc1234");
  const create = await request(h.socketPath, "POST", "/containers/create", { body: { Image: "busybox", Cmd: ["sleep", "1"] } });
  await request(h.socketPath, "POST", `/containers/${create.json<{ Id: string }>().Id}/start`);
  const i = (await request(h.socketPath, "GET", "/info")).json<Record<string, any>>();
  for (const k of ["ID", "Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped", "Images", "Driver", "DockerRootDir", "OperatingSystem", "OSType", "Architecture", "NCPU", "MemTotal", "ServerVersion", "KernelVersion", "Name", "CgroupDriver", "CgroupVersion", "DefaultRuntime", "Runtimes", "SecurityOptions", "Warnings"]) {
    assert.ok(k in i, k);
  }
  assert.equal(i.Containers, 1);
  assert.equal(i.ContainersRunning, 1);
  assert.equal(i.Driver, "overlayfs");
  assert.equal(i.CgroupDriver, "cgroupfs");
  assert.equal(i.CgroupVersion, "1");
  assert.equal(i.DefaultRuntime, "runc");
  assert.equal(i.OSType, "linux");
  assert.deepEqual(i.Warnings, []);
  assert.ok(i.NCPU > 0 && i.MemTotal > 0);
});

test("/events with since and until: past events, then the stream ends by itself", async () => {
  const since = Math.floor(Date.now() / 1000) - 60;
  const until = ((Date.now() + 50) / 1000).toFixed(3); // a fraction: the stream ends 50 ms from now
  const r = await request(h.socketPath, "GET", `/events?since=${since}&until=${until}&filters=${encodeURIComponent('{"type":["container"],"event":["create"]}')}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers["content-type"], "application/json");
  assert.equal(r.headers["transfer-encoding"], "chunked");
  const lines = r.body.toString().trim().split("\n").map((l) => JSON.parse(l) as { Action: string; Type: string });
  assert.ok(lines.length >= 1);
  assert.ok(lines.every((l) => l.Action === "create" && l.Type === "container"));
  const bad = await request(h.socketPath, "GET", "/events?since=20&until=10");
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json(), { message: "`since` time (20) cannot be after `until` time (10)" });
  assert.equal((await request(h.socketPath, "GET", "/events?filters=%7B%22x%22%3A%5B%221%22%5D%7D")).status, 400);
});

test("/events without until follows live events until the client leaves", async () => {
  const got = await new Promise<string>((resolve) => {
    http.get({ socketPath: h.socketPath, path: "/events", agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      res.once("data", (d: Buffer) => {
        res.destroy();
        resolve(d.toString());
      });
      // The 200 is out before any event: the client now triggers one.
      h.engine.emitEvent("image", "tag", "sha256:abc", { name: "busybox:v2" });
    });
  });
  assert.deepEqual(JSON.parse(got).Actor, { ID: "sha256:abc", Attributes: { name: "busybox:v2" } });
});

test("/system/df", async () => {
  const df = (await request(h.socketPath, "GET", "/system/df")).json<Record<string, any>>();
  assert.deepEqual(Object.keys(df), ["LayersSize", "Images", "Containers", "Volumes", "BuildCache"]);
  assert.equal(df.LayersSize, 1234);
  assert.equal(df.Images[0].Containers, 0);
  assert.equal(df.Containers[0].SizeRw, 0);
  assert.deepEqual(df.Volumes, []);
});
