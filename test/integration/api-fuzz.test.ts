// Hostile API bodies: a seeded, bounded fuzz of the create, exec, update, network and volume
// bodies a client sends, on berthd's unix socket only. Input errors must be 4xx, never 5xx (a 5xx
// means the input reached code that did not expect it), keys named like Object.prototype members
// must be ordinary keys, and a running baseline container and the daemon must be intact after.
// FUZZ_SEED=<n> replays a run; FUZZ_COUNT=<n> changes the bodies per endpoint.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { socketRequest } from "../helpers/socket-request.js";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startBerthd, type Berthd } from "../helpers/berthd.js";

const pexec = promisify(execFile);
const repo = new URL("../..", import.meta.url).pathname;
const SEED = Number(process.env.FUZZ_SEED ?? 20);
const PER_ENDPOINT = Number(process.env.FUZZ_COUNT ?? 300);

let b: Berthd;
let tmp: string;
let baseline: string;
let victim: string;

type Reply = { status: number; body: string };

/** A raw request on the socket: the body is sent as given (it may not be JSON at all). */
function raw(method: string, p: string, body?: string | Buffer, type = "application/json"): Promise<Reply> {
  return socketRequest(b.socket, method, p, { ...(body === undefined ? {} : { body }), type, timeoutMs: 20_000 });
}

async function json(method: string, p: string, body?: unknown): Promise<Reply> {
  return raw(method, p, body === undefined ? undefined : JSON.stringify(body));
}

/** mulberry32: small, seedable, good enough to pick mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PROTO_KEYS = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf", "__defineGetter__", "prototype"];
const FIELD_KEYS = [
  "Memory", "Tmpfs", "Labels", "Binds", "Mounts", "PortBindings", "ExposedPorts", "Volumes", "Healthcheck", "Env", "Cmd",
  "Options", "DriverOpts", "Config", "IPAM", "RestartPolicy", "LogConfig", "SecurityOpt", "CapAdd", "Ulimits", "Name",
  "WorkingDir", "User", "Entrypoint", "StopSignal", "Subnet", "Driver", "EndpointsConfig", "Aliases", "Target", "Source", "Type",
];
const LONG = "a".repeat(5000);

/** Builds a JSON object whose keys may be "__proto__" and friends (null prototype: plain keys). */
function obj(entries: Array<[string, unknown]>): Record<string, unknown> {
  const o: Record<string, unknown> = Object.create(null);
  for (const [k, v] of entries) o[k] = v;
  return o;
}

function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (v !== null && typeof v === "object") return obj(Object.entries(v).map(([k, x]) => [k, clone(x)]));
  return v;
}

function makeValue(r: () => number, depth = 0): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const scalars: unknown[] = [
    null, true, false, 0, -1, 1, 3, 2 ** 31, 2 ** 53, -(2 ** 63), 2 ** 64, 1e308, -1e-9, 0.5, "", "x", "-1", "0", LONG, "../../../etc",
    "/", "/proc/self", "\u0000", "a\nb", "constructor", "__proto__", "toString", "1g", "0-1023", "tcp", "80/tcp", "on-failure",
    "SCMP_ACT_ALLOW", "seccomp=unconfined", "ALL", "busybox", "{", "%s%n", "\u202e", "😀".repeat(50),
  ];
  const kind = r();
  if (depth > 2 || kind < 0.6) return pick(scalars);
  if (kind < 0.8) return Array.from({ length: Math.floor(r() * 4) }, () => makeValue(r, depth + 1));
  return obj(Array.from({ length: Math.floor(r() * 4) }, () => [r() < 0.5 ? pick(PROTO_KEYS) : pick([...FIELD_KEYS, LONG]), makeValue(r, depth + 1)]));
}

