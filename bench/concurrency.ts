// bench/concurrency.ts (npm run bench:concurrency) — berth against dockerd 20.10 under concurrent
// load, both with their default bridge network, in one run on one host (issue 23, item 4; goal
// ≤ 0.6× dockerd's wall time on both scenarios):
//
//  A. `run --rm`: RUN_N (50) parallel `docker run --rm busybox true`, each its own docker CLI
//     process (what a user or a CI script does; the CLI's own start-up is ~12 ms and is measured
//     alongside as "CLI floor": RUN_N parallel `docker -v`, which talks to no daemon). Wall time
//     from spawning the first CLI to the exit of the last; every CLI must exit 0.
//  B. churn of CHURN_N (200) containers, all through the docker CLI:
//       create — CHURN_N × `docker create busybox true`, 8 CLIs at a time;
//       start  — 4 workers, each `docker start ID×10` on the next batch of 10;
//       wait   — `docker wait` on all of them (they run `true`, so they exit at once);
//       rm     — 4 workers, each `docker rm ID×20` on the next batch of 20.
//     Wall time of the four phases together, and of each.
//
// Per scenario and daemon: wall time; the daemon's CPU (own, reaped children's, and its live
// children's other than its containerd: berth's CNI plugins run under its launcher, a long-lived
// sh child that reaps them; dockerd's re-execs and iptables), containerd's CPU, containerd's RPC
// count (grpc_server_started_total), and the whole host's busy CPU time (shims, runc, the CLIs:
// everything). CPU is counted from the scenario's start until the daemon is quiet again (less
// than one 10 ms tick in 250 ms), so work a daemon defers past the CLI's exit is counted; wall time
// stops at the last CLI's exit. ROUNDS (3) rounds; in each, both scenarios on both daemons, the
// daemon order alternating between rounds. Medians over rounds; ratio = berth / dockerd of medians.
//
// Set-up, cleanup and the host check are bench/bridge-pair.ts's (each daemon its own bridge and
// /24; everything removed by PID; iptables and links compared with their state before the run).
// Writes bench/results/concurrency.{json,md} and prints the table.
//
// Environment: ROUNDS=3, RUN_N=50, CHURN_N=200, SCENARIOS="A B", DAEMONS="dockerd berth",
// DOCKER=docker (/usr/local/bin/docker here), BERTHD_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=DIR" to profile
// berthd under this load), BERTH_TEST_TSX=1 (berthd from the sources).
import fs from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CLK_TCK_MS, daemonTreeCpu, delta, DOCKER, docker, dockerOk, hostCpu, IMAGE, loadavg, log, machine, median, prepareBridgePair, procCpu, quiesce, repo,
  scrapeContainerd, sum, runOnPair, type Daemon } from "./bridge-pair.js";
import { parallel } from "../src/base/pool.js";

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const RUN_N = Number(process.env.RUN_N ?? 50);
const CHURN_N = Number(process.env.CHURN_N ?? 200);
const SCENARIOS = (process.env.SCENARIOS ?? "A B").toUpperCase();
const ONLY = (process.env.DAEMONS ?? "dockerd berth").split(/\s+/);

type Scenario = "run" | "churn";
interface Sample {
  daemon: string;
  scenario: Scenario;
  round: number;
  wallMs: number;
  phasesMs?: Record<string, number>;
  cpuMs: number;
  cpuChildrenMs: number;
  ctdCpuMs: number;
  hostCpuMs: number;
  rpcs: number;
  rpcsByMethod: Record<string, number>;
  /** berthd's own histograms over the scenario (its /metrics): "cni bridge ADD", "engine start", "containerd Tasks/Create" → count, total ms. */
  berthMetrics?: Record<string, { count: number; ms: number }>;
  loadavg: string;
}

