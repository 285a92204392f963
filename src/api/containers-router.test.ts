import assert from "node:assert/strict";
import http from "node:http";
import os from "node:os";
import { after, before, describe, test } from "node:test";
import tar from "tar-stream";
import { decodeFrames } from "./stdcopy.js";
import { request, startHarness, upgradeRequest, type Harness } from "./testdata/harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

async function create(name: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await request(h.socketPath, "POST", `/v1.43/containers/create?name=${name}`, { body: { Image: "busybox", Cmd: ["sleep", "100"], ...body } });
  assert.equal(r.status, 201, r.body.toString());
  return r.json<{ Id: string }>().Id;
}

async function run(name: string, body: Record<string, unknown> = {}): Promise<string> {
  const id = await create(name, body);
  assert.equal((await request(h.socketPath, "POST", `/containers/${id}/start`)).status, 204);
  return id;
}

describe("create", () => {
  test("201 with Id and Warnings, the name and options reach the engine", async () => {
    const r = await request(h.socketPath, "POST", "/v1.43/containers/create?name=web", {
      body: { Image: "busybox", Cmd: ["sleep", "1"], Labels: { a: "b" }, HostConfig: { NetworkMode: "none", Memory: 1 << 26 } },
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.headers["content-length"], String(r.body.length));
    const { Id, Warnings } = r.json<{ Id: string; Warnings: string[] }>();
    assert.match(Id, /^[0-9a-f]{64}$/);
    assert.deepEqual(Warnings, []);
    const call = h.engine.calls.filter((c) => c.method === "create").at(-1)!.args[0] as Record<string, any>;
    assert.equal(call.name, "web");
    assert.deepEqual(call.config, { image: "busybox", cmd: ["sleep", "1"], labels: { a: "b" } });
    assert.deepEqual(call.hostConfig, { networkMode: "none", resources: { memory: 1 << 26 } });
  });

  test("engine errors keep their kind: duplicate name 409, unknown image 404", async () => {
    const dup = await request(h.socketPath, "POST", "/containers/create?name=web", { body: { Image: "busybox", Cmd: ["true"] } });
    assert.equal(dup.status, 409);
    const missing = await request(h.socketPath, "POST", "/containers/create", { body: { Image: "nope" } });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json(), { message: "No such image: nope" });
  });

  test("unsupported options are a 400 naming them; no engine call is made", async () => {
    const before = h.engine.calls.length;
    const r = await request(h.socketPath, "POST", "/containers/create", { body: { Image: "busybox", HostConfig: { StorageOpt: { size: "1G" }, CpusetMems: "0" } } });
    assert.equal(r.status, 400);
    assert.match(r.json<{ message: string }>().message, /HostConfig\.StorageOpt=\{"size":"1G"\}, HostConfig\.CpusetMems="0"/);
    assert.equal(h.engine.calls.length, before);
  });

  test("a foreign platform is refused", async () => {
    const r = await request(h.socketPath, "POST", "/containers/create?platform=windows/amd64", { body: { Image: "busybox" } });
    assert.equal(r.status, 400);
  });
});

