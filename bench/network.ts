// bench/network.ts (npm run bench:network) — what the default network costs, berth against
// dockerd 20.10 with its bridge and iptables, in one run on one host (issue 10, "Measure"):
//
//  A. run -d: `docker run -d busybox sleep 1000` with `--network none` and with the default
//     network (no --network flag: berth's bridge, dockerd's `bridge`), N times per daemon and
//     mode, interleaved between daemons and modes. Wall clock of the CLI; containerd's own count
//     of started calls per method (grpc_server_started_total) and its handling time
//     (grpc_server_handling_seconds_sum), before the command and SETTLE_MS after it; the daemon's
//     CPU (own, reaped children's and live children's but its containerd's: berth's CNI plugins run
//     under its launcher, dockerd's re-execs). The container is removed between iterations (not
//     timed). Medians; added = default − none.
//  B. throughput of a published port: a container publishes 8080 on 127.0.0.1:PORT and sends
//     exactly 1 GiB (`nc -l -p 8080 -e dd if=/dev/zero bs=1M count=1024`, then `sleep`); this process connects
//     to 127.0.0.1:PORT, reads until EOF, checks the byte count and times connect → EOF. From
//     127.0.0.1 dockerd's path is docker-proxy (userland-proxy defaults to true; its OUTPUT DNAT
//     rule skips 127.0.0.0/8), berth's is CNI portmap's DNAT in the kernel. For reference the same
//     transfer straight to the container's address (bridge, no NAT, no proxy) and a host-only
//     loopback transfer (no container) run alongside. RUNS per daemon, interleaved.
//
// Both daemons get their own bridge device and subnet (berth: --bridge/--bip; dockerd: a bridge
// this bench creates, --bridge), so nothing clashes with other daemons or tests on the host.
// dockerd runs on a private containerd (metrics on a free loopback port) with a private
// data-root/exec-root/socket, as ../shared/bench/bench-env-dockerd.sh does, but with its default
// bridge and iptables on. Traffic goes only to 127.0.0.1 and to this run's containers.
//
// Everything the run starts or adds is removed at the end, also on failure or a signal: containers,
// daemons and shims (by PID), mounts, both bridges, dockerd's iptables chains (DOCKER,
// DOCKER-USER, DOCKER-ISOLATION-STAGE-1/2, nat DOCKER) and their jumps, rules naming this run's
// bridges or subnets, CNI shared chains that did not exist before. The host is then compared with
// its state before the run (iptables-save, ip6tables-save, links, ip_forward, FORWARD policy, the
// entries under /run/docker, where a dockerd without --exec-root would keep state) and every
// difference is printed (exit code 2).
//
// Writes bench/results/network.{json,md} and prints the markdown tables.
//
// Environment: N=20 (part A iterations per daemon and mode), RUNS=3 (part B transfers per daemon
// and path), SETTLE_MS=400, PARTS="A B", DOCKER=docker, BERTH_TEST_TSX=1 to run berthd from the
// sources (by default dist/ is built first and test/helpers/berthd.ts runs dist/cli/berthd.js).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  childrenNamed, daemonTreeCpu, delta, docker, dockerOk, hostCpu, IMAGE, loadavg, log, machine, mean, median, prepareBridgePair, procCpu, quiesce,
  repo, scrapeContainerd, scrapeEngine, sum, runOnPair, type Daemon } from "./bridge-pair.js";
import { freeLocalPort } from "../test/helpers/docker-cli.js";
import { percentile } from "./stats.js";

const N = Number(process.env.N ?? 20);
const RUNS = Number(process.env.RUNS ?? 3);
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 400);
const PARTS = (process.env.PARTS ?? "A B").toUpperCase();
const GIB = 1024 * 1024 * 1024;
// The container outlives the transfer: its exit makes dockerd stop the port's docker-proxy while it
// still relays (dockerd's client once got 2 MB short, with a clean EOF), and berth deletes the veth.
const SENDER = "nc -l -p 8080 -e dd if=/dev/zero bs=1M count=1024 2>/dev/null; sleep 1000";

type Mode = "none" | "default";

// ---------------------------------------------------------------- part A: run -d

interface RunDSample { wallMs: number; rpcs: Record<string, number>; handlingMs: Record<string, number>; lateRpcs: number; cpu: { self: number; children: number }; ctdCpu: { self: number; children: number }; engineMs: Record<string, number> }

