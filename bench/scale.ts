// bench/scale.ts (npm run bench:scale) — one berthd with 200 running containers (issue 9 item 3):
// berthd's memory, `docker ps` latency, `docker stats --no-stream` of all (and how many
// Tasks/Metrics calls it costs), the restore after a SIGKILL of berthd (time and containerd
// RPCs), and how fast 200 simultaneous exits are processed. Writes docs/performance.md and
// bench/results/scale.json. Bounded: the whole run is abandoned (and cleaned up) after
// SCALE_DEADLINE_S (default 540 s).
//
// Environment: COUNT=200, DOCKER=docker (the CLI, for `docker ps` / `docker stats` / `docker load`),
// CONCURRENCY=4 (containers created and started at a time), BERTH_TEST_TSX=1 to run berthd from
// the sources instead of dist/ (by default dist/ is built first and test/helpers/berthd.ts runs
// dist/cli/berthd.js: tsx costs more CPU per request, see docs/benchmarks.md).
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { fetchGrpcStarted } from "../src/daemon/containerd-process.js";
import { buildBusyboxImage } from "../src/images/index.js";
import { startBerthd, type Berthd } from "../test/helpers/berthd.js";
import { summarize } from "./stats.js";
import { parallel } from "../src/base/pool.js";

const run = promisify(execFile);
const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const COUNT = Number(process.env.COUNT ?? 200);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 4);
/** Fresh berthds started (no containers) to time start-up to _ping. */
const STARTS = Number(process.env.STARTS ?? 5);
/** Idle seconds before the settled RSS of a berthd with no containers. */
const IDLE_SETTLE_S = Number(process.env.IDLE_SETTLE_S ?? 20);
const DOCKER = process.env.DOCKER ?? "docker";
const IMAGE = "busybox:latest";
const deadline = Date.now() + Number(process.env.SCALE_DEADLINE_S ?? 540) * 1000;
const CLK_TCK_MS = 10; // /proc/PID/stat utime/stime are in USER_HZ = 100 on Linux

function left(what: string): number {
  const ms = deadline - Date.now();
  if (ms <= 0) throw new Error(`deadline reached while ${what}`);
  return ms;
}

const log = (m: string) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

async function rssMiB(pid: number): Promise<number> {
  const s = await fs.readFile(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(s)?.[1] ?? NaN) / 1024;
}

/** utime + stime of a whole process, in ms (10 ms ticks). */
async function cpuMs(pid: number): Promise<number> {
  const s = await fs.readFile(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * CLK_TCK_MS;
}

function diff(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
const fmtCalls = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k} ${v}`).join(", ") || "none";

async function timedMs<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await fn();
  return { ms: performance.now() - t0, result };
}

/** fn over the items, n at a time; the first failure stops the rest. */
const pool = <T>(items: T[], n: number, fn: (item: T) => Promise<void>) => parallel(items, n, undefined, fn);

interface ListEntry { Id: string; State: string }
async function list(b: Berthd, all: boolean): Promise<ListEntry[]> {
  const r = await b.request("GET", `/containers/json${all ? "?all=1" : ""}`);
  if (r.status !== 200) throw new Error(`GET /containers/json: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as ListEntry[];
}

/** Arrival times (ms after `t0()`) of `die` events on the API's event stream, until closed. */
function watchDies(socketPath: string, t0: () => number): { arrivals: number[]; ready: Promise<void>; close(): void } {
  const arrivals: number[] = [];
  const filters = encodeURIComponent(JSON.stringify({ type: ["container"], event: ["die"] }));
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const req = http.request({ socketPath, path: `/events?filters=${filters}`, method: "GET" }, (res) => {
    ready();
    let buf = "";
    res.setEncoding("utf8").on("data", (c: string) => {
      buf += c;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        if (buf.slice(0, i).trim()) arrivals.push(performance.now() - t0());
        buf = buf.slice(i + 1);
      }
    });
    res.on("error", () => {});
  });
  req.on("error", () => {});
  req.end();
  return { arrivals, ready: readyP, close: () => req.destroy() };
}

/** Times of berthd's own log lines (pino JSON, ms since the epoch) for a pid, by message. */
function logTimes(log: string, pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const j = JSON.parse(line) as { pid?: number; time?: number; msg?: string };
      if (j.pid === pid && j.msg && j.time && !out.has(j.msg)) out.set(j.msg, j.time);
    } catch { /* not a log line */ }
  }
  return out;
}