describe("inspect and list", () => {
  test("inspect has dockerd's shape; unset times are the zero time", async () => {
    const id = await create("insp", { Env: ["A=1"], Tty: true });
    const r = await request(h.socketPath, "GET", "/v1.43/containers/insp/json");
    assert.equal(r.status, 200);
    const j = r.json<Record<string, any>>();
    assert.equal(j.Id, id);
    assert.equal(j.Name, "/insp");
    assert.match(j.Created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.deepEqual(Object.keys(j.State), ["Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode", "Error", "StartedAt", "FinishedAt"]);
    assert.equal(j.State.Status, "created");
    assert.equal(j.State.StartedAt, "0001-01-01T00:00:00Z");
    assert.equal(j.Image, "sha256:" + "b".repeat(64));
    assert.equal(j.Config.Hostname, id.slice(0, 12));
    assert.equal(j.Config.Tty, true);
    assert.deepEqual(j.Config.Env, ["A=1"]);
    assert.equal(j.Config.Image, "busybox");
    assert.equal(j.HostConfig.NetworkMode, "default");
    assert.equal(j.HostConfig.RestartPolicy.Name, "no");
    assert.equal(j.HostConfig.ShmSize, 67108864);
    assert.equal(j.Driver, "overlayfs");
    assert.equal(j.Platform, "linux");
    assert.equal(j.MountLabel, "");
    assert.deepEqual(j.Mounts, []);
    // Without live endpoints: the network of its mode, no addresses, the network's ID (dockerd).
    assert.deepEqual(Object.keys(j.NetworkSettings.Networks), ["bridge"]);
    assert.equal(j.NetworkSettings.Networks.bridge.NetworkID, h.networks.inspectNetwork("bridge").id);
    assert.equal(j.NetworkSettings.Networks.bridge.IPAddress, "");
    assert.equal(j.NetworkSettings.Networks.bridge.EndpointID, "");
    assert.equal(j.NetworkSettings.IPAddress, "");
    assert.deepEqual(j.NetworkSettings.Ports, {});
    const missing = await request(h.socketPath, "GET", "/containers/nope/json");
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json(), { message: "No such container: nope" });
  });

  test("list: running only by default, all=1, dockerd's summary shape", async () => {
    const running = await run("lst-run", { Labels: { tier: "web" } });
    await create("lst-created", { Labels: { tier: "db" } });
    const ps = (await request(h.socketPath, "GET", "/v1.43/containers/json")).json<Record<string, any>[]>();
    assert.ok(ps.every((c) => c.State === "running"));
    const mine = ps.find((c) => c.Id === running)!;
    assert.deepEqual(Object.keys(mine), ["Id", "Names", "Image", "ImageID", "Command", "Created", "Ports", "Labels", "State", "Status", "HostConfig", "NetworkSettings", "Mounts"]);
    assert.deepEqual(mine.Names, ["/lst-run"]);
    assert.equal(mine.Command, "sleep 100");
    assert.equal(typeof mine.Created, "number");
    assert.deepEqual(mine.Ports, []);
    assert.deepEqual(mine.HostConfig, { NetworkMode: "default" });
    assert.deepEqual(Object.keys(mine.NetworkSettings.Networks), ["bridge"]);
    const all = (await request(h.socketPath, "GET", "/containers/json?all=1")).json<{ Names: string[] }[]>();
    assert.ok(all.some((c) => c.Names[0] === "/lst-created"));
    const sized = (await request(h.socketPath, "GET", "/containers/json?size=1")).json<Record<string, unknown>[]>();
    assert.equal(sized[0]!.SizeRw, 0);
  });

  test("list filters: both encodings, status, name, label, id, exited, limit, before/since", async () => {
    const q = (f: unknown, extra = "") => request(h.socketPath, "GET", `/containers/json?filters=${encodeURIComponent(JSON.stringify(f))}${extra}`);
    const names = async (f: unknown, extra = "") => {
      const r = await q(f, extra);
      assert.equal(r.status, 200, r.body.toString());
      return r.json<{ Names: string[] }[]>().map((c) => c.Names[0]);
    };
    assert.deepEqual(await names({ label: { "tier=db": true } }), [], "a label filter alone lists running containers only");
    assert.deepEqual(await names({ label: ["tier=db"], status: ["created"] }), ["/lst-created"]);
    assert.deepEqual(await names({ name: { "lst-": true } }, "&all=1"), ["/lst-created", "/lst-run"]);
    assert.deepEqual(await names({ name: ["^/lst-r"] }), ["/lst-run"]);
    const id = h.engine.inspect("lst-run").id;
    assert.deepEqual(await names({ id: [id.slice(0, 10)] }), ["/lst-run"]);
    const ex = await run("lst-exit");
    h.engine.exit(ex, 3);
    assert.deepEqual(await names({ exited: ["3"] }), ["/lst-exit"]);
    assert.deepEqual(await names({ status: ["exited"], exited: ["0"] }), []);
    assert.deepEqual(await names({ exited: ["0"], name: ["^/lst-"] }), [], "a never-started container (exit code 0) did not exit");
    assert.equal((await names({}, "&all=1&limit=2")).length, 2);
    assert.deepEqual(await names({ before: ["lst-exit"], name: ["^/lst-"] }), ["/lst-created", "/lst-run"]);
    assert.deepEqual(await names({ since: ["lst-created"], name: ["^/lst-"] }), ["/lst-exit"]);
    assert.deepEqual(await names({ ancestor: ["busybox"], name: ["^/lst-r"] }), ["/lst-run"]);
    assert.deepEqual(await names({ ancestor: ["busybox:latest"], name: ["^/lst-r"] }), ["/lst-run"]);
    assert.deepEqual(await names({ ancestor: ["sha256:" + "b".repeat(64)], name: ["^/lst-r"] }), ["/lst-run"]);
    assert.deepEqual(await names({ ancestor: ["alpine"] }), []);
    assert.deepEqual(await names({ health: ["none"], name: ["^/lst-r"] }), ["/lst-run"]);
    assert.deepEqual(await names({ health: ["healthy"] }), []);
    assert.equal((await q({ colour: ["red"] })).status, 400);
    assert.deepEqual((await q({ status: ["sleeping"] })).json(), { message: "invalid filter 'status=sleeping'" });
    assert.equal((await request(h.socketPath, "GET", "/containers/json?filters=%7Bbad")).status, 400);
  });
});