async function runDOnce(d: Daemon, mode: Mode): Promise<RunDSample> {
  const m0 = await scrapeContainerd(d.ctdMetrics);
  const e0 = await scrapeEngine(d.engineMetrics);
  const c0 = await daemonTreeCpu(d.pid, [d.ctdPid]);
  const k0 = await procCpu(d.ctdPid);
  const r = await docker(d.host, ["run", "-d", ...(mode === "none" ? ["--network", "none"] : []), IMAGE, "sleep", "1000"]);
  if (r.code !== 0) throw new Error(`${d.name}: docker run -d (${mode}) failed: ${r.stderr.trim()}`);
  const id = r.stdout.trim();
  await sleep(SETTLE_MS);
  const c1 = await daemonTreeCpu(d.pid, [d.ctdPid]);
  const k1 = await procCpu(d.ctdPid);
  const m1 = await scrapeContainerd(d.ctdMetrics);
  const e1 = await scrapeEngine(d.engineMetrics);
  await sleep(SETTLE_MS);
  const m2 = await scrapeContainerd(d.ctdMetrics);
  await dockerOk(d.host, ["rm", "-f", id]);
  await sleep(SETTLE_MS);
  const engineMs: Record<string, number> = {};
  for (const [op, v] of Object.entries(e1)) {
    const dc = v.count - (e0[op]?.count ?? 0);
    if (dc > 0) engineMs[op] = ((v.sum - (e0[op]?.sum ?? 0)) * 1000) / dc;
  }
  return {
    wallMs: r.ms,
    rpcs: delta(m0.started, m1.started),
    handlingMs: Object.fromEntries(Object.entries(delta(m0.handlingS, m1.handlingS)).map(([k, v]) => [k, v * 1000])),
    lateRpcs: sum(delta(m1.started, m2.started)),
    cpu: { self: c1.self - c0.self, children: c1.children - c0.children },
    ctdCpu: { self: k1.self - k0.self, children: k1.children - k0.children },
    engineMs,
  };
}

interface RunDSummary {
  n: number;
  wallMs: number;
  wallP10: number;
  wallP90: number;
  rpcsTotal: number;
  rpcs: Record<string, number>;
  handlingMs: Record<string, number>;
  lateRpcs: number;
  cpuSelfMs: number;
  cpuChildrenMs: number;
  ctdCpuMs: number;
  engineMs: Record<string, number>;
}
function summarizeRunD(s: RunDSample[]): RunDSummary {
  const methods = [...new Set(s.flatMap((x) => Object.keys(x.rpcs)))].sort();
  const hmethods = [...new Set(s.flatMap((x) => Object.keys(x.handlingMs)))].sort();
  const ops = [...new Set(s.flatMap((x) => Object.keys(x.engineMs)))].sort();
  const walls = s.map((x) => x.wallMs).sort((a, b) => a - b);
  return {
    n: s.length,
    wallMs: percentile(walls, 50),
    wallP10: percentile(walls, 10),
    wallP90: percentile(walls, 90),
    rpcsTotal: median(s.map((x) => sum(x.rpcs))),
    rpcs: Object.fromEntries(methods.map((m) => [m, median(s.map((x) => x.rpcs[m] ?? 0))]).filter(([, v]) => (v as number) > 0)),
    handlingMs: Object.fromEntries(hmethods.map((m) => [m, mean(s.map((x) => x.handlingMs[m] ?? 0))])),
    lateRpcs: s.reduce((a, x) => a + x.lateRpcs, 0),
    cpuSelfMs: mean(s.map((x) => x.cpu.self)),
    cpuChildrenMs: mean(s.map((x) => x.cpu.children)),
    ctdCpuMs: mean(s.map((x) => x.ctdCpu.self + x.ctdCpu.children)),
    engineMs: Object.fromEntries(ops.map((o) => [o, median(s.filter((x) => x.engineMs[o] !== undefined).map((x) => x.engineMs[o]!))])),
  };
}

// ---------------------------------------------------------------- part B: throughput

