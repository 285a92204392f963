// npm run bench:stdio — scale of libcontainerd's stdio and event routing:
//  1. 100 containers at once, each writing 10 MB through its FIFOs (stdout + stderr): every byte
//     checked, and the event loop delay (p99) measured meanwhile.
//  2. 500 tasks exiting at once: every exit delivered, in order per container, none lost.
// Counts are set with STDIO_CONTAINERS, STDIO_BYTES, EXIT_TASKS.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { startContainerdProcess } from "../src/daemon/containerd-process.js";
import { createContainerdClient, type Spec } from "../src/containerd/index.js";
import { createClient, type Backend, type EventType, type ProcessStreams, type Task, type Container } from "../src/libcontainerd/index.js";
import { makeBusyboxRootfs } from "../src/images/busybox-rootfs.js";

const CONTAINERS = Number(process.env.STDIO_CONTAINERS ?? 100);
const BYTES = Number(process.env.STDIO_BYTES ?? 10 * 1024 * 1024);
const EXITS = Number(process.env.EXIT_TASKS ?? 500);
const LINE = "abcdefghijklmnopqrstuvwxyz0123456789\n";

const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-stdio-"));
const ctd = await startContainerdProcess({ dir: path.join(dir, "ctd") });
const ns = "berth-stdiobench";
const raw = createContainerdClient({ address: ctd.address, namespace: ns });
const events = new Map<string, EventType[]>();
const backend: Backend = {
  processEvent(id, type) {
    let l = events.get(id);
    if (!l) events.set(id, (l = []));
    l.push(type);
  },
};
const client = await createClient({ containerd: raw, stateDir: path.join(dir, "fifos"), backend });
const results: Record<string, unknown> = { date: new Date().toISOString(), cores: os.cpus().length };

function spec(rootfs: string, id: string, args: string[]): Spec {
  return {
    ociVersion: "1.0.2",
    process: { user: { uid: 0, gid: 0 }, args, cwd: "/", env: ["PATH=/bin"] },
    root: { path: rootfs },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }, { destination: "/dev", type: "tmpfs", source: "tmpfs" }],
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }, { type: "network" }], cgroupsPath: `/${ns}/${id}` },
  };
}

/** Runs fn over items with at most `limit` at a time. */
async function pool<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]!, i); }
  }));
  return out;
}

/** Streaming check that a stream is LINE repeated and cut at `bytes`, without keeping it. The
 * comparison is a native memcmp against a pattern buffer, so the checker itself does not stall
 * the event loop it is measuring. */
const PATTERN = Buffer.from(LINE.repeat(Math.ceil((4 << 20) / LINE.length) + 1));
function checker(bytes: number) {
  let pos = 0;
  let ok = true;
  return {
    feed(chunk: Buffer) {
      const off = pos % LINE.length;
      if (ok && (off + chunk.length > PATTERN.length || chunk.compare(PATTERN, off, off + chunk.length) !== 0)) ok = false;
      pos += chunk.length;
    },
    get ok() { return ok && pos === bytes; },
    get bytes() { return pos; },
  };
}