describe("network settings", () => {
  test("published ports and networks in inspect, ps and the publish/expose/network filters", async () => {
    const id = await run("netty", { ExposedPorts: { "80/tcp": {}, "443/tcp": {} }, HostConfig: { PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }] } } });
    h.engine.setNetworkSettings(id, {
      sandboxId: "sb1",
      sandboxKey: "/run/berth/netns/" + id,
      ipAddress: "172.30.0.2",
      ipPrefixLen: 16,
      gateway: "172.30.0.1",
      macAddress: "02:42:ac:1e:00:02",
      ports: { "80/tcp": [{ hostIp: "0.0.0.0", hostPort: "8080" }], "443/tcp": null },
      published: [{ containerPort: 80, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080 }],
      networks: {
        bridge: {
          networkId: "n".repeat(64), networkName: "bridge", endpointId: "e".repeat(64), ifName: "eth0", ipAddress: "172.30.0.2",
          ipPrefixLen: 16, gateway: "172.30.0.1", macAddress: "02:42:ac:1e:00:02", aliases: [], dnsNames: [],
        },
      },
    });
    const j = (await request(h.socketPath, "GET", `/containers/${id}/json`)).json<Record<string, any>>();
    assert.deepEqual(j.HostConfig.PortBindings, { "80/tcp": [{ HostIp: "", HostPort: "8080" }] });
    assert.deepEqual(j.NetworkSettings.Ports, { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }], "443/tcp": null });
    assert.equal(j.NetworkSettings.IPAddress, "172.30.0.2");
    assert.equal(j.NetworkSettings.EndpointID, "e".repeat(64));
    assert.deepEqual(j.NetworkSettings.Networks.bridge, {
      IPAMConfig: null, Links: null, Aliases: null, MacAddress: "02:42:ac:1e:00:02", NetworkID: "n".repeat(64), EndpointID: "e".repeat(64),
      Gateway: "172.30.0.1", IPAddress: "172.30.0.2", IPPrefixLen: 16, IPv6Gateway: "", GlobalIPv6Address: "", GlobalIPv6PrefixLen: 0,
      DriverOpts: null, DNSNames: null,
    });
    const ps = (await request(h.socketPath, "GET", `/containers/json?filters=${encodeURIComponent('{"name":["^/netty$"]}')}`)).json<Record<string, any>[]>();
    assert.deepEqual(ps[0]!.Ports, [{ IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp" }, { PrivatePort: 443, Type: "tcp" }]);
    assert.equal(ps[0]!.NetworkSettings.Networks.bridge.IPAddress, "172.30.0.2");
    const names = async (f: unknown) =>
      (await request(h.socketPath, "GET", `/containers/json?filters=${encodeURIComponent(JSON.stringify(f))}`)).json<{ Names: string[] }[]>().map((c) => c.Names[0]);
    assert.deepEqual(await names({ publish: ["8080"] }), ["/netty"]);
    assert.deepEqual(await names({ publish: ["8080/udp"] }), []);
    assert.deepEqual(await names({ expose: ["443"] }), ["/netty"]);
    assert.ok((await names({ network: ["bridge"] })).includes("/netty"));
  });
});

