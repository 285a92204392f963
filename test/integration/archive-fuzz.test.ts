// A seeded, bounded fuzz of the archives berthd parses: `docker load` of a docker-save archive
// (mutated as a whole, and with one layer mutated and its diff ID fixed so that the mutation
// reaches the unpack: Diff/Apply for small layers, berth's staging for one over 1 MiB) and
// `docker cp` uploads. Mutations: bit flips, truncation, header fields (name, size, type, link
// name, mode; checksum fixed or not), entries reordered and duplicated. Every mutated archive
// must give a success or a client error, never a 5xx or an internal-looking message; nothing
// may be written outside (a host canary directory the archives point at); berthd must keep
// serving, a baseline container keep running, and nothing be left once the images it loaded
// are removed. FUZZ_SEED=<n> replays a run; FUZZ_COUNT=<n> changes the archives per kind.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import { socketRequest } from "../helpers/socket-request.js";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startBerthd, type Berthd } from "../helpers/berthd.js";
import { containerdState, dirSnapshot, mkTar, type HEntry } from "../helpers/hostile-tar.js";
import { buildImageArchive } from "../../src/images/index.js";

const pexec = promisify(execFile);
const repo = new URL("../..", import.meta.url).pathname;
const SEED = Number(process.env.FUZZ_SEED ?? 5);
const COUNT = Number(process.env.FUZZ_COUNT ?? 120);
/** Time budget for all kinds together. */
const BUDGET_MS = Number(process.env.FUZZ_MS ?? 45_000);

let b: Berthd;
let tmp: string;
let canary: string;
let canaryBefore: string;
let baseline: string;
let cpt: string;

type Reply = { status: number; body: string };

function raw(method: string, p: string, body?: Buffer, type = "application/x-tar"): Promise<Reply> {
  return socketRequest(b.socket, method, p, { ...(body ? { body } : {}), type, timeoutMs: 30_000 });
}

/** mulberry32. */
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

/** A tar split into entries (each with the PAX/GNU headers before it) and the trailer. */
function splitTar(t: Buffer): { entries: Buffer[]; trailer: Buffer } {
  const entries: Buffer[] = [];
  let o = 0;
  let start = 0;
  while (o + 512 <= t.length) {
    const h = t.subarray(o, o + 512);
    if (h.every((x) => x === 0)) break;
    const size = parseInt(h.subarray(124, 136).toString().replace(/\0.*$/s, "").trim() || "0", 8) || 0;
    const type = String.fromCharCode(h[156]!);
    o += 512 + Math.ceil(size / 512) * 512;
    if ("xgLK".includes(type)) continue; // belongs to the next entry
    entries.push(t.subarray(start, o));
    start = o;
  }
  return { entries, trailer: t.subarray(Math.min(start, t.length)) };
}

function fixChecksum(h: Buffer): void {
  h.write("        ", 148);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i]!;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
}