interface Transfer { bytes: number; ms: number; error?: string }
/** Connects, reads until EOF, counts. */
function receiveOnce(host: string, port: number): Promise<Transfer> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let bytes = 0;
    let settled = false;
    const done = (t: Transfer) => { if (!settled) { settled = true; s.destroy(); resolve(t); } };
    const s = net.connect({ host, port });
    s.on("data", (b: Buffer) => (bytes += b.length));
    s.on("end", () => done({ bytes, ms: performance.now() - t0 }));
    s.on("error", (e) => done({ bytes, ms: performance.now() - t0, error: e.message }));
    s.on("close", () => done({ bytes, ms: performance.now() - t0, error: "closed without EOF" }));
    s.setTimeout(60_000, () => done({ bytes, ms: performance.now() - t0, error: "no data for 60 s" }));
  });
}
/**
 * Retries while nothing listens yet: a refused connection (berth's DNAT, the container's address)
 * or one closed with no byte (docker-proxy accepts, then cannot reach the container yet).
 */
async function receive(host: string, port: number): Promise<Transfer> {
  const end = Date.now() + 15_000;
  for (let attempt = 1; ; attempt++) {
    const t = await receiveOnce(host, port);
    if (t.bytes > 0 || Date.now() > end) {
      if (t.error) throw new Error(`${host}:${port}: ${t.error} after ${t.bytes} bytes`);
      if (t.bytes !== GIB) throw new Error(`${host}:${port}: received ${t.bytes} bytes, expected ${GIB}`);
      return t;
    }
    await sleep(50);
  }
}

interface ThroughputSample { daemon: string; path: "published" | "direct" | "loopback"; run: number; ms: number; mbps: number; hostCpuS: number; busyCpusBefore: number; proxyCpuMs?: number }

async function measureTransfer(daemon: string, p: ThroughputSample["path"], run: number, host: string, port: number, proxyPid?: number): Promise<ThroughputSample> {
  // A quiet second first (the previous container's removal, the daemons' follow-up work), measured:
  // busy CPUs of the whole host in it show what else ran on a shared host.
  const q0 = await hostCpu();
  await sleep(1000);
  const h0 = await hostCpu();
  const busyBefore = ((h0.busy - q0.busy) / Math.max(1, h0.total - q0.total)) * os.cpus().length;
  const p0 = proxyPid ? await procCpu(proxyPid) : undefined;
  const t = await receive(host, port);
  const p1 = proxyPid ? await procCpu(proxyPid) : undefined;
  const h1 = await hostCpu();
  const s: ThroughputSample = { daemon, path: p, run, ms: t.ms, mbps: GIB / 1e6 / (t.ms / 1000), hostCpuS: (h1.busy - h0.busy) / 100, busyCpusBefore: busyBefore };
  if (p0 && p1) s.proxyCpuMs = p1.self - p0.self;
  log(`  ${daemon} ${p}: ${s.mbps.toFixed(0)} MB/s (${t.ms.toFixed(0)} ms, host CPU ${s.hostCpuS.toFixed(2)} s, busy CPUs before ${busyBefore.toFixed(2)}${s.proxyCpuMs !== undefined ? `, docker-proxy ${s.proxyCpuMs} ms` : ""})`);
  return s;
}

async function containerIp(d: Daemon, id: string): Promise<string> {
  const ip = await dockerOk(d.host, ["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", id]);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new Error(`${d.name}: container ${id} has no IPv4 address on the default network (${ip})`);
  return ip;
}

// ---------------------------------------------------------------- report