describe("network settings without endpoints", () => {
  test("none and host modes list their network; container: mode lists none", async () => {
    await create("mode-none", { HostConfig: { NetworkMode: "none" } });
    await create("mode-host", { HostConfig: { NetworkMode: "host" } });
    const nets = async (name: string) => (await request(h.socketPath, "GET", `/containers/${name}/json`)).json<Record<string, any>>().NetworkSettings.Networks;
    assert.deepEqual(Object.keys(await nets("mode-none")), ["none"]);
    assert.equal((await nets("mode-none")).none.NetworkID, h.networks.inspectNetwork("none").id);
    assert.equal((await nets("mode-host")).host.NetworkID, h.networks.inspectNetwork("host").id);
    const ps = (await request(h.socketPath, "GET", `/containers/json?all=1&filters=${encodeURIComponent('{"name":["^/mode-none$"]}')}`)).json<Record<string, any>[]>();
    assert.deepEqual(Object.keys(ps[0]!.NetworkSettings.Networks), ["none"]);
  });
});

describe("lifecycle", () => {
  test("start 204 then 304; stop 204 then 304 with t; restart, kill, pause, unpause", async () => {
    const id = await create("life");
    const start = await request(h.socketPath, "POST", `/containers/${id}/start`);
    assert.equal(start.status, 204);
    assert.equal(start.headers["content-type"], undefined);
    assert.equal((await request(h.socketPath, "POST", `/containers/${id}/start`)).status, 304);
    assert.equal((await request(h.socketPath, "POST", `/containers/life/pause`)).status, 204);
    assert.equal((await request(h.socketPath, "POST", `/containers/life/pause`)).status, 409);
    assert.equal((await request(h.socketPath, "POST", `/containers/life/unpause`)).status, 204);
    assert.equal((await request(h.socketPath, "POST", `/containers/life/restart?t=1`)).status, 204);
    assert.equal((await request(h.socketPath, "POST", `/v1.43/containers/life/stop?t=7&signal=SIGINT`)).status, 204);
    assert.deepEqual(h.engine.calls.filter((c) => c.method === "stop").at(-1)!.args, ["life", { timeout: 7, signal: "SIGINT" }]);
    assert.equal((await request(h.socketPath, "POST", `/containers/life/stop`)).status, 304);
    assert.equal((await request(h.socketPath, "POST", `/containers/life/stop?t=soon`)).status, 400);
    assert.equal((await request(h.socketPath, "POST", `/containers/life/start`, { body: { Binds: ["/a:/b"] } })).status, 400);
    assert.equal((await request(h.socketPath, "POST", `/containers/life/start`)).status, 204);
    assert.equal((await request(h.socketPath, "POST", `/containers/life/kill?signal=HUP`)).status, 204);
    assert.deepEqual(h.engine.calls.filter((c) => c.method === "kill").at(-1)!.args, ["life", "HUP"]);
    assert.equal((await request(h.socketPath, "POST", `/containers/life/kill`)).status, 409, "not running any more");
  });

  test("rename, update, top, resize, delete", async () => {
    const id = await run("misc");
    assert.equal((await request(h.socketPath, "POST", `/containers/misc/rename?name=misc2`)).status, 204);
    assert.equal(h.engine.inspect(id).name, "/misc2");
    assert.equal((await request(h.socketPath, "POST", `/containers/misc2/rename`)).status, 400);
    const upd = await request(h.socketPath, "POST", `/containers/misc2/update`, { body: { Memory: 1 << 26, MemorySwap: 1 << 27, RestartPolicy: { Name: "always" } } });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.toString(), '{"Warnings":[]}\n');
    assert.deepEqual(h.engine.calls.filter((c) => c.method === "update").at(-1)!.args[1], { resources: { memory: 1 << 26, memorySwap: 1 << 27 }, restartPolicy: { name: "always", maximumRetryCount: 0 } });
    const top = await request(h.socketPath, "GET", `/containers/misc2/top?ps_args=aux`);
    assert.deepEqual(Object.keys(top.json<object>()), ["Titles", "Processes"]);
    assert.deepEqual(h.engine.calls.filter((c) => c.method === "top").at(-1)!.args, ["misc2", "aux"]);
    const resize = await request(h.socketPath, "POST", `/containers/misc2/resize?h=40&w=120`);
    assert.equal(resize.status, 200);
    assert.deepEqual(h.engine.calls.filter((c) => c.method === "resize").at(-1)!.args, ["misc2", 120, 40]);
    assert.equal((await request(h.socketPath, "POST", `/containers/misc2/resize?h=40`)).status, 400);
    const busy = await request(h.socketPath, "DELETE", `/containers/misc2`);
    assert.equal(busy.status, 409);
    assert.equal((await request(h.socketPath, "DELETE", `/containers/misc2?force=1&v=1`)).status, 204);
    assert.deepEqual(h.engine.calls.filter((c) => c.method === "remove").at(-1)!.args, ["misc2", { force: true, removeVolumes: true }]);
    assert.equal((await request(h.socketPath, "DELETE", `/containers/misc2`)).status, 404);
  });
});