try {
  const rootfs = await makeBusyboxRootfs(path.join(dir, "rootfs"));
  while (!client.eventsLive) await sleep(10);

  // ---- 1. 100 containers × 10 MB ----------------------------------------------------------
  const script = `yes ${LINE.trim()} | head -c ${BYTES}; yes ${LINE.trim()} | head -c ${BYTES} >&2`;
  // The histogram records whole timer intervals: the delay is what exceeds the resolution.
  const RES = 5;
  const delay = monitorEventLoopDelay({ resolution: RES });
  const lag = (ns: number) => Math.max(0, ns / 1e6 - RES);
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  delay.enable();
  // A control: an idle Node process measuring its own event-loop delay meanwhile. What it sees
  // is the host's CPU contention (100 writers and their shims on this machine's cores), not berth.
  const control = spawn(process.execPath, ["-e", `const h=require("perf_hooks").monitorEventLoopDelay({resolution:${RES}});h.enable();process.on("SIGTERM",()=>{h.disable();process.stdout.write(JSON.stringify({p99:h.percentile(99)/1e6-${RES},max:h.max/1e6-${RES}}));process.exit(0)});setInterval(()=>{},1000)`], { stdio: ["ignore", "pipe", "ignore"] });
  let controlOut = "";
  control.stdout.on("data", (c: Buffer) => (controlOut += c.toString()));
  const runs = await pool(Array.from({ length: CONTAINERS }, (_, i) => `io${i}`), 8, async (id) => {
    const c = await client.newContainer(id, { spec: spec(rootfs, id, ["sh", "-c", script]) });
    const out = checker(BYTES);
    const err = checker(BYTES);
    let ended!: Promise<unknown>;
    const attach = (io: ProcessStreams) => {
      io.stdout!.on("data", (b: Buffer) => out.feed(b));
      io.stderr!.on("data", (b: Buffer) => err.feed(b));
      ended = Promise.all([new Promise((r) => io.stdout!.once("end", r)), new Promise((r) => io.stderr!.once("end", r))]);
    };
    const task = await c.start({ attachStdio: attach });
    return { c, task, out, err, ended: () => ended };
  });
  let rssPeak = 0;
  const rssTimer = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage().rss); }, 100);
  let exact = 0;
  await Promise.all(runs.map(async (r) => {
    const exit = await r.task.exited;
    await r.task.delete();
    await r.ended();
    if (exit.exitCode === 0 && r.out.ok && r.err.ok) exact++;
    else console.error(`${r.c.id}: exit ${exit.exitCode}, stdout ${r.out.bytes} ok=${r.out.ok}, stderr ${r.err.bytes} ok=${r.err.ok}`);
    await r.c.delete();
  }));
  clearInterval(rssTimer);
  delay.disable();
  const controlDone = new Promise((r) => control.once("close", r));
  control.kill("SIGTERM");
  await controlDone;
  const idle = JSON.parse(controlOut || "{}") as { p99?: number; max?: number };
  const secs = (performance.now() - t0) / 1000;
  const mb = (2 * BYTES * CONTAINERS) / 1e6;
  results.stdio = {
    containers: CONTAINERS, bytesPerStream: BYTES, byteExact: exact, seconds: secs, throughputMBps: mb / secs,
    eventLoopDelayMs: { p50: lag(delay.percentile(50)), p99: lag(delay.percentile(99)), max: lag(delay.max) },
    rssMB: { before: rss0 / 1e6, peak: rssPeak / 1e6 },
    idleControlProcessDelayMs: idle,
  };
  console.log(`stdio: ${exact}/${CONTAINERS} containers byte-exact on stdout and stderr (${mb.toFixed(0)} MB in ${secs.toFixed(1)} s, ${(mb / secs).toFixed(0)} MB/s)`);
  console.log(`       event loop delay p50 ${lag(delay.percentile(50)).toFixed(1)} ms, p99 ${lag(delay.percentile(99)).toFixed(1)} ms, max ${lag(delay.max).toFixed(1)} ms; RSS peak ${(rssPeak / 1e6).toFixed(0)} MB`);
  console.log(`       an idle Node process on the same host meanwhile: event loop delay p99 ${idle.p99?.toFixed(1)} ms, max ${idle.max?.toFixed(1)} ms (CPU contention)`);

  // ---- 2. 500 exits at once -----------------------------------------------------------------
  const started: { c: Container; t: Task }[] = await pool(Array.from({ length: EXITS }, (_, i) => `ex${i}`), 8, async (id) => {
    // Each waits on a FIFO-free signal: all of them exit within the same instant when killed.
    const c = await client.newContainer(id, { spec: spec(rootfs, id, ["sleep", "100000"]) });
    return { c, t: await c.start() };
  });
  await client.idle();
  const k0 = performance.now();
  for (const s of started) process.kill(s.t.pid, "SIGKILL");
  await Promise.all(started.map((s) => s.t.exited));
  const allExitsMs = performance.now() - k0;
  await client.idle();
  const processedMs = performance.now() - k0;
  let inOrder = 0;
  let delivered = 0;
  for (const s of started) {
    const l = events.get(s.c.id) ?? [];
    const exitsSeen = l.filter((t) => t === "exit").length;
    if (exitsSeen === 1) delivered++;
    if (JSON.stringify(l) === JSON.stringify(["create", "start", "exit"])) inOrder++;
  }
  results.exits = { tasks: EXITS, delivered, inOrder, allExitsMs, processedMs };
  console.log(`exits: ${delivered}/${EXITS} delivered exactly once, ${inOrder}/${EXITS} in order (create, start, exit); all seen in ${allExitsMs.toFixed(0)} ms`);
  await pool(started, 8, async (s) => { await s.t.delete(); await s.c.delete(); });

  await fs.mkdir("bench/results", { recursive: true });
  await fs.writeFile("bench/results/stdio.json", JSON.stringify(results, null, 2) + "\n");
  if (exact !== CONTAINERS || delivered !== EXITS || inOrder !== EXITS) process.exitCode = 1;
} finally {
  await client.close();
  await ctd.stop(30_000);
  await fs.rm(dir, { recursive: true, force: true });
}