/** berthd's histogram sums and counts: CNI plugin executions, engine operations, containerd calls. */
async function scrapeBerth(addr: string | undefined): Promise<Record<string, { count: number; ms: number }>> {
  if (!addr) return {};
  const text = await (await fetch(`http://${addr}/metrics`)).text();
  const out: Record<string, { count: number; ms: number }> = {};
  const re = /^berth_(cni_plugin|engine_operation|containerd_call)_duration_seconds_(sum|count)\{([^}]*)\}\s+(\S+)/gm;
  for (const m of text.matchAll(re)) {
    const l = Object.fromEntries([...m[3]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const key = m[1] === "cni_plugin" ? `cni ${l["plugin"]} ${l["command"]}${l["outcome"] === "ok" ? "" : " " + l["outcome"]}` : m[1] === "engine_operation" ? `engine ${l["op"]}` : `containerd ${l["method"]}`;
    const e = (out[key] ??= { count: 0, ms: 0 });
    if (m[2] === "sum") e.ms += Number(m[4]) * 1000;
    else e.count += Number(m[4]);
  }
  return out;
}
function metricsDelta(a: Record<string, { count: number; ms: number }>, b: Record<string, { count: number; ms: number }>): Record<string, { count: number; ms: number }> {
  const out: Record<string, { count: number; ms: number }> = {};
  for (const [k, v] of Object.entries(b)) {
    const count = v.count - (a[k]?.count ?? 0);
    if (count > 0) out[k] = { count, ms: Math.round(v.ms - (a[k]?.ms ?? 0)) };
  }
  return out;
}

/** fn over the items, n at a time; the first failure stops the rest. */
const pool = <T>(items: T[], n: number, fn: (item: T) => Promise<void>) => parallel(items, n, undefined, fn);
const chunks = <T>(xs: T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/** Waits until the daemon spends < 1 tick per 250 ms (its deferred work is done), at most 20 s. */
async function settle(d: Daemon): Promise<void> {
  for (let i = 0; i < 80; i++) {
    const a = await daemonTreeCpu(d.pid, [d.ctdPid]);
    await sleep(250);
    const b = await daemonTreeCpu(d.pid, [d.ctdPid]);
    if (b.self + b.children - a.self - a.children < CLK_TCK_MS) return;
  }
}

async function measure(d: Daemon, scenario: Scenario, round: number, body: () => Promise<Record<string, number> | undefined>): Promise<Sample> {
  const m0 = await scrapeContainerd(d.ctdMetrics);
  const e0 = await scrapeBerth(d.engineMetrics);
  const c0 = await daemonTreeCpu(d.pid, [d.ctdPid]);
  const k0 = await procCpu(d.ctdPid);
  const h0 = await hostCpu();
  const t0 = performance.now();
  const phasesMs = await body();
  const wallMs = performance.now() - t0;
  await settle(d);
  const c1 = await daemonTreeCpu(d.pid, [d.ctdPid]);
  const k1 = await procCpu(d.ctdPid);
  const h1 = await hostCpu();
  const m1 = await scrapeContainerd(d.ctdMetrics);
  const e1 = await scrapeBerth(d.engineMetrics);
  const left = (await dockerOk(d.host, ["ps", "-aq"])).split("\n").filter(Boolean);
  if (left.length) throw new Error(`${d.name}: ${left.length} containers left after ${scenario}`);
  const rpcsByMethod = delta(m0.started, m1.started);
  return {
    daemon: d.name, scenario, round, wallMs, ...(phasesMs ? { phasesMs } : {}),
    cpuMs: c1.self + c1.children - c0.self - c0.children,
    cpuChildrenMs: c1.children - c0.children,
    ctdCpuMs: k1.self + k1.children - k0.self - k0.children,
    hostCpuMs: (h1.busy - h0.busy) * CLK_TCK_MS,
    rpcs: sum(rpcsByMethod), rpcsByMethod, ...(d.engineMetrics ? { berthMetrics: metricsDelta(e0, e1) } : {}), loadavg: await loadavg(),
  };
}

async function runRm(d: Daemon): Promise<undefined> {
  const rs = await Promise.all(Array.from({ length: RUN_N }, () => docker(d.host, ["run", "--rm", IMAGE, "true"], 300_000)));
  const bad = rs.filter((r) => r.code !== 0);
  if (bad.length) throw new Error(`${d.name}: ${bad.length}/${RUN_N} docker run --rm failed: ${bad[0]!.stderr.trim()}`);
  return undefined;
}

async function churn(d: Daemon): Promise<Record<string, number>> {
  const phases: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => { const now = performance.now(); phases[name] = now - t; t = now; };
  const ids: string[] = [];
  await pool(Array.from({ length: CHURN_N }, (_, i) => i), 8, async () => { ids.push(await dockerOk(d.host, ["create", IMAGE, "true"], 300_000)); });
  lap("create");
  await pool(chunks(ids, 10), 4, async (batch) => { await dockerOk(d.host, ["start", ...batch], 300_000); });
  lap("start");
  const codes = (await dockerOk(d.host, ["wait", ...ids], 300_000)).split("\n");
  if (codes.length !== ids.length || codes.some((c) => c.trim() !== "0")) throw new Error(`${d.name}: docker wait gave ${codes.filter((c) => c.trim() !== "0").length} non-zero codes`);
  lap("wait");
  await pool(chunks(ids, 20), 4, async (batch) => { await dockerOk(d.host, ["rm", ...batch], 300_000); });
  lap("rm");
  return phases;
}

async function cliFloor(): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: RUN_N }, () => docker("unix:///nonexistent", ["-v"])));
  return performance.now() - t0;
}