describe("wait", () => {
  test("headers go out at once; the body comes at exit", async () => {
    const id = await run("waiter");
    const t0 = Date.now();
    let headersAt = 0;
    const done = new Promise<{ status: number; body: string; te: string | undefined }>((resolve, reject) => {
      const req = http.request({ socketPath: h.socketPath, method: "POST", path: `/v1.43/containers/${id}/wait?condition=next-exit`, agent: false }, (res) => {
        headersAt = Date.now();
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, body, te: res.headers["transfer-encoding"] }));
      });
      req.on("error", reject);
      req.end();
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(headersAt > 0 && headersAt - t0 < 100, "200 before the container exits");
    h.engine.exit(id, 3);
    const r = await done;
    assert.equal(r.status, 200);
    assert.equal(r.te, "chunked");
    assert.equal(r.body, '{"Error":null,"StatusCode":3}\n');
  });

  test("not-running on a stopped container returns at once; errors before the 200 are statuses", async () => {
    const r = await request(h.socketPath, "POST", "/containers/waiter/wait");
    assert.equal(r.body.toString(), '{"Error":null,"StatusCode":3}\n');
    assert.equal((await request(h.socketPath, "POST", "/containers/nope/wait")).status, 404);
    const bad = await request(h.socketPath, "POST", "/containers/waiter/wait?condition=forever");
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json(), { message: 'invalid condition: "forever"' });
  });

  test("a client that goes away cancels the engine wait", async () => {
    const id = await run("waiter2");
    const req = http.request({ socketPath: h.socketPath, method: "POST", path: `/containers/${id}/wait?condition=next-exit`, agent: false });
    req.on("error", () => {});
    await new Promise<void>((resolve) => {
      req.on("response", (res) => {
        res.resume();
        resolve();
      });
      req.end();
    });
    const waitersBefore = [...h.engine.containers.get(id)!.waiters].length;
    assert.equal(waitersBefore, 1);
    req.destroy();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal([...h.engine.containers.get(id)!.waiters].length, 0);
  });
});