/** 1-3 mutations at random places: set or add a key, delete one, replace a value's type. */
function mutate(base: unknown, r: () => number): unknown {
  const root = clone(base);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  for (let n = 1 + Math.floor(r() * 3); n > 0; n--) {
    // Walk down a random path of objects/arrays.
    let node = root as Record<string, unknown> | unknown[];
    for (let d = 0; d < 4 && r() < 0.6; d++) {
      const keys = Object.keys(node);
      if (keys.length === 0) break;
      const next = (node as Record<string, unknown>)[pick(keys)];
      if (next === null || typeof next !== "object") break;
      node = next as Record<string, unknown> | unknown[];
    }
    if (Array.isArray(node)) {
      if (r() < 0.5 && node.length > 0) node[Math.floor(r() * node.length)] = makeValue(r);
      else node.push(makeValue(r));
      continue;
    }
    const keys = Object.keys(node);
    const op = r();
    if (op < 0.25 && keys.length > 0) delete node[pick(keys)];
    else if (op < 0.55) node[pick(PROTO_KEYS)] = makeValue(r);
    else if (op < 0.7) node[pick(FIELD_KEYS)] = makeValue(r);
    else if (keys.length > 0) node[pick(keys)] = makeValue(r);
  }
  return root;
}

const CREATE = {
  Hostname: "", User: "", AttachStdout: true, AttachStderr: true, Tty: false, OpenStdin: false, Env: ["A=1"],
  Cmd: ["sleep", "1000"], Image: "busybox", Volumes: { "/data": {} }, WorkingDir: "", Entrypoint: null, Labels: { l: "v" },
  ExposedPorts: { "80/tcp": {} }, StopSignal: "SIGTERM",
  Healthcheck: { Test: ["CMD", "true"], Interval: 1_000_000_000 },
  HostConfig: {
    Binds: null, LogConfig: { Type: "", Config: {} }, NetworkMode: "none", PortBindings: {}, RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
    AutoRemove: false, VolumeDriver: "", ConsoleSize: [0, 0], CapAdd: ["NET_ADMIN"], CapDrop: null, Dns: [], DnsOptions: [], DnsSearch: [],
    ExtraHosts: null, Privileged: false, ReadonlyRootfs: false, SecurityOpt: null, Memory: 0, NanoCpus: 0, CpuShares: 0,
    MemorySwappiness: -1, PidsLimit: null, Ulimits: [], MaskedPaths: null, ReadonlyPaths: null, Tmpfs: { "/run": "" },
    Mounts: [{ Type: "volume", Source: "", Target: "/vol" }],
  },
  NetworkingConfig: { EndpointsConfig: {} },
};
const EXEC = { User: "", Privileged: false, Tty: false, AttachStdout: true, AttachStderr: true, Detach: false, DetachKeys: "", Env: ["A=1"], WorkingDir: "/tmp", Cmd: ["true"] };
const UPDATE = { Memory: 67108864, MemorySwap: -1, CpuShares: 512, PidsLimit: 100, RestartPolicy: { Name: "on-failure", MaximumRetryCount: 2 }, CpusetCpus: "0" };
const NETWORK = {
  Name: "n1", CheckDuplicate: true, Driver: "bridge", EnableIPv6: false, Internal: false, Attachable: false,
  IPAM: { Driver: "default", Options: {}, Config: [{ Subnet: "10.99.0.0/24", Gateway: "10.99.0.1" }] },
  Options: { "com.docker.network.bridge.name": "x" }, Labels: { a: "b" },
};
const VOLUME = { Name: "v1", Driver: "local", DriverOpts: {}, Labels: { a: "b" } };

const asText = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

/** Server errors seen: what was sent and what came back. */
const failures: string[] = [];
const statuses = new Map<string, number>();
function check(what: string, sent: string | undefined, r: Reply): void {
  const key = `${what.split(" ")[1]!.replace(/[0-9a-f]{64}/, "{id}").replace(/\?.*/, "")} ${r.status}`;
  statuses.set(key, (statuses.get(key) ?? 0) + 1);
  if (r.status >= 500) failures.push(`${what} -> ${r.status} ${r.body.slice(0, 200)}\n    body: ${(sent ?? "").slice(0, 400)}`);
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-fuzz-"));
  b = await startBerthd({ label: "fuzz" });
  const tar = path.join(tmp, "busybox.tar");
  await pexec(process.execPath, ["--import", "tsx", "scripts/busybox-image.ts", tar], { cwd: repo });
  const load = await raw("POST", "/images/load?quiet=1", await fs.readFile(tar), "application/x-tar");
  assert.equal(load.status, 200, load.body);
  const start = async (name: string) => {
    const c = await json("POST", `/containers/create?name=${name}`, { Image: "busybox", Cmd: ["sleep", "1000"], HostConfig: { NetworkMode: "none" } });
    assert.equal(c.status, 201, c.body);
    const id = (JSON.parse(c.body) as { Id: string }).Id;
    assert.equal((await raw("POST", `/containers/${id}/start`)).status, 204);
    return id;
  };
  baseline = await start("baseline");
  victim = await start("victim");
});
after(async () => {
  await b?.destroy();
  await fs.rm(tmp, { recursive: true, force: true });
});