/** Offsets of every header block (PAX and GNU ones included). */
function headerOffsets(t: Buffer): number[] {
  const out: number[] = [];
  let o = 0;
  while (o + 512 <= t.length) {
    const h = t.subarray(o, o + 512);
    if (h.every((x) => x === 0)) break;
    out.push(o);
    const size = parseInt(h.subarray(124, 136).toString().replace(/\0.*$/s, "").trim() || "0", 8) || 0;
    o += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

const NAMES = ["../x", "../../../../tmp/CANARY/x", "/CANARY/x", "a/../../x", ".wh..", ".wh..wh..opq", "./", "", "a".repeat(99), "etc/passwd", "dir/", "..", "."];
const LINKS = ["../../x", "/CANARY/keep", "CANARY", "..", "/", "f", "nonexistent", "a".repeat(99)];

/** 1-3 mutations of a tar. */
function mutate(t0: Buffer, r: () => number): { data: Buffer; what: string[] } {
  let t = Buffer.from(t0);
  const what: string[] = [];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  for (let n = 1 + Math.floor(r() * 3); n > 0; n--) {
    const op = r();
    if (op < 0.22) {
      const k = 1 + Math.floor(r() * 8);
      for (let i = 0; i < k; i++) { const at = Math.floor(r() * t.length); t[at]! ^= 1 << Math.floor(r() * 8); }
      what.push(`flip ${k}`);
    } else if (op < 0.32) {
      const at = Math.floor(r() * t.length);
      t = t.subarray(0, at);
      what.push(`truncate ${at}`);
    } else if (op < 0.72) {
      const offs = headerOffsets(t);
      if (offs.length === 0) continue;
      const o = pick(offs);
      const h = t.subarray(o, o + 512);
      const field = r();
      const text = (s: string) => s.replaceAll("CANARY", canary.slice(1));
      if (field < 0.3) { h.fill(0, 0, 100); h.write(text(pick(NAMES)).slice(0, 100), 0); what.push("name"); }
      else if (field < 0.45) { h.write(Math.floor(r() * 2 ** (r() < 0.5 ? 12 : 33)).toString(8).padStart(11, "0") + "\0", 124); what.push("size"); }
      else if (field < 0.65) { h[156] = r() < 0.8 ? pick([..."0123456LKxg7"]).charCodeAt(0) : Math.floor(r() * 256); what.push(`type ${String.fromCharCode(h[156]!)}`); }
      else if (field < 0.8) { h.fill(0, 157, 257); h.write(text(pick(LINKS)).slice(0, 100), 157); what.push("linkname"); }
      else if (field < 0.9) { h.write(pick(["0007777", "0004755", "0000000", "7777777"]) + "\0", 100); what.push("mode"); }
      else { h.write(pick(["0000000", "0001750", "7777777"]) + "\0", 108); what.push("uid"); }
      if (r() < 0.85) fixChecksum(h);
    } else if (op < 0.86) {
      const { entries, trailer } = splitTar(t);
      for (let i = entries.length - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [entries[i], entries[j]] = [entries[j]!, entries[i]!]; }
      t = Buffer.concat([...entries, trailer]);
      what.push("reorder");
    } else {
      const { entries, trailer } = splitTar(t);
      if (entries.length === 0) continue;
      const e = pick(entries);
      entries.splice(Math.floor(r() * (entries.length + 1)), 0, e);
      t = Buffer.concat([...entries, trailer]);
      what.push("duplicate");
    }
  }
  return { data: t, what };
}

/** Messages that mean the input reached code that did not expect it. */
const INTERNAL = /is not a function|Cannot read properties|undefined|TypeError|RangeError|internal error|EEXIST|EISDIR|ENOTDIR|ENOENT: no such file or directory, (?!link)/;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-afuzz-"));
  canary = await fs.mkdtemp(path.join(os.tmpdir(), "berth-canary-"));
  await fs.writeFile(path.join(canary, "keep"), "canary\n");
  canaryBefore = await dirSnapshot(canary);
  b = await startBerthd({ label: "afuzz" });
  const bb = path.join(tmp, "busybox.tar");
  await pexec(process.execPath, ["--import", "tsx", "scripts/busybox-image.ts", bb], { cwd: repo });
  assert.equal((await raw("POST", "/images/load?quiet=1", await fs.readFile(bb))).status, 200);
  const start = async (name: string) => {
    const c = await raw("POST", `/containers/create?name=${name}`, Buffer.from(JSON.stringify({ Image: "busybox", Cmd: ["sleep", "1000"], HostConfig: { NetworkMode: "none" } })), "application/json");
    assert.equal(c.status, 201, c.body);
    const id = (JSON.parse(c.body) as { Id: string }).Id;
    assert.equal((await raw("POST", `/containers/${id}/start`)).status, 204);
    return id;
  };
  baseline = await start("baseline");
  cpt = await start("cpt");
});
after(async () => {
  const up = await raw("GET", "/_ping").then((r) => r.status === 200, () => false);
  if (b && !up) console.error(`berthd is down; its log:\n${b.log().slice(-6000)}`);
  await b?.destroy();
  await fs.rm(tmp, { recursive: true, force: true });
  if (canary) await fs.rm(canary, { recursive: true, force: true });
});