describe("logs", () => {
  test("multiplexed frames without a TTY; Content-Type by API version; timestamps and tail", async () => {
    const id = await run("logger");
    h.engine.output(id, "stdout", "line1\n");
    h.engine.output(id, "stderr", "err1\n");
    h.engine.output(id, "stdout", "line2\n");
    const r = await request(h.socketPath, "GET", `/v1.43/containers/${id}/logs?stdout=1&stderr=1`);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/vnd.docker.multiplexed-stream");
    assert.deepEqual(
      decodeFrames(r.body).map((f) => [f.stream, f.payload.toString()]),
      [
        [1, "line1\n"],
        [2, "err1\n"],
        [1, "line2\n"],
      ],
    );
    const old = await request(h.socketPath, "GET", `/v1.41/containers/${id}/logs?stdout=1`);
    assert.equal(old.headers["content-type"], undefined, "dockerd 20.10 sent no Content-Type");
    assert.deepEqual(decodeFrames(old.body).map((f) => f.payload.toString()), ["line1\n", "line2\n"]);
    const ts = await request(h.socketPath, "GET", `/containers/${id}/logs?stdout=1&stderr=1&tail=1&timestamps=1`);
    const [f] = decodeFrames(ts.body);
    assert.match(f!.payload.toString(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line2\n$/);
    assert.deepEqual((h.engine.calls.filter((c) => c.method === "logs").at(-1)!.args[1] as { tail: unknown }).tail, 1);
  });

  test("a TTY container's logs are raw bytes", async () => {
    const id = await run("ttylogger", { Tty: true });
    h.engine.output(id, "stdout", "hi\r\n");
    const r = await request(h.socketPath, "GET", `/containers/${id}/logs?stdout=1&stderr=1`);
    assert.equal(r.headers["content-type"], "application/vnd.docker.raw-stream");
    assert.equal(r.body.toString(), "hi\r\n");
  });

  test("follow streams until the container exits", async () => {
    const id = await run("follower");
    h.engine.output(id, "stdout", "a\n");
    const got = new Promise<Buffer>((resolve) => {
      http.get({ socketPath: h.socketPath, path: `/containers/${id}/logs?follow=1&stdout=1`, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks)));
      });
    });
    await new Promise((r) => setTimeout(r, 30));
    h.engine.output(id, "stdout", "b\n");
    await new Promise((r) => setTimeout(r, 30));
    h.engine.exit(id, 0);
    assert.deepEqual(decodeFrames(await got).map((f) => f.payload.toString()), ["a\n", "b\n"]);
  });

  test("bad requests are statuses; a failure mid-stream is an in-band Systemerr frame", async () => {
    assert.deepEqual((await request(h.socketPath, "GET", "/containers/logger/logs")).json(), { message: "Bad parameters: you must choose at least one stream" });
    assert.equal((await request(h.socketPath, "GET", "/containers/nope/logs?stdout=1")).status, 404);
    assert.equal((await request(h.socketPath, "GET", "/containers/logger/logs?stdout=1&since=yesterday")).status, 400);
    const original = h.engine.logs.bind(h.engine);
    h.engine.logs = async function* (ref, o) {
      yield* original(ref, { ...o, follow: false });
      throw new Error("log file vanished");
    };
    try {
      const r = await request(h.socketPath, "GET", "/containers/logger/logs?stdout=1");
      const frames = decodeFrames(r.body);
      assert.deepEqual(frames.at(-1), { stream: 3, payload: Buffer.from("Error grabbing logs: log file vanished\n") });
    } finally {
      h.engine.logs = original;
    }
  });
});