describe("hostile API bodies", () => {
  test("prototype-named names and keys are ordinary names and keys", async () => {
    for (const name of ["constructor", "toString", "hasOwnProperty"]) {
      const c = await json("POST", `/containers/create?name=${name}`, { Image: "busybox", Labels: obj([["__proto__", "p"], ["constructor", "c"]]) });
      assert.equal(c.status, 201, c.body);
      const i = await json("GET", `/containers/${name}/json`);
      assert.equal(i.status, 200, i.body);
      const labels = (JSON.parse(i.body) as { Config: { Labels: Record<string, string> } }).Config.Labels;
      assert.deepEqual(Object.entries(labels).sort(), [["__proto__", "p"], ["constructor", "c"]]);
      assert.equal((await json("DELETE", `/containers/${name}`)).status, 204);
    }
    // "__proto__" is no valid volume name (it starts with "_"): a 400, checked below.
    assert.equal((await json("POST", "/volumes/create", { Name: "__proto__" })).status, 400);
    for (const name of ["constructor", "toString", "valueOf"]) {
      const v = await json("POST", "/volumes/create", { Name: name, Labels: obj([["__proto__", "x"]]) });
      assert.equal(v.status, 201, v.body);
      const i = await json("GET", `/volumes/${name}`);
      assert.equal(i.status, 200, i.body);
      const got = JSON.parse(i.body) as { Name: string; Labels: Record<string, string> };
      assert.equal(got.Name, name);
      assert.deepEqual(Object.entries(got.Labels), [["__proto__", "x"]]);
      assert.equal((await json("DELETE", `/volumes/${name}`)).status, 204);
    }
    // List filters are client-keyed maps too.
    for (const list of ["/containers/json?all=1&", "/volumes?", "/networks?", "/images/json?", "/containers/prune?", "/volumes/prune?"]) {
      for (const f of ['{"constructor":["x"]}', '{"__proto__":["x"]}', '{"toString":{"x":true}}', '{"label":{"constructor":true}}', '{"label":["__proto__"]}', '{"name":{"toString":true}}', '{"dangling":["constructor"]}']) {
        const method = list.includes("prune") ? "POST" : "GET";
        const r = await json(method, `${list}filters=${encodeURIComponent(f)}`);
        assert.ok(r.status < 500, `${method} ${list} ${f} -> ${r.status} ${r.body.slice(0, 200)}`);
      }
    }
    // Unknown (zero or not) fields named like prototype members.
    const c = await json("POST", "/containers/create", { Image: "busybox", HostConfig: obj([["constructor", 1], ["toString", "x"], ["__proto__", { a: 1 }]]) });
    assert.ok(c.status === 400 || c.status === 201, `${c.status} ${c.body}`);
  });

  test("names and paths over the limits are refused before they reach the disk", async () => {
    const v = await json("POST", "/volumes/create", { Name: LONG });
    assert.equal(v.status, 400, v.body);
    assert.equal((await json("GET", `/volumes/${LONG}`)).status, 404);
    const c = await json("POST", `/containers/create?name=${LONG}`, { Image: "busybox" });
    assert.equal(c.status, 400, c.body);
    const n = await json("POST", "/networks/create", { Name: LONG });
    assert.ok(n.status >= 400 && n.status < 500, `${n.status} ${n.body}`);
    // Paths with a component over NAME_MAX, or over PATH_MAX, wherever a path is taken.
    const longPath = `/x/${LONG}`;
    const deepPath = "/d".repeat(3000);
    for (const p of [longPath, deepPath]) {
      const bodies: unknown[] = [
        { Image: "busybox", HostConfig: { Binds: [`${p}:/mnt`] } },
        { Image: "busybox", HostConfig: { Binds: [`/tmp:${p}`] } },
        { Image: "busybox", HostConfig: { Mounts: [{ Type: "bind", Source: p, Target: "/mnt" }] } },
        { Image: "busybox", HostConfig: { Mounts: [{ Type: "volume", Source: "", Target: p }] } },
        { Image: "busybox", HostConfig: { Tmpfs: { [p]: "" } } },
        { Image: "busybox", Volumes: { [p]: {} } },
        { Image: "busybox", WorkingDir: p },
      ];
      for (const body of bodies) {
        const r = await json("POST", "/containers/create", body);
        assert.ok(r.status < 500, `${JSON.stringify(body).slice(0, 120)} -> ${r.status} ${r.body.slice(0, 300)}`);
        if (r.status === 201) assert.equal((await json("DELETE", `/containers/${(JSON.parse(r.body) as { Id: string }).Id}?v=1`)).status, 204);
      }
      const x = await json("POST", `/containers/${baseline}/exec`, { Cmd: ["true"], WorkingDir: p });
      assert.ok(x.status < 500, `exec WorkingDir -> ${x.status} ${x.body.slice(0, 300)}`);
      const v = await json("POST", "/volumes/create", { Name: "longopts", DriverOpts: { type: "none", o: "bind", device: p } });
      assert.ok(v.status < 500, `volume device -> ${v.status} ${v.body.slice(0, 300)}`);
      if (v.status === 201) assert.equal((await json("DELETE", "/volumes/longopts")).status, 204);
    }
  });

  test("a value the kernel refuses on update is the client's error", async () => {
    // More CPUs than any test host has: berth does not know the host's list, the kernel refuses.
    const r = await json("POST", `/containers/${victim}/update`, { CpusetCpus: "1023" });
    assert.equal(r.status, 400, r.body);
    assert.match(r.body, /Cannot update container [0-9a-f]{64}: .*failed to write .*(invalid argument|numerical result out of range)/);
    const i = JSON.parse((await json("GET", `/containers/${victim}/json`)).body) as { HostConfig: { CpusetCpus: string }; State: { Running: boolean } };
    assert.equal(i.HostConfig.CpusetCpus, "", "the refused value is not kept");
    assert.equal(i.State.Running, true);
  });

  test(`${PER_ENDPOINT} mutated bodies per endpoint (seed ${SEED}): no 5xx, baseline intact`, async (t) => {
    const r = rng(SEED);
    const cases: Array<[string, string, unknown]> = [
      ["POST", "/containers/create", CREATE],
      ["POST", `/containers/${baseline}/exec`, EXEC],
      ["POST", `/containers/${victim}/update`, UPDATE],
      ["POST", "/networks/create", NETWORK],
      ["POST", "/volumes/create", VOLUME],
    ];
    const t0 = Date.now();
    for (const [method, p, base] of cases) {
      // Bodies that are not objects at all, then mutations of a valid one.
      // Deep nesting: JSON.parse copes, a recursive walk over the value must too (or refuse it).
      const deep = (n: number) => `{"Image":"busybox","Labels":{"a":"b"},"HostConfig":{"Foo":${"[".repeat(n)}${"]".repeat(n)}},"Deep":${'{"a":'.repeat(n)}1${"}".repeat(n)}}`;
      for (const text of ["", "null", "[]", "1", '"s"', "{", '{"a":', "\u0000", "{}", '{"__proto__":{"Image":"busybox"}}', deep(1000), deep(100_000)]) {
        check(`${method} ${p}`, text, await raw(method, p, text));
      }
      for (let i = 0; i < PER_ENDPOINT; i++) {
        const body = JSON.stringify(mutate(base, r));
        const q = p === "/containers/create" && r() < 0.3 ? `?name=${encodeURIComponent(asText(makeValue(r)))}` : "";
        check(`${method} ${p}${q}`, body, await raw(method, p + q, body));
      }
    }
    const elapsed = Date.now() - t0;
    t.diagnostic(`${elapsed} ms; ${[...statuses].sort().map(([k, n]) => `${k}: ${n}`).join(", ")}`);
    assert.deepEqual(failures, [], `${failures.length} server errors:\n${failures.join("\n")}`);
    // The daemon answers, the baseline still runs the same process.
    assert.equal((await raw("GET", "/_ping")).status, 200);
    const state = (JSON.parse((await json("GET", `/containers/${baseline}/json`)).body) as { State: { Running: boolean } }).State;
    assert.equal(state.Running, true);
    const top = await json("GET", `/containers/${baseline}/top`);
    assert.equal(top.status, 200);
    assert.match(top.body, /sleep 1000/);
    assert.ok(elapsed < 60_000, `fuzz took ${elapsed} ms`);
  });
});