function fmtRpcs(r: Record<string, number>): string {
  return Object.entries(r).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(1)}`).join(", ") || "none";
}
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "–");

function renderMarkdown(r: Report): string {
  const out: string[] = [];
  out.push(`berth vs dockerd 20.10, ${r.date} (${r.machine.nproc} CPUs, load ${r.loadBefore} → ${r.loadAfter})`, "");
  if (r.runD) {
    const a = r.runD.summary;
    out.push(`### run -d: what the default network adds (N = ${r.n} per daemon and mode, medians)`, "");
    out.push("| daemon | wall none ms | wall default ms | added ms | RPCs none | RPCs default | added RPCs | daemon CPU none / default ms | of which children | containerd CPU none / default ms |");
    out.push("|---|---|---|---|---|---|---|---|---|---|");
    for (const name of ["dockerd", "berth"] as const) {
      const s = a[name];
      out.push(`| ${name === "dockerd" ? "dockerd 20.10 (bridge)" : "berth (bridge)"} | ${f1(s.none.wallMs)} | ${f1(s.default.wallMs)} | **${f1(s.addedWallMs)}** | ${s.none.rpcsTotal} | ${s.default.rpcsTotal} | **${s.addedRpcs}** | ${f1(s.none.cpuSelfMs + s.none.cpuChildrenMs)} / ${f1(s.default.cpuSelfMs + s.default.cpuChildrenMs)} | ${f1(s.none.cpuChildrenMs)} / ${f1(s.default.cpuChildrenMs)} | ${f1(s.none.ctdCpuMs)} / ${f1(s.default.ctdCpuMs)} |`);
    }
    out.push("", `berth-added / dockerd-added wall: **${a.addedWallRatio.toFixed(2)}** (paired medians of default − none per iteration: berth ${f1(a.berth.addedWallPairedMs)} ms, dockerd ${f1(a.dockerd.addedWallPairedMs)} ms).`, "");
    out.push("RPCs per method (median per run -d), containerd's count:", "");
    out.push("| daemon | --network none | default network | containerd handling ms, none → default |", "|---|---|---|---|");
    for (const name of ["dockerd", "berth"] as const) {
      const s = a[name];
      const hm = [...new Set([...Object.keys(s.none.handlingMs), ...Object.keys(s.default.handlingMs)])].filter((m) => (s.none.handlingMs[m] ?? 0) + (s.default.handlingMs[m] ?? 0) >= 1).sort();
      out.push(`| ${name} | ${fmtRpcs(s.none.rpcs)} | ${fmtRpcs(s.default.rpcs)} | ${hm.map((m) => `${m} ${f1(s.none.handlingMs[m] ?? 0)} → ${f1(s.default.handlingMs[m] ?? 0)}`).join(", ")} |`);
    }
    const eb = a.berth;
    if (Object.keys(eb.default.engineMs).length) {
      out.push("", `berthd's own time per operation (engine metrics, median ms), none → default: ${Object.keys(eb.default.engineMs).sort().map((op) => `${op} ${f1(eb.none.engineMs[op] ?? NaN)} → ${f1(eb.default.engineMs[op]!)}`).join(", ")}.`);
    }
    const late = a.berth.none.lateRpcs + a.berth.default.lateRpcs + a.dockerd.none.lateRpcs + a.dockerd.default.lateRpcs;
    out.push("", late ? `Late RPCs (after the settle window): ${late} in total — the window was too short.` : `No RPC arrived after the ${r.settleMs} ms settle window.`, "");
  }
  if (r.throughput) {
    const t = r.throughput.summary;
    out.push(`### Throughput: 1 GiB from a container to this host (RUNS = ${r.runs} per daemon and path, median MB/s, 1 MB = 10^6 B)`, "");
    out.push("| path | dockerd 20.10 MB/s | berth MB/s | berth / dockerd (median of rounds) | host CPU s per GiB dockerd / berth |", "|---|---|---|---|---|");
    const row = (label: string, p: "published" | "direct") => {
      const d = t[`dockerd/${p}`];
      const b = t[`berth/${p}`];
      if (!d || !b) return;
      out.push(`| ${label} | ${d.mbps.toFixed(0)} | ${b.mbps.toFixed(0)} | **${(b.mbps / d.mbps).toFixed(2)}** (${r.throughput!.pairedRatio[p]!.toFixed(2)}) | ${d.hostCpuS.toFixed(2)} / ${b.hostCpuS.toFixed(2)} |`);
    };
    row("published port, 127.0.0.1:PORT → 8080 (dockerd: docker-proxy; berth: portmap DNAT)", "published");
    row("container address:8080 directly (bridge, no NAT, no proxy)", "direct");
    const lb = t["host/loopback"];
    if (lb) out.push(`| host loopback, no container (the sender and reader alone) | ${lb.mbps.toFixed(0)} | | | ${lb.hostCpuS.toFixed(2)} |`);
    const busy = r.throughput.samples.map((x) => x.busyCpusBefore);
    out.push("", `Busy CPUs of the whole host in the quiet second before each transfer: median ${median(busy).toFixed(2)}, max ${Math.max(...busy).toFixed(2)} (of ${r.machine.nproc}).`);
    const dp = t["dockerd/published"];
    if (dp?.proxyCpuMs !== undefined) out.push("", `docker-proxy's own CPU per GiB: ${dp.proxyCpuMs.toFixed(0)} ms (median).`);
    out.push("", "From 127.0.0.1, dockerd's published port is served by docker-proxy (userland-proxy defaults to true and dockerd's nat OUTPUT rule excludes 127.0.0.0/8), a user-space copy through a second TCP connection; berth's is CNI portmap's DNAT rule (route_localnet + masquerade), so the kernel forwards the packets over the bridge.", "");
  }
  return out.join("\n");
}