describe("archive fuzz", () => {
  test(`mutated docker-save archives, layers and cp tars (seed ${SEED}, ${COUNT} per kind): no 5xx, nothing outside, nothing left`, async (t) => {
    const layerEntries = (): HEntry[] => [
      { name: "bin/", type: "directory" }, { name: "bin/f", data: "f" }, { name: "f", data: "file" },
      { name: "out", type: "symlink", linkname: canary }, { name: "up", type: "symlink", linkname: "../../.." },
      { name: "hl", type: "link", linkname: "f" }, { name: "d/", type: "directory" }, { name: "d/x", data: "x".repeat(700) },
      { name: `long/${"p".repeat(120)}`, data: "pax path" },
    ];
    const upper: HEntry[] = [{ name: "d/.wh.x", data: "" }, { name: "bin/.wh..wh..opq", data: "" }, { name: "out/y", data: "y" }, { name: "g", data: "g" }];
    const lower = await mkTar(layerEntries());
    const top = await mkTar(upper);
    const bigTop = await mkTar([{ name: "pad.bin", data: randomBytes(1_100_000) }, ...upper]);
    const archive = await buildImageArchive({ layers: [lower, top], tags: ["fuzz:a"] });
    // "up" climbs out of the destination: dockerd's cp refuses such a symlink.
    const cpTar = await mkTar([...layerEntries().filter((e) => e.name !== "up"), { name: "fifo", type: "fifo" }, { name: "dev", type: "character-device", devmajor: 1, devminor: 3 }]);

    const before = await containerdState(b);
    const imagesBefore = new Set((JSON.parse((await raw("GET", "/images/json")).body) as { Id: string }[]).map((i) => i.Id));
    const r = rng(SEED);
    const failures: string[] = [];
    const tally = new Map<string, number>();
    const note = (k: string) => tally.set(k, (tally.get(k) ?? 0) + 1);
    const t0 = Date.now();
    let dirs = 0;
    const kinds: [string, number, () => Promise<{ what: string[]; reply: Reply }>][] = [
      ["archive", COUNT, async () => {
        const m = mutate(archive, r);
        return { what: m.what, reply: await raw("POST", "/images/load?quiet=1", m.data) };
      }],
      ["layer", COUNT, async () => {
        const which = r() < 0.5 ? 0 : 1;
        const m = mutate(which === 0 ? lower : top, r);
        const layers = which === 0 ? [m.data, top] : [lower, m.data];
        return { what: [`layer ${which}`, ...m.what], reply: await raw("POST", "/images/load?quiet=1", await buildImageArchive({ layers, tags: ["fuzz:l"] })) };
      }],
      ["staged layer", Math.ceil(COUNT / 6), async () => {
        const m = mutate(bigTop, r);
        return { what: m.what, reply: await raw("POST", "/images/load?quiet=1", await buildImageArchive({ layers: [lower, m.data], tags: ["fuzz:s"] })) };
      }],
      ["cp", COUNT, async () => {
        const m = mutate(cpTar, r);
        const d = `/tmp/f${dirs++}`;
        const mk = await raw("PUT", `/containers/${cpt}/archive?path=/tmp`, await mkTar([{ name: d.slice(5), type: "directory" }]));
        assert.equal(mk.status, 200, mk.body);
        return { what: m.what, reply: await raw("PUT", `/containers/${cpt}/archive?path=${encodeURIComponent(d)}`, m.data) };
      }],
    ];
    for (const [kind, count, run] of kinds) {
      for (let i = 0; i < count && Date.now() - t0 < BUDGET_MS; i++) {
        const { what, reply } = await run().catch((e: Error) => ({ what: ["request failed"], reply: { status: 0, body: e.message } }));
        const last = reply.body.trim().split("\n").at(-1) ?? "";
        const streamed = /"errorDetail"/.test(last) ? (JSON.parse(last) as { errorDetail: { message: string } }).errorDetail.message : undefined;
        const msg = streamed ?? (reply.status >= 400 ? reply.body : "");
        note(`${kind} ${reply.status}${streamed !== undefined ? " error" : ""}`);
        if (reply.status === 0 || reply.status >= 500 || INTERNAL.test(msg)) failures.push(`${kind} [${what.join(", ")}] -> ${reply.status} ${msg.slice(0, 300)}`);
        if (reply.status === 0) break; // the daemon is gone: the rest would say nothing more
      }
      assert.equal(await dirSnapshot(canary), canaryBefore, `nothing written outside (after ${kind})`);
    }
    const elapsed = Date.now() - t0;
    t.diagnostic(`${elapsed} ms; ${[...tally].sort().map(([k, n]) => `${k}: ${n}`).join(", ")}`);
    assert.deepEqual(failures, [], `${failures.length} failures:\n${failures.join("\n")}`);
    // The daemon answers; the baseline still runs the same process.
    assert.equal((await raw("GET", "/_ping")).status, 200);
    const top2 = await raw("GET", `/containers/${baseline}/top`);
    assert.equal(top2.status, 200, top2.body);
    assert.match(top2.body, /sleep 1000/);
    // Remove what loaded; then nothing may be left of any load, failed or not.
    for (const i of JSON.parse((await raw("GET", "/images/json")).body) as { Id: string }[]) {
      if (!imagesBefore.has(i.Id)) assert.equal((await raw("DELETE", `/images/${i.Id}?force=1`)).status, 200);
    }
    assert.deepEqual(await containerdState(b), before, "nothing left behind");
    assert.ok(elapsed < BUDGET_MS + 15_000, `fuzz took ${elapsed} ms`);
  });
});