describe("attach", () => {
  test("the 101 dance: exact headers, multiplexed frames, server FIN after output", async () => {
    const id = await create("att", { Cmd: ["echo", "hello", "attach"] });
    const reply = upgradeRequest(h.socketPath, "POST", `/v1.43/containers/${id}/attach?stderr=1&stdout=1&stream=1`, {
      afterUpgrade: () => void request(h.socketPath, "POST", `/containers/${id}/start`),
      keepOpenMs: 1,
    });
    const { head, payload } = await reply;
    assert.equal(head, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    assert.deepEqual(decodeFrames(payload).map((f) => [f.stream, f.payload.toString()]), [[1, "hello attach\n"]]);
  });

  test("API < 1.42 says raw-stream (but still multiplexes); a TTY is raw bytes", async () => {
    const a = await create("att-old", { Cmd: ["echo", "old"] });
    const old = await upgradeRequest(h.socketPath, "POST", `/v1.41/containers/${a}/attach?stdout=1&stream=1`, {
      afterUpgrade: () => void request(h.socketPath, "POST", `/containers/${a}/start`),
      keepOpenMs: 1,
    });
    assert.match(old.head, /Content-Type: application\/vnd\.docker\.raw-stream\r\n/);
    assert.deepEqual(decodeFrames(old.payload).map((f) => f.payload.toString()), ["old\n"]);
    const t = await create("att-tty", { Cmd: ["echo", "tty"], Tty: true });
    const tty = await upgradeRequest(h.socketPath, "POST", `/containers/${t}/attach?stdout=1&stderr=1&stream=1`, {
      afterUpgrade: () => void request(h.socketPath, "POST", `/containers/${t}/start`),
      keepOpenMs: 1,
    });
    assert.match(tty.head, /Content-Type: application\/vnd\.docker\.raw-stream\r\n/);
    assert.equal(tty.payload.toString(), "tty\n");
  });

  test("stdin, then the client's half-close, closes a StdinOnce container's stdin", async () => {
    const id = await create("att-cat", { Cmd: ["cat"], OpenStdin: true, StdinOnce: true, AttachStdin: true });
    const { payload } = await upgradeRequest(h.socketPath, "POST", `/containers/${id}/attach?stdin=1&stdout=1&stream=1`, {
      afterUpgrade: () => void request(h.socketPath, "POST", `/containers/${id}/start`),
      stdin: "typed\n",
      keepOpenMs: 30,
    });
    assert.deepEqual(decodeFrames(payload).map((f) => f.payload.toString()), ["typed\n"]);
    assert.equal(h.engine.inspect(id).state.running, false, "cat exited when stdin closed");
  });

  test("errors before the hijack are plain statuses", async () => {
    const r = await upgradeRequest(h.socketPath, "POST", "/containers/nope/attach?stream=1&stdout=1");
    assert.match(r.head, /^HTTP\/1\.1 404 Not Found\r\n/);
    assert.equal(r.payload.toString(), '{"message":"No such container: nope"}\n');
    const id = await run("att-paused");
    await request(h.socketPath, "POST", `/containers/${id}/pause`);
    const paused = await upgradeRequest(h.socketPath, "POST", `/containers/${id}/attach?stream=1&stdout=1`);
    assert.match(paused.head, /^HTTP\/1\.1 409 Conflict\r\n/);
    assert.match(paused.payload.toString(), /You cannot attach to a paused container, unpause it first/);
  });

  test("without Upgrade: a 200 whose body is the raw stream", async () => {
    const id = await create("att-plain", { Cmd: ["echo", "plain"] });
    const pending = request(h.socketPath, "POST", `/containers/${id}/attach?stdout=1&stream=1`);
    await new Promise((r) => setTimeout(r, 30));
    await request(h.socketPath, "POST", `/containers/${id}/start`);
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/vnd.docker.raw-stream");
    assert.deepEqual(decodeFrames(r.body).map((f) => f.payload.toString()), ["plain\n"]);
  });
});

describe("stats", () => {
  test("stream=0: one JSON document with docker's field names", async () => {
    const id = await run("statsy");
    const r = await request(h.socketPath, "GET", `/containers/${id}/stats?stream=0`);
    assert.equal(r.headers["content-type"], "application/json");
    const s = r.json<Record<string, any>>();
    assert.equal(s.name, "/statsy");
    assert.equal(s.id, id);
    assert.equal(s.cpu_stats.cpu_usage.total_usage, 2_000_000);
    assert.equal(s.precpu_stats.cpu_usage.total_usage, 1_000_000);
    assert.equal(s.cpu_stats.online_cpus, 2);
    assert.ok(s.cpu_stats.system_cpu_usage > s.precpu_stats.system_cpu_usage);
    assert.equal(s.memory_stats.usage, 4 << 20);
    assert.equal(s.memory_stats.limit, Math.min(1 << 30, os.totalmem()));
    assert.equal(s.memory_stats.stats.total_inactive_file, 1 << 20);
    assert.equal(s.pids_stats.current, 3);
    assert.deepEqual(s.blkio_stats.io_service_bytes_recursive, [{ major: 8, minor: 0, op: "Read", value: 4096 }]);
    assert.notEqual(s.preread, "0001-01-01T00:00:00Z");
  });

  test("streaming sends one document per interval until the client leaves", async () => {
    const lines = await new Promise<string[]>((resolve) => {
      http.get({ socketPath: h.socketPath, path: "/containers/statsy/stats", agent: false }, (res) => {
        let buf = "";
        res.on("data", (d) => {
          buf += d;
          const l = buf.split("\n").filter(Boolean);
          if (l.length >= 3) {
            res.destroy();
            resolve(l);
          }
        });
      });
    });
    assert.ok(lines.every((l) => JSON.parse(l).name === "/statsy"));
  });

  test("a stopped container gets one zeroed document", async () => {
    const id = await create("stats-stopped");
    const r = await request(h.socketPath, "GET", `/containers/${id}/stats`);
    const s = r.json<Record<string, any>>();
    assert.equal(s.read, "0001-01-01T00:00:00Z");
    assert.equal(s.name, "/stats-stopped");
  });
});

describe("archive", () => {
  test("HEAD stats a path into X-Docker-Container-Path-Stat; 404 when absent", async () => {
    const id = await run("cp");
    const r = await request(h.socketPath, "HEAD", `/containers/${id}/archive?path=%2Fetc%2Fhostname`);
    assert.equal(r.status, 200);
    const stat = JSON.parse(Buffer.from(String(r.headers["x-docker-container-path-stat"]), "base64").toString());
    assert.deepEqual(stat, { name: "hostname", size: 13, mode: 420, mtime: "2026-11-29T03:41:23Z", linkTarget: "" });
    const missing = await request(h.socketPath, "HEAD", `/containers/${id}/archive?path=%2Fnope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.length, 0);
    assert.equal(missing.headers["content-type"], "application/json");
    assert.equal((await request(h.socketPath, "HEAD", `/containers/${id}/archive`)).status, 400);
  });

  test("PUT extracts a tar; GET returns one with the stat header", async () => {
    const pack = tar.pack();
    pack.entry({ name: "hello.txt" }, "hello from the host\n");
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const put = await request(h.socketPath, "PUT", "/containers/cp/archive?path=%2Ftmp&noOverwriteDirNonDir=true", {
      raw: Buffer.concat(chunks),
      headers: { "Content-Type": "text/plain" },
    });
    assert.equal(put.status, 200);
    assert.equal(put.headers["content-length"], "0");
    assert.deepEqual(h.engine.calls.filter((c) => c.method === "putArchive").at(-1)!.args.slice(1), ["/tmp", { noOverwriteDirNonDir: true }]);
    const get = await request(h.socketPath, "GET", "/containers/cp/archive?path=%2Ftmp%2Fhello.txt");
    assert.equal(get.headers["content-type"], "application/x-tar");
    assert.ok(get.headers["x-docker-container-path-stat"]);
    const extract = tar.extract();
    const files: Record<string, string> = {};
    extract.on("entry", (hdr, stream, next) => {
      let s = "";
      stream.on("data", (d: unknown) => (s += String(d)));
      stream.on("end", () => {
        files[hdr.name] = s;
        next();
      });
    });
    const finished = new Promise<void>((r) => extract.on("finish", () => r()));
    extract.end(get.body);
    await finished;
    assert.deepEqual(files, { "hello.txt": "hello from the host\n" });
    assert.equal((await request(h.socketPath, "PUT", "/containers/cp/archive?path=%2Ftmp&copyUIDGID=1", { raw: "" })).status, 400);
  });
});