interface Row { wallMs: number; cpuMs: number; cpuChildrenMs: number; ctdCpuMs: number; hostCpuMs: number; rpcs: number; phasesMs?: Record<string, number> }
function summarize(ss: Sample[]): Row {
  const phases = ss[0]?.phasesMs ? Object.fromEntries(Object.keys(ss[0].phasesMs).map((p) => [p, median(ss.map((s) => s.phasesMs![p]!))])) : undefined;
  return {
    wallMs: median(ss.map((s) => s.wallMs)), cpuMs: median(ss.map((s) => s.cpuMs)), cpuChildrenMs: median(ss.map((s) => s.cpuChildrenMs)),
    ctdCpuMs: median(ss.map((s) => s.ctdCpuMs)), hostCpuMs: median(ss.map((s) => s.hostCpuMs)), rpcs: median(ss.map((s) => s.rpcs)),
    ...(phases ? { phasesMs: phases } : {}),
  };
}

const f0 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(0));
function render(r: Report): string {
  const out: string[] = [];
  out.push(`berth vs dockerd 20.10, default bridge networks, ${r.date} (${r.machine["nproc"]} CPUs, load ${r.loadBefore} → ${r.loadAfter}; ${r.rounds} rounds, medians)`, "");
  out.push("| scenario | daemon | wall ms | berth / dockerd | daemon CPU ms (of which children) | containerd CPU ms | host CPU ms | containerd RPCs |", "|---|---|---|---|---|---|---|---|");
  const label: Record<Scenario, string> = { run: `${r.runN} parallel \`docker run --rm busybox true\``, churn: `churn of ${r.churnN}: create ×8, start 4×10, wait, rm 4×20` };
  for (const sc of ["run", "churn"] as const) {
    for (const dn of ["dockerd", "berth"]) {
      const s = r.summary[sc]?.[dn];
      if (!s) continue;
      const ratio = dn === "berth" ? r.ratio[sc] : undefined;
      out.push(`| ${label[sc]} | ${dn} | ${f0(s.wallMs)} | ${ratio !== undefined ? `**${ratio.toFixed(2)}** (rounds: ${r.roundRatios[sc]!.map((x) => x.toFixed(2)).join(", ")})` : ""} | ${f0(s.cpuMs)} (${f0(s.cpuChildrenMs)}) | ${f0(s.ctdCpuMs)} | ${f0(s.hostCpuMs)} | ${f0(s.rpcs)} |`);
    }
  }
  const ch = r.summary.churn;
  if (ch?.["dockerd"]?.phasesMs && ch["berth"]?.phasesMs) {
    out.push("", "Churn phases, median wall ms (dockerd / berth): " + Object.keys(ch["dockerd"].phasesMs).map((p) => `${p} ${f0(ch["dockerd"]!.phasesMs![p])} / ${f0(ch["berth"]!.phasesMs![p])}`).join(", ") + ".");
  }
  for (const sc of ["run", "churn"] as const) {
    const ss = r.samples.filter((x) => x.scenario === sc && x.berthMetrics);
    if (!ss.length) continue;
    const keys = [...new Set(ss.flatMap((x) => Object.keys(x.berthMetrics!)))].filter((k) => !k.startsWith("containerd ") || /Tasks\/(Create|Start|Delete)|Containers\/(Create|Delete)/.test(k)).sort();
    const cell = (k: string) => {
      const count = median(ss.map((x) => x.berthMetrics![k]?.count ?? 0));
      const ms = median(ss.map((x) => x.berthMetrics![k]?.ms ?? 0));
      return `${k} ${count}× ${count ? (ms / count).toFixed(1) : "–"} ms`;
    };
    out.push("", `berthd's own view of ${sc} (median per round: executions × mean ms): ${keys.map(cell).join("; ")}.`);
  }
  if (r.cliFloorMs.length) out.push("", `CLI floor: ${r.runN} parallel \`docker -v\` (no daemon) take ${f0(median(r.cliFloorMs))} ms (median).`);
  out.push("", "Daemon CPU counts the daemon, its reaped children and its live children other than its containerd (berth's CNI plugins, run and reaped by its launcher; dockerd's re-execs) from the scenario's start until the daemon is quiet again; host CPU is every process on the host in the same window (shims, runc, the docker CLIs, other tenants).", "");
  return out.join("\n");
}