type ThroughputSummary = Record<string, { mbps: number; ms: number; hostCpuS: number; proxyCpuMs?: number }>;
interface RunDDaemonSummary { none: RunDSummary; default: RunDSummary; addedWallMs: number; addedWallPairedMs: number; addedRpcs: number; addedRpcsByMethod: Record<string, number> }
interface Report {
  date: string;
  machine: Record<string, unknown>;
  loadBefore: string;
  loadAfter: string;
  n: number;
  runs: number;
  settleMs: number;
  setup: Record<string, unknown>;
  runD?: { samples: Record<string, Record<Mode, RunDSample[]>>; summary: { dockerd: RunDDaemonSummary; berth: RunDDaemonSummary; addedWallRatio: number } };
  throughput?: { samples: ThroughputSample[]; summary: ThroughputSummary; pairedRatio: Record<string, number> };
  hostCheck?: Record<string, unknown>;
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const date = new Date().toISOString();
  const loadBefore = await loadavg();
  if (process.getuid?.() !== 0) throw new Error("run as root (CNI plugins, iptables, dockerd)");
  for (const p of ["/usr/lib/cni/bridge", "/usr/lib/cni/portmap"]) if (!existsSync(p)) throw new Error(`${p} is missing: apt-get install -y containernetworking-plugins`);
  const facts = await machine();
  log(`N=${N}, RUNS=${RUNS}, ${facts.nproc} CPUs, load ${loadBefore}`);

  const pair = await prepareBridgePair({ tag: "network" });