async function machine() {
  const mem = await fs.readFile("/proc/meminfo", "utf8");
  const cpuinfo = await fs.readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const containerd = await run("containerd", ["--version"]).then((r) => r.stdout.trim().split(" ")[2] ?? "?", () => "?");
  return {
    nproc: os.cpus().length,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "?",
    memTotalMiB: Math.round(Number(/^MemTotal:\s+(\d+)/m.exec(mem)?.[1] ?? 0) / 1024),
    memAvailableMiB: Math.round(Number(/^MemAvailable:\s+(\d+)/m.exec(mem)?.[1] ?? 0) / 1024),
    kernel: os.release(),
    node: process.version,
    containerd,
    docker: await run(DOCKER, ["--version"]).then((r) => r.stdout.trim(), () => "?"),
    berthdRunner: process.env.BERTH_TEST_TSX === "1" ? "node --import tsx src/cli/berthd.ts" : "node dist/cli/berthd.js (built by this run)",
  };
}

async function main(): Promise<number> {
  const date = new Date().toISOString();
  const loadBefore = (await fs.readFile("/proc/loadavg", "utf8")).trim();
  const facts = await machine();
  log(`${COUNT} containers, ${facts.nproc} CPUs, load ${loadBefore}`);
  // The berthd helper runs dist/cli/berthd.js when it exists: build it, so the sources are measured.
  if (process.env.BERTH_TEST_TSX !== "1") {
    log("building dist/ (npm run build)");
    await run("npm", ["run", "--silent", "build"], { cwd: repo, timeout: 180_000 });
  }
  // ---- start-up and idle memory of a berthd with no containers (its own root each time)
  const startups: number[] = [];
  let idle = { atPingMiB: 0, afterMiB: 0, settleS: IDLE_SETTLE_S };
  for (let i = 0; i < STARTS; i++) {
    const t0 = performance.now();
    const fresh = await startBerthd({ label: "fresh" });
    startups.push(performance.now() - t0);
    if (i === STARTS - 1) {
      // RSS right after start, then once V8's memory reducer has had its idle GCs.
      const atPing = await rssMiB(fresh.pid);
      await sleep(IDLE_SETTLE_S * 1000);
      idle = { atPingMiB: atPing, afterMiB: await rssMiB(fresh.pid), settleS: IDLE_SETTLE_S };
    }
    await fresh.destroy();
  }
  log(`start-up to _ping: median ${summarize(startups).p50.toFixed(0)} ms; idle RSS ${idle.atPingMiB.toFixed(1)} MiB at _ping, ${idle.afterMiB.toFixed(1)} MiB after ${IDLE_SETTLE_S} s`);

  // logTimes reads pino's JSON lines: ask for them (text is the default, as dockerd's).
  const b = await startBerthd({ label: "scale", args: ["--log-format", "json"] });
  const stopAll = async () => {
    log("cleaning up (containers, berthd, its containerd and shims)");
    await b.destroy().catch((e: unknown) => log(`cleanup: ${String(e)}`));
  };
  const onSignal = () => void stopAll().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const watchdog = setTimeout(() => {
    log("deadline reached: abandoning the run");
    void stopAll().finally(() => process.exit(1));
  }, deadline - Date.now() + 60_000);
  watchdog.unref();

  const metrics = (await fs.readFile(path.join(b.root, "containerd", "config.toml"), "utf8")).match(/\[metrics\][^[]*address = "([^"]+)"/)?.[1];
  if (!metrics) throw new Error("no metrics address in berth's containerd config");
  const ctdPid = async () => Number((await fs.readFile(path.join(b.root, "containerd", "containerd.pid"), "utf8")).trim());
  const env = { ...process.env, DOCKER_HOST: b.dockerHost };
  const docker = (args: string[], timeout = left("docker " + args[0])) => run(DOCKER, args, { env, timeout, maxBuffer: 64 << 20 });
  const results: Record<string, unknown> = { date, machine: facts, count: COUNT, loadBefore, startup: { pingMs: summarize(startups), runs: startups.length }, idle };
  try {
    // ---- image and containers
    const tarPath = path.join(b.dir, "busybox.tar");
    await fs.writeFile(tarPath, await buildBusyboxImage({ tags: [IMAGE] }));
    await docker(["load", "-i", tarPath]);
    log(`starting ${COUNT} containers (${CONCURRENCY} at a time)`);
    const ids: string[] = [];
    const rssIdle = await rssMiB(b.pid);
    const create = await timedMs(() => pool(Array.from({ length: COUNT }, (_, i) => i), CONCURRENCY, async (i) => {
      left("creating containers");
      const c = await b.request("POST", `/containers/create?name=scale-${i}`, { Image: IMAGE, Cmd: ["sleep", "100000"], HostConfig: { NetworkMode: "none" } });
      if (c.status !== 201) throw new Error(`create: ${c.status} ${c.body}`);
      const id = (JSON.parse(c.body) as { Id: string }).Id;
      ids.push(id);
      const s = await b.request("POST", `/containers/${id}/start`);
      if (s.status !== 204) throw new Error(`start ${id}: ${s.status} ${s.body}`);
    }));
    const running = (await list(b, false)).filter((c) => c.State === "running").length;
    if (running !== COUNT) throw new Error(`${running} of ${COUNT} containers running after start`);
    await sleep(2000);
    const shims = (await run("pgrep", ["-f", `containerd-shim.*${b.root}/containerd/containerd.sock`]).then((r) => r.stdout.trim().split("\n").filter(Boolean), () => [])).length;
    const berthdAfterBurst = await rssMiB(b.pid);
    // Steady state: V8 shrinks the young generation the burst of creates grew once berthd idles.
    await sleep(IDLE_SETTLE_S * 1000);
    const rss = { berthdIdleMiB: rssIdle, berthdAfterBurstMiB: berthdAfterBurst, berthdMiB: await rssMiB(b.pid), containerdMiB: await rssMiB(await ctdPid()), shims };
    results.create = { totalMs: create.ms, perContainerMs: create.ms / COUNT, concurrency: CONCURRENCY };
    results.rss = rss;
    log(`created and started in ${(create.ms / 1000).toFixed(1)} s; berthd RSS ${berthdAfterBurst.toFixed(0)} MiB after the burst, ${rss.berthdMiB.toFixed(0)} MiB ${IDLE_SETTLE_S} s later (${rssIdle.toFixed(0)} MiB before)`);

    // ---- docker ps
    const rpcPs0 = await fetchGrpcStarted(metrics);
    const psCli: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await timedMs(() => docker(["ps", "-q"]));
      const lines = r.result.stdout.trim().split("\n").filter(Boolean).length;
      if (lines !== COUNT) throw new Error(`docker ps listed ${lines}, expected ${COUNT}`);
      psCli.push(r.ms);
    }
    const psApi: number[] = [];
    for (let i = 0; i < 10; i++) psApi.push((await timedMs(() => list(b, false))).ms);
    const rpcPs = diff(rpcPs0, await fetchGrpcStarted(metrics));
    const floor: number[] = [];
    for (let i = 0; i < 5; i++) floor.push((await timedMs(() => run(DOCKER, ["--version"]))).ms);
    results.ps = { cli: summarize(psCli), api: summarize(psApi), cliFloor: summarize(floor), rpcs: rpcPs };
    log(`docker ps: median ${summarize(psCli).p50.toFixed(1)} ms (API ${summarize(psApi).p50.toFixed(1)} ms), RPCs ${fmtCalls(rpcPs)}`);

    // ---- docker stats --no-stream of all
    const stats: { ms: number; calls: Record<string, number>; cpuMs: number; rows: number }[] = [];
    for (let i = 0; i < 2; i++) {
      const r0 = await fetchGrpcStarted(metrics);
      const c0 = await cpuMs(b.pid);
      const r = await timedMs(() => docker(["stats", "--no-stream", "--format", "{{.ID}} {{.CPUPerc}} {{.MemUsage}}"], Math.min(180_000, left("docker stats"))));
      await sleep(500);
      stats.push({ ms: r.ms, calls: diff(r0, await fetchGrpcStarted(metrics)), cpuMs: (await cpuMs(b.pid)) - c0, rows: r.result.stdout.trim().split("\n").filter(Boolean).length });
    }
    results.stats = stats;
    for (const [i, s] of stats.entries()) log(`docker stats --no-stream #${i + 1}: ${(s.ms / 1000).toFixed(2)} s, ${s.rows} rows, RPCs ${fmtCalls(s.calls)}, berthd CPU ${s.cpuMs} ms`);

    // ---- restore after SIGKILL
    left("restore");
    const rpcR0 = await fetchGrpcStarted(metrics);
    const oldPid = b.pid;
    await b.kill();
    const t0 = performance.now();
    const t0Epoch = Date.now();
    await b.restart();
    const pingMs = performance.now() - t0;
    let polls = 0;
    for (;;) {
      left("waiting for the restore");
      polls++;
      const l = await list(b, false).catch(() => [] as ListEntry[]);
      if (l.filter((c) => c.State === "running").length === COUNT) break;
      await sleep(10);
    }
    const restoreMs = performance.now() - t0;
    const rpcRestore = diff(rpcR0, await fetchGrpcStarted(metrics));
    await sleep(1000);
    const rpcLate = diff(rpcR0, await fetchGrpcStarted(metrics));
    // berthd's own log: when containerd answered, when the restore ended, when the API listened.
    const lt = logTimes(b.log(), b.pid);
    const at = (msg: string) => (lt.has(msg) ? lt.get(msg)! - t0Epoch : undefined);
    const phases = { containerdReadyMs: at("containerd ready"), restoredMs: at("containers restored"), listeningMs: at("berthd ready") };
    const restore = { ms: restoreMs, pingMs, polls, phases, rpcs: rpcRestore, rpcsOneSecondLater: rpcLate, oldPid, newPid: b.pid, berthdRssMiB: await rssMiB(b.pid), berthdCpuMs: await cpuMs(b.pid) };
    results.restore = restore;
    log(`restore: ${restoreMs.toFixed(0)} ms to ${COUNT} running (socket answered after ${pingMs.toFixed(0)} ms); RPCs ${fmtCalls(rpcRestore)}`);

    // ---- 200 simultaneous exits, killed from the host
    const insp = await docker(["inspect", "-f", "{{.State.Pid}}", ...ids]);
    const pids = insp.stdout.trim().split("\n").map(Number);
    if (pids.length !== COUNT || pids.some((p) => !(p > 0))) throw new Error(`docker inspect gave ${pids.length} pids: ${insp.stdout.slice(0, 200)}`);
    await sleep(1000);
    let e0 = 0;
    const dies = watchDies(b.socket, () => e0);
    await dies.ready;
    // containerd's side of the same exits: when it published each /tasks/exit (the shim saw the
    // process die) and each /tasks/delete (the shim deleted the task). Its own Subscribe is opened
    // before the RPC snapshot, so it is not counted as berth's.
    const watcher = b.containerd();
    const stopWatch = new AbortController();
    const published: { exit: number[]; delete: number[] } = { exit: [], delete: [] };
    let killEpoch = 0;
    const watching = (async () => {
      for await (const ev of watcher.events.subscribe([`namespace==${b.namespace},topic~="^/tasks/(exit|delete)$"`], stopWatch.signal)) {
        const at = (ev.timestamp?.getTime() ?? Date.now()) - killEpoch;
        if (killEpoch) (ev.topic === "/tasks/exit" ? published.exit : published.delete).push(at);
      }
    })().catch(() => {});
    await sleep(500);
    const rpcE0 = await fetchGrpcStarted(metrics);
    const cpuE0 = await cpuMs(b.pid);
    e0 = performance.now();
    killEpoch = Date.now();
    for (const p of pids) process.kill(p, "SIGKILL");
    const killMs = performance.now() - e0;
    let exited = 0;
    const exitCurve: [number, number][] = [];
    for (;;) {
      left("waiting for the exits");
      const l = await list(b, true);
      const n = l.filter((c) => c.State === "exited").length;
      if (n !== exited) exitCurve.push([Math.round(performance.now() - e0), n]);
      exited = n;
      if (n === COUNT) break;
      await sleep(10);
    }
    const exitMs = performance.now() - e0;
    const exitCpu = (await cpuMs(b.pid)) - cpuE0;
    await sleep(1000);
    dies.close();
    const rpcExit = diff(rpcE0, await fetchGrpcStarted(metrics));
    stopWatch.abort();
    await watching;
    await watcher.close();
    const curveOf = (times: number[]) => {
      const t = [...times].sort((a, b2) => a - b2);
      return [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 1].map((q) => Math.max(1, Math.ceil(q * COUNT))).filter((k) => t[k - 1] !== undefined).map((k) => [Math.round(t[k - 1]!), k] as [number, number]);
    };
    results.exits = {
      ms: exitMs, perSecond: COUNT / (exitMs / 1000), killMs, rpcs: rpcExit, berthdCpuMs: exitCpu, curve: exitCurve,
      dieEvents: dies.arrivals.length, dieCurve: curveOf(dies.arrivals),
      containerdExitCurve: curveOf(published.exit), containerdDeleteCurve: curveOf(published.delete),
    };
    log(`${COUNT} exits processed in ${exitMs.toFixed(0)} ms (${(COUNT / (exitMs / 1000)).toFixed(0)}/s); RPCs ${fmtCalls(rpcExit)}`);
  } finally {
    clearTimeout(watchdog);
    await stopAll();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  results.loadAfter = (await fs.readFile("/proc/loadavg", "utf8")).trim();
  await fs.mkdir(path.join(repo, "bench/results"), { recursive: true });
  await fs.writeFile(path.join(repo, "bench/results/scale.json"), JSON.stringify(results, null, 1) + "\n");
  await fs.writeFile(path.join(repo, "docs/performance.md"), render(results as unknown as Results));
  log("wrote docs/performance.md and bench/results/scale.json");
  return 0;
}