interface Report {
  date: string;
  machine: Record<string, unknown>;
  loadBefore: string;
  loadAfter: string;
  rounds: number;
  runN: number;
  churnN: number;
  client: string;
  samples: Sample[];
  cliFloorMs: number[];
  summary: Partial<Record<Scenario, Record<string, Row>>>;
  ratio: Partial<Record<Scenario, number>>;
  roundRatios: Partial<Record<Scenario, number[]>>;
  hostCheck?: Record<string, unknown>;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error("run as root (CNI plugins, iptables, dockerd)");
  const report: Report = {
    date: new Date().toISOString(), machine: await machine(), loadBefore: await loadavg(), loadAfter: "",
    rounds: ROUNDS, runN: RUN_N, churnN: CHURN_N, client: `docker CLI (${DOCKER})`,
    samples: [], cliFloorMs: [], summary: {}, ratio: {}, roundRatios: {},
  };
  log(`ROUNDS=${ROUNDS}, RUN_N=${RUN_N}, CHURN_N=${CHURN_N}, load ${report.loadBefore}`);
  const pair = await prepareBridgePair({ tag: "concurrency" });
  return runOnPair(pair, "concurrency", report, render, async () => {
    await pair.start();
    const daemons = [pair.dockerd, pair.berth].filter((d) => ONLY.includes(d.name));
    // Warm-up: a few runs and a small churn on each (caches, the first veth, the image's snapshot).
    for (const d of daemons) {
      for (let i = 0; i < 3; i++) await dockerOk(d.host, ["run", "--rm", IMAGE, "true"]);
      const ids = await Promise.all(Array.from({ length: 8 }, () => dockerOk(d.host, ["create", IMAGE, "true"])));
      await dockerOk(d.host, ["start", ...ids]);
      await dockerOk(d.host, ["wait", ...ids]);
      await dockerOk(d.host, ["rm", ...ids]);
    }
    for (const d of daemons) await quiesce(d.pid, d.name);

    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? daemons : [...daemons].reverse();
      if (SCENARIOS.includes("A")) {
        report.cliFloorMs.push(await cliFloor());
        for (const d of order) {
          const s = await measure(d, "run", round, () => runRm(d));
          report.samples.push(s);
          log(`round ${round + 1}/${ROUNDS} run --rm ×${RUN_N}: ${d.name} ${f0(s.wallMs)} ms, CPU ${s.cpuMs} ms (children ${s.cpuChildrenMs}), load ${s.loadavg}`);
        }
      }
      if (SCENARIOS.includes("B")) {
        for (const d of order) {
          const s = await measure(d, "churn", round, () => churn(d));
          report.samples.push(s);
          log(`round ${round + 1}/${ROUNDS} churn ×${CHURN_N}: ${d.name} ${f0(s.wallMs)} ms (${Object.entries(s.phasesMs ?? {}).map(([k, v]) => `${k} ${f0(v)}`).join(", ")}), CPU ${s.cpuMs} ms (children ${s.cpuChildrenMs}), load ${s.loadavg}`);
        }
      }
    }
    for (const sc of ["run", "churn"] as const) {
      const per: Record<string, Row> = {};
      for (const d of daemons) {
        const ss = report.samples.filter((s) => s.scenario === sc && s.daemon === d.name);
        if (ss.length) per[d.name] = summarize(ss);
      }
      if (!Object.keys(per).length) continue;
      report.summary[sc] = per;
      if (per["berth"] && per["dockerd"]) {
        report.ratio[sc] = per["berth"].wallMs / per["dockerd"].wallMs;
        report.roundRatios[sc] = Array.from({ length: ROUNDS }, (_, i) => {
          const at = (n: string) => report.samples.find((s) => s.scenario === sc && s.daemon === n && s.round === i)!.wallMs;
          return at("berth") / at("dockerd");
        });
      }
    }
  });
}

process.exitCode = await main().catch((e: unknown) => {
  log(`FAILED: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  return 1;
});