  const report: Report = {
    date, machine: facts, loadBefore, loadAfter: "", n: N, runs: RUNS, settleMs: SETTLE_MS,
    setup: {
      berth: { bridge: pair.berthBridge, bip: `${pair.bnet}.1/24`, args: "--bridge DEV --bip CIDR --metrics-addr 127.0.0.1:PORT (embedded containerd, grpc_histogram on)" },
      dockerd: { bridge: pair.dockerdBridge, cidr: `${pair.dnet}.1/24`, args: "--bridge DEV --iptables=true --ip-masq=true --userland-proxy=true, private containerd (grpc_histogram on)" },
      sender: SENDER,
    },
  };
  return runOnPair(pair, "network", report, renderMarkdown, async () => {
    await pair.start();
    const { berth, dockerd } = pair;

    // Warm-up (both modes; the default network must really give an address), then quiet.
    for (const d of [dockerd, berth]) {
      for (let i = 0; i < 3; i++) {
        for (const mode of ["none", "default"] as const) {
          const id = await dockerOk(d.host, ["run", "-d", ...(mode === "none" ? ["--network", "none"] : []), IMAGE, "sleep", "1000"]);
          if (mode === "default" && i === 0) log(`${d.name}: default network gives ${await containerIp(d, id)}`);
          await dockerOk(d.host, ["rm", "-f", id]);
        }
      }
    }
    await quiesce(berth.pid, "berthd");
    await quiesce(dockerd.pid, "dockerd");

    if (PARTS.includes("A")) {
      log(`part A: run -d, N=${N} per daemon and mode, interleaved`);
      const samples: Record<string, Record<Mode, RunDSample[]>> = { dockerd: { none: [], default: [] }, berth: { none: [], default: [] } };
      for (let i = 0; i < N; i++) {
        const daemons = i % 2 === 0 ? [dockerd, berth] : [berth, dockerd];
        for (const [j, d] of daemons.entries()) {
          const modes: Mode[] = (i + j) % 2 === 0 ? ["none", "default"] : ["default", "none"];
          for (const mode of modes) samples[d.name]![mode].push(await runDOnce(d, mode));
        }
        const last = (n: string, m: Mode) => samples[n]![m].at(-1)!.wallMs.toFixed(0);
        log(`  ${i + 1}/${N}: dockerd ${last("dockerd", "none")}/${last("dockerd", "default")} ms, berth ${last("berth", "none")}/${last("berth", "default")} ms (none/default)`);
      }
      const per = (name: string): RunDDaemonSummary => {
        const none = summarizeRunD(samples[name]!.none);
        const def = summarizeRunD(samples[name]!.default);
        const methods = [...new Set([...Object.keys(none.rpcs), ...Object.keys(def.rpcs)])];
        return {
          none, default: def,
          addedWallMs: def.wallMs - none.wallMs,
          addedWallPairedMs: median(samples[name]!.default.map((x, k) => x.wallMs - samples[name]!.none[k]!.wallMs)),
          addedRpcs: def.rpcsTotal - none.rpcsTotal,
          addedRpcsByMethod: Object.fromEntries(methods.map((m) => [m, (def.rpcs[m] ?? 0) - (none.rpcs[m] ?? 0)]).filter(([, v]) => v !== 0)),
        };
      };
      const sd = per("dockerd");
      const sb = per("berth");
      report.runD = { samples, summary: { dockerd: sd, berth: sb, addedWallRatio: sb.addedWallMs / sd.addedWallMs } };
    }

    if (PARTS.includes("B")) {
      log(`part B: 1 GiB through a published port, RUNS=${RUNS} per daemon and path, interleaved`);
      const samples: ThroughputSample[] = [];
      const sendCmd = ["sh", "-c", SENDER];
      // One round: the published port on both daemons back to back, then the container's address on
      // both, then the host alone; the daemon order alternates. Throughput on this VM drifts by up
      // to 3× within a minute (other tenants), so each round also gives berth/dockerd on its own.
      const published = async (d: Daemon, i: number) => {
        const port = await freeLocalPort();
        const id = await dockerOk(d.host, ["run", "-d", "-p", `127.0.0.1:${port}:8080`, IMAGE, ...sendCmd]);
        const proxy = d.name === "dockerd" ? childrenNamed(d.pid, "docker-proxy").find((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").includes(String(port))) : undefined;
        if (d.name === "dockerd" && !proxy) log("  (no docker-proxy found for the port: its CPU is not measured)");
        samples.push(await measureTransfer(d.name, "published", i, "127.0.0.1", port, proxy));
        await dockerOk(d.host, ["rm", "-f", id]);
      };
      const direct = async (d: Daemon, i: number) => {
        const id = await dockerOk(d.host, ["run", "-d", IMAGE, ...sendCmd]);
        samples.push(await measureTransfer(d.name, "direct", i, await containerIp(d, id), 8080));
        await dockerOk(d.host, ["rm", "-f", id]);
      };
      for (let i = 0; i < RUNS; i++) {
        const order = i % 2 === 0 ? [dockerd, berth] : [berth, dockerd];
        for (const d of order) await published(d, i);
        for (const d of order) await direct(d, i);
        // The host alone: the same sender on loopback, no container.
        const port = await freeLocalPort();
        // nc execs dd in its own process on accept, so this PID is the whole sender.
        const nc = spawn("busybox", ["nc", "-l", "-p", String(port), "-e", "dd", "if=/dev/zero", "bs=1M", "count=1024"], { stdio: "ignore" });
        if (nc.pid) pair.hostProcs.add(nc.pid);
        samples.push(await measureTransfer("host", "loopback", i, "127.0.0.1", port));
        await new Promise((res) => (nc.exitCode !== null ? res(null) : nc.once("exit", res)));
        if (nc.pid) pair.hostProcs.delete(nc.pid);
      }
      const summary: ThroughputSummary = {};
      for (const key of [...new Set(samples.map((s) => `${s.daemon}/${s.path}`))]) {
        const ss = samples.filter((s) => `${s.daemon}/${s.path}` === key);
        const ms = median(ss.map((s) => s.ms));
        const proxy = ss.map((s) => s.proxyCpuMs).filter((v): v is number => v !== undefined);
        summary[key] = { ms, mbps: GIB / 1e6 / (ms / 1000), hostCpuS: median(ss.map((s) => s.hostCpuS)), ...(proxy.length ? { proxyCpuMs: median(proxy) } : {}) };
      }
      const pairedRatio: Record<string, number> = {};
      for (const p of ["published", "direct"] as const) {
        const rs = Array.from({ length: RUNS }, (_, i) => {
          const at = (d: string) => samples.find((s) => s.daemon === d && s.path === p && s.run === i)!.mbps;
          return at("berth") / at("dockerd");
        });
        pairedRatio[p] = median(rs);
      }
      report.throughput = { samples, summary, pairedRatio };
    }
  });
}

process.exitCode = await main().catch((e: unknown) => {
  log(`FAILED: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  return 1;
});