type Summary = ReturnType<typeof summarize>;
interface Results {
  date: string; count: number; loadBefore: string; loadAfter: string;
  startup: { pingMs: Summary; runs: number };
  idle: { atPingMiB: number; afterMiB: number; settleS: number };
  machine: Awaited<ReturnType<typeof machine>>;
  create: { totalMs: number; perContainerMs: number; concurrency: number };
  rss: { berthdIdleMiB: number; berthdAfterBurstMiB: number; berthdMiB: number; containerdMiB: number; shims: number };
  ps: { cli: Summary; api: Summary; cliFloor: Summary; rpcs: Record<string, number> };
  stats: { ms: number; calls: Record<string, number>; cpuMs: number; rows: number }[];
  restore: { ms: number; pingMs: number; phases: { containerdReadyMs?: number; restoredMs?: number; listeningMs?: number }; rpcs: Record<string, number>; rpcsOneSecondLater: Record<string, number>; berthdRssMiB: number; berthdCpuMs: number };
  exits: { ms: number; perSecond: number; killMs: number; rpcs: Record<string, number>; berthdCpuMs: number; curve: [number, number][]; dieEvents: number; dieCurve: [number, number][]; containerdExitCurve: [number, number][]; containerdDeleteCurve: [number, number][] };
}

function render(r: Results): string {
  const n = r.count;
  const f1 = (v: number) => v.toFixed(1);
  const metricsCalls = (c: Record<string, number>) => c["Tasks/Metrics"] ?? 0;
  const restoreBudget = ["Containers/List", "Tasks/List"];
  const restoreOther = Object.keys(r.restore.rpcs).filter((k) => !restoreBudget.includes(k));
  const half = r.exits.curve.find(([, k]) => k >= n / 2)?.[0];
  const curve = (c: [number, number][]) => c.map(([t, k]) => `${k} after ${t} ms`).join(", ") || "-";
  return `# Performance at scale: one berthd, ${n} running containers

Written by \`npm run bench:scale\` (\`bench/scale.ts\`) on ${r.date}; do not edit by hand (the next run
overwrites it; analysis goes to [benchmarks.md](benchmarks.md)).

## Machine

| | |
|---|---|
| CPUs (nproc) | ${r.machine.nproc} × ${r.machine.cpuModel} |
| memory | ${r.machine.memTotalMiB} MiB (${r.machine.memAvailableMiB} MiB available at start) |
| kernel | ${r.machine.kernel} |
| Node.js | ${r.machine.node} |
| containerd | ${r.machine.containerd} (embedded, private root) |
| Docker CLI | ${r.machine.docker} |
| berthd | ${r.machine.berthdRunner}; \`--bridge none\`, containers \`--network none\` |
| load average before / after | ${r.loadBefore} / ${r.loadAfter} |

## Results

| measure | value |
|---|---|
| start-up: spawn of \`node dist/cli/berthd.js\` (no containers, its own embedded containerd) until \`/_ping\` answers, median of ${r.startup.runs} | ${f1(r.startup.pingMs.p50)} ms (min ${f1(r.startup.pingMs.min)}, max ${f1(r.startup.pingMs.max)}) |
| berthd RSS with no containers: at \`_ping\`; after ${r.idle.settleS} s idle | ${f1(r.idle.atPingMiB)} MiB; ${f1(r.idle.afterMiB)} MiB |
| create + start ${n} containers (\`busybox sleep\`, ${r.create.concurrency} at a time, over the API) | ${f1(r.create.totalMs / 1000)} s (${f1(r.create.perContainerMs)} ms per container) |
| berthd RSS with ${n} running: 2 s after the last start; after ${r.idle.settleS} s more (before the first container, image loaded) | ${f1(r.rss.berthdAfterBurstMiB)} MiB; ${f1(r.rss.berthdMiB)} MiB (${f1(r.rss.berthdIdleMiB)} MiB) |
| containerd RSS; shims | ${f1(r.rss.containerdMiB)} MiB; ${r.rss.shims} shims |
| \`docker ps\` (${n} listed), median of 10, CLI wall | ${f1(r.ps.cli.p50)} ms (min ${f1(r.ps.cli.min)}, max ${f1(r.ps.cli.max)}; \`docker --version\` alone ${f1(r.ps.cliFloor.p50)} ms) |
| \`GET /containers/json\` over the socket, median of 10 | ${f1(r.ps.api.p50)} ms |
| containerd RPCs for the 20 listings | ${total(r.ps.rpcs)} (${fmtCalls(r.ps.rpcs)}) |
${r.stats.map((s, i) => `| \`docker stats --no-stream\` of all, run ${i + 1} | ${f1(s.ms / 1000)} s, ${s.rows} rows; ${metricsCalls(s.calls)} Tasks/Metrics (${total(s.calls)} RPCs: ${fmtCalls(s.calls)}); berthd CPU ${s.cpuMs} ms |`).join("\n")}
| restore after \`kill -9\` of berthd, until \`/containers/json\` lists ${n} running | ${f1(r.restore.ms)} ms (socket answering after ${f1(r.restore.pingMs)} ms) |
| restore phases from berthd's log (ms after the new process was spawned) | containerd answering ${r.restore.phases.containerdReadyMs ?? "-"}, ${n} containers restored ${r.restore.phases.restoredMs ?? "-"}, API listening ${r.restore.phases.listeningMs ?? "-"} |
| containerd RPCs of the restore | ${total(r.restore.rpcs)}: ${fmtCalls(r.restore.rpcs)} (1 s later: ${total(r.restore.rpcsOneSecondLater)}) |
| berthd RSS / CPU after the restore | ${f1(r.restore.berthdRssMiB)} MiB / ${r.restore.berthdCpuMs} ms since its start |
| ${n} simultaneous exits (SIGKILL from the host, ${f1(r.exits.killMs)} ms to send), until all show exited | ${f1(r.exits.ms)} ms = ${f1(r.exits.perSecond)} exits/s (half listed after ${half ?? "-"} ms) |
| containerd publishes \`/tasks/exit\` (the shims saw the processes die) | ${curve(r.exits.containerdExitCurve)} |
| containerd publishes \`/tasks/delete\` (the shim deleted the task; Tasks/Delete answers after containerd has also stopped the shim and removed its bundle) | ${curve(r.exits.containerdDeleteCurve)} |
| berth's \`die\` events on \`/events\` (exit processed: reaped, state saved) | ${r.exits.dieEvents} events; ${curve(r.exits.dieCurve)} |
| containerd RPCs of the exits | ${total(r.exits.rpcs)}: ${fmtCalls(r.exits.rpcs)} |
| berthd CPU for the exits | ${r.exits.berthdCpuMs} ms (${f1(r.exits.berthdCpuMs / n)} ms per exit) |

## Against the budget (../shared/reference/rpc-floor.md)

- \`stats\` of all containers, per tick: budget **1** Tasks/Metrics (one call with a filter for all);
  measured **${metricsCalls(r.stats[0]!.calls)}** in the first \`docker stats --no-stream\` and **${metricsCalls(r.stats[r.stats.length - 1]!.calls)}** in the last.
  The Docker CLI asks for each container separately (\`GET /containers/{id}/stats?stream=0\`), so a
  berth at the budget answers those ${n} requests from one shared Tasks/Metrics sample per tick.
- daemon restart with ${n} containers: budget **2** (Containers/List, Tasks/List); measured **${total(r.restore.rpcs)}**${restoreOther.length ? ` (besides those two: ${restoreOther.map((k) => `${k} ${r.restore.rpcs[k]}`).join(", ")}; Version and Events/Subscribe are start-up costs, not per container)` : ""}.
- exit processing: budget **1** per exit (Tasks/Delete); measured **${f1(total(r.exits.rpcs) / n)}** per exit.
- \`ps\`: budget **0**; measured **${total(r.ps.rpcs)}**.

Exit curve (ms after the kills → containers shown exited, from polling \`GET /containers/json?all=1\`): ${[0.1, 0.25, 0.5, 0.75, 0.9, 1].map((q) => r.exits.curve.find(([, k]) => k >= q * n)).filter((x): x is [number, number] => !!x).map(([t, k]) => `${t} ms → ${k}`).join(", ")}.

## A lean daemon

What keeps berthd's own memory and start-up small (the numbers above):

- **One bundle.** \`npm run build\` bundles berthd (\`scripts/bundle-berthd.mjs\`, esbuild) into
  \`dist/cli/berthd.js\` and its chunks. Node loading ~500 ES modules one by one was most of
  start-up's CPU and ~15 MiB of RSS. The library under \`dist/\` stays unbundled.
- **Load on first use.** The builder (\`cli/lazy-builder.ts\`; at start only when a crash left
  a build behind), the registry client (undici), the image load/import/commit/pull/push/save
  code, the metrics server (prom-client) and koffi (\`base/libc.ts\`) are dynamic imports: an
  ordinary start never loads them.
- **No gRPC framework.** containerd is spoken to with berth's own gRPC framing on one HTTP/2
  session (\`containerd/session.ts\`, \`unary.ts\`, \`server-stream.ts\`); connect-node pulled in
  Node's fetch machinery for its Headers.
- **V8 set for a daemon** (\`cli/heap.ts\`): while berthd starts, TurboFan is off (start-up code
  runs once; it comes back once berthd serves), and the young generation never grows (a burst of
  creates grew it to 2 × 16 MiB until V8's memory reducer came, 20 MiB of RSS, for 0.1 ms less
  GC per exec). When the
  event loop has been nearly idle for 10 s and the heap grew by 8 MiB since berthd last collected,
  one full GC runs (a burst of creates otherwise left ~20 MiB of garbage that no GC came for).
- **Nothing held per idle container or per past image.** A container's json-file writer holds
  its 256 KiB encode buffer only while it has records to write; the image store's cache of
  manifests and configs is an LRU of 1,024 entries (\`base/lru.ts\`).

## Memory per container: shared shims

Each running container above has its own runc v2 shim (~13 MiB RSS, as under dockerd).
\`berthd --shim-group-size N\` puts up to N containers in one shim: what it saves (\`npm run
bench:shims\`, against dockerd 20.10), what it trades (one shim's death stops its N containers)
and when to use it are in [shim-groups.md](shim-groups.md).

## Watching a live berthd

\`src/cli/metrics.ts\` serves Prometheus metrics on a loopback address (\`startMetricsServer\`; berthd's
\`--metrics-addr 127.0.0.1:PORT\`): \`berth_containerd_calls_total{method,outcome}\` and
\`berth_containerd_call_duration_seconds{method}\` (every containerd call, client side: e.g. the
Tasks/Delete latency behind the exit curve above), \`berth_engine_operations_total{op,outcome}\` and
\`berth_engine_operation_duration_seconds{op}\`, \`berth_containers{state}\`, \`berth_event_queue_depth\`,
\`berth_event_loop_delay_p99_seconds\` (since the previous scrape) and prom-client's default Node.js
metrics (\`nodejs_eventloop_lag_seconds\`, heap, GC, CPU).
`;
}

process.exitCode = await main().catch((e: unknown) => {
  process.stderr.write(`bench:scale FAILED: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  return 1;
});
