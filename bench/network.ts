// bench/network.ts (npm run bench:network) — what the default network costs, berth against
// dockerd 20.10 with its bridge and iptables, in one run on one host (issue 10, "Measure"):
//
//  A. run -d: `docker run -d busybox sleep 1000` with `--network none` and with the default
//     network (no --network flag: berth's CNI bridge, dockerd's `bridge`), N times per daemon and
//     mode, interleaved between daemons and modes. Wall clock of the CLI; containerd's own count
//     of started calls per method (grpc_server_started_total) and its handling time
//     (grpc_server_handling_seconds_sum), before the command and SETTLE_MS after it; the daemon's
//     CPU (own and reaped children: berth's CNI plugins, dockerd's re-execs). The container is
//     removed between iterations (not timed). Medians; added = default − none.
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
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, openSync, closeSync, readdirSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { buildBusyboxImage } from "../src/images/index.js";
import { cidrOverlaps, parseCidr } from "../src/network/cidr.js";
import { startBerthd, type Berthd } from "../test/helpers/berthd.js";
import { killShimsOf } from "../test/helpers/containerd.js";
import { freeLocalPort } from "../test/helpers/docker-cli.js";
import { chainsNow, deleteRulesMatching, iptablesSave, removeSharedChainsCreatedSince, tokenize } from "../test/helpers/network.js";
import { percentile } from "./stats.js";

const pexec = promisify(execFile);
const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const N = Number(process.env.N ?? 20);
const RUNS = Number(process.env.RUNS ?? 3);
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 400);
const PARTS = (process.env.PARTS ?? "A B").toUpperCase();
const DOCKER = process.env.DOCKER ?? "docker";
const IMAGE = "busybox:latest";
const GIB = 1024 * 1024 * 1024;
const CLK_TCK_MS = 10; // /proc/PID/stat times are in USER_HZ = 100
// The container outlives the transfer: its exit makes dockerd stop the port's docker-proxy while it
// still relays (dockerd's client once got 2 MB short, with a clean EOF), and berth deletes the veth.
const SENDER = "nc -l -p 8080 -e dd if=/dev/zero bs=1M count=1024 2>/dev/null; sleep 1000";
const RUN = randomBytes(2).toString("hex");
const BERTH_BRIDGE = `bnb${RUN}0`;
const DOCKERD_BRIDGE = `bnd${RUN}0`;

const log = (m: string) => process.stderr.write(`[network ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

// ---------------------------------------------------------------- small helpers

type Mode = "none" | "default";
interface Daemon {
  name: "berth" | "dockerd";
  host: string;
  pid: number;
  ctdPid: number;
  ctdMetrics: string;
  /** berthd's own Prometheus endpoint (engine operation durations). */
  engineMetrics?: string;
}

interface CliResult { code: number; stdout: string; stderr: string; ms: number }
let cliConfigDir = "";
function docker(host: string, args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const env = { ...process.env, DOCKER_HOST: host, DOCKER_CLI_HINTS: "false", ...(cliConfigDir ? { DOCKER_CONFIG: cliConfigDir } : {}) };
    const p = spawn(DOCKER, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", reject);
    p.on("close", (code) => { clearTimeout(t); resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - t0 }); });
  });
}
async function dockerOk(host: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await docker(host, args, timeoutMs);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} (${host}) failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

const alive = (pid: number) => pid > 0 && existsSync(`/proc/${pid}`);
async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (!alive(pid)) return;
  try { process.kill(pid, "SIGTERM"); } catch { return; }
  for (let t = 0; t < graceMs && alive(pid); t += 100) await sleep(100);
  if (!alive(pid)) return;
  log(`pid ${pid} did not stop after ${graceMs} ms: SIGKILL`);
  try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
  for (let t = 0; t < 5000 && alive(pid); t += 100) await sleep(100);
}

/** A process's own CPU and its reaped children's, in ms (10 ms ticks). */
async function procCpu(pid: number): Promise<{ self: number; children: number }> {
  try {
    const s = await fs.readFile(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { self: (Number(f[11]) + Number(f[12])) * CLK_TCK_MS, children: (Number(f[13]) + Number(f[14])) * CLK_TCK_MS };
  } catch {
    return { self: NaN, children: NaN }; // gone (a docker-proxy stopped with its container)
  }
}

/** Busy and total jiffies of the whole host (all CPUs), from /proc/stat. */
async function hostCpu(): Promise<{ busy: number; total: number }> {
  const l = (await fs.readFile("/proc/stat", "utf8")).split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = l.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already in user
  const idle = l[3]! + l[4]!;
  return { busy: total - idle, total };
}

interface CtdScrape { started: Record<string, number>; handlingS: Record<string, number> }
/** containerd's per-method started calls and handling-time sums (go-grpc-prometheus). */
async function scrapeContainerd(addr: string): Promise<CtdScrape> {
  const text = await (await fetch(`http://${addr}/v1/metrics`)).text();
  const out: CtdScrape = { started: {}, handlingS: {} };
  for (const m of text.matchAll(/^(grpc_server_started_total|grpc_server_handling_seconds_sum)\{([^}]*)\}\s+(\S+)/gm)) {
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const key = `${(labels["grpc_service"] ?? "").split(".").pop()}/${labels["grpc_method"]}`;
    const v = Number(m[3]);
    if (v > 0) (m[1] === "grpc_server_started_total" ? out.started : out.handlingS)[key] = v;
  }
  return out;
}
/** berthd's engine operation durations: op → { sum (s), count }. */
async function scrapeEngine(addr: string | undefined): Promise<Record<string, { sum: number; count: number }>> {
  if (!addr) return {};
  const text = await (await fetch(`http://${addr}/metrics`)).text();
  const out: Record<string, { sum: number; count: number }> = {};
  for (const m of text.matchAll(/^berth_engine_operation_duration_seconds_(sum|count)\{op="([^"]+)"\}\s+(\S+)/gm)) {
    const e = (out[m[2]!] ??= { sum: 0, count: 0 });
    e[m[1] as "sum" | "count"] = Number(m[3]);
  }
  return out;
}
function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 1e-12) out[k] = v - (before[k] ?? 0);
  return out;
}
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function quiesce(pid: number, name: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const a = await procCpu(pid);
    await sleep(1000);
    const b = await procCpu(pid);
    if (b.self - a.self <= CLK_TCK_MS) return;
  }
  log(`${name} (pid ${pid}) is still busy after 20 s; measuring anyway`);
}

// ---------------------------------------------------------------- host state

interface HostState {
  iptables: string;
  ip6tables: string;
  chains: Set<string>;
  links: Set<string>;
  ipForward: string;
  forwardPolicy: string;
  runDocker: Set<string>;
}
function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let es: import("node:fs").Dirent[] = [];
    try { es = readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of es) { const p = path.join(d, e.name); out.push(p); if (e.isDirectory()) walk(p); }
  };
  walk(dir);
  return out;
}
async function hostState(): Promise<HostState> {
  const links = (await pexec("ip", ["-br", "link"])).stdout.split("\n").map((l) => l.split(/\s+/)[0]!.replace(/@.*/, "")).filter(Boolean);
  const filterRules = (await pexec("iptables", ["-w", "-S", "FORWARD"])).stdout;
  return {
    iptables: await iptablesSave(),
    ip6tables: (await pexec("ip6tables-save").catch(() => ({ stdout: "" }))).stdout,
    chains: await chainsNow(),
    links: new Set(links),
    ipForward: (await fs.readFile("/proc/sys/net/ipv4/ip_forward", "utf8")).trim(),
    forwardPolicy: /^-P FORWARD (\S+)/m.exec(filterRules)?.[1] ?? "ACCEPT",
    runDocker: new Set(listTree("/run/docker")),
  };
}
/** iptables-save without comments and counters, as a sorted list of lines per table. */
function normalizeSave(s: string): string[] {
  let table = "";
  const out: string[] = [];
  for (const l of s.split("\n")) {
    if (l.startsWith("#") || l === "COMMIT" || !l.trim()) continue;
    if (l.startsWith("*")) { table = l.slice(1); continue; }
    out.push(`${table} ${l.replace(/ \[\d+:\d+\]$/, "")}`);
  }
  return out.sort();
}
function diffLines(before: string[], after: string[]): { added: string[]; removed: string[] } {
  const b = new Set(before);
  const a = new Set(after);
  return { added: after.filter((l) => !b.has(l)), removed: before.filter((l) => !a.has(l)) };
}

/**
 * dockerd's chains (DOCKER, DOCKER-USER, DOCKER-ISOLATION-STAGE-*) that did not exist before, with
 * every jump to them, and every rule that names one of `markers` (this run's bridges and subnets).
 */
async function removeDockerdIptables(before: Set<string>, markers: string[]): Promise<void> {
  for (const table of ["nat", "filter"]) {
    const rules = (await pexec("iptables", ["-w", "-t", table, "-S"])).stdout.split("\n");
    const ours = new Set(rules.filter((l) => l.startsWith("-N DOCKER")).map((l) => l.slice(3)).filter((c) => !before.has(`${table}/${c}`)));
    for (const l of [...rules].reverse()) {
      if (!l.startsWith("-A ")) continue;
      const t = tokenize(l);
      const target = t[t.indexOf("-j") + 1];
      const jumpsToOurs = !!target && ours.has(target) && !ours.has(t[1]!);
      if (jumpsToOurs || (!ours.has(t[1]!) && markers.some((m) => l.includes(m)))) {
        await pexec("iptables", ["-w", "-t", table, "-D", ...t.slice(1)]).catch((e: unknown) => log(`iptables -t ${table} -D ${t.slice(1).join(" ")}: ${String(e)}`));
      }
    }
    for (const c of ours) await pexec("iptables", ["-w", "-t", table, "-F", c]).catch(() => {});
    for (const c of ours) await pexec("iptables", ["-w", "-t", table, "-X", c]).catch((e: unknown) => log(`iptables -t ${table} -X ${c}: ${String(e)}`));
  }
}

// ---------------------------------------------------------------- dockerd 20.10 with its bridge

interface RefDockerd { base: string; host: string; ctdSock: string; ctdMetrics: string; ctdPid: number; pid: number }

/** A private containerd + dockerd 20.10 with its default bridge on `bridge` and iptables on. */
async function startRefDockerd(base: string, bridge: string, cidr: string, started: (r: Partial<RefDockerd>) => void): Promise<RefDockerd> {
  for (const d of ["ctd/root", "ctd/state", "ctd/run", "dockerd/data", "dockerd/exec", "dockerd/run", "logs"]) await fs.mkdir(path.join(base, d), { recursive: true });
  const port = await freeLocalPort();
  const ctdSock = path.join(base, "ctd/run/containerd.sock");
  const cfg = path.join(base, "ctd/config.toml");
  await fs.writeFile(cfg, [
    "version = 2",
    `root = ${JSON.stringify(path.join(base, "ctd/root"))}`,
    `state = ${JSON.stringify(path.join(base, "ctd/state"))}`,
    `disabled_plugins = ["io.containerd.grpc.v1.cri"]`,
    "[grpc]", `  address = ${JSON.stringify(ctdSock)}`,
    "[ttrpc]", `  address = ${JSON.stringify(ctdSock + ".ttrpc")}`,
    "[debug]", `  address = ${JSON.stringify(path.join(base, "ctd/run/debug.sock"))}`, `  level = "info"`,
    "[metrics]", `  address = "127.0.0.1:${port}"`, "  grpc_histogram = true", "",
  ].join("\n"));
  const spawnLogged = (cmd: string, args: string[], logName: string): ChildProcess => {
    const fd = openSync(path.join(base, "logs", logName), "a");
    // Own session: a Ctrl-C on the terminal reaches this process (which stops them), not them.
    const c = spawn(cmd, args, { stdio: ["ignore", fd, fd], detached: true });
    closeSync(fd);
    c.unref();
    return c;
  };
  const ctd = spawnLogged("containerd", ["--config", cfg], "containerd.log");
  const ctdPid = ctd.pid ?? 0;
  started({ base, ctdSock, ctdPid });
  for (let i = 0; i < 100 && !existsSync(ctdSock); i++) await sleep(100);
  if (!existsSync(ctdSock)) throw new Error(`the reference containerd did not start (${path.join(base, "logs/containerd.log")})`);

  // dockerd's default bridge on a device of our own (dockerd takes its address as the subnet and
  // leaves the device alone when it stops; this run deletes it).
  await pexec("ip", ["link", "add", bridge, "type", "bridge"]);
  await pexec("ip", ["addr", "add", cidr, "dev", bridge]);
  await pexec("ip", ["link", "set", bridge, "up"]);

  const sock = path.join(base, "dockerd/run/docker.sock");
  const dockerdBin = existsSync("/usr/sbin/dockerd") ? "/usr/sbin/dockerd" : "dockerd";
  const args = [
    "--data-root", path.join(base, "dockerd/data"), "--exec-root", path.join(base, "dockerd/exec"),
    "--pidfile", path.join(base, "dockerd/dockerd.pid"), "-H", `unix://${sock}`, "--containerd", ctdSock,
    "--bridge", bridge, "--iptables=true", "--ip-masq=true", "--userland-proxy=true",
  ];
  if (existsSync("/usr/sbin/docker-proxy")) args.push("--userland-proxy-path", "/usr/sbin/docker-proxy");
  const d = spawnLogged(dockerdBin, args, "dockerd.log");
  const pid = d.pid ?? 0;
  started({ base, ctdSock, ctdPid, pid, host: `unix://${sock}` });
  const end = Date.now() + 30_000;
  for (;;) {
    if (existsSync(sock) && (await docker(`unix://${sock}`, ["version"], 10_000)).code === 0) break;
    if (!alive(pid)) throw new Error(`dockerd exited during start-up:\n${await fs.readFile(path.join(base, "logs/dockerd.log"), "utf8").then((t) => t.slice(-3000), () => "")}`);
    if (Date.now() > end) throw new Error("dockerd did not answer within 30 s");
    await sleep(100);
  }
  return { base, host: `unix://${sock}`, ctdSock, ctdMetrics: `127.0.0.1:${port}`, ctdPid, pid };
}

/** docker-proxy processes whose parent is `ppid`. */
function childrenNamed(ppid: number, comm: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const s = readFileSync(`/proc/${p}/stat`, "utf8");
      const name = s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"));
      const parent = Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
      if (name === comm && parent === ppid) out.push(Number(p));
    } catch { /* gone */ }
  }
  return out;
}

// ---------------------------------------------------------------- part A: run -d

interface RunDSample { wallMs: number; rpcs: Record<string, number>; handlingMs: Record<string, number>; lateRpcs: number; cpu: { self: number; children: number }; ctdCpu: { self: number; children: number }; engineMs: Record<string, number> }

async function runDOnce(d: Daemon, mode: Mode): Promise<RunDSample> {
  const m0 = await scrapeContainerd(d.ctdMetrics);
  const e0 = await scrapeEngine(d.engineMetrics);
  const c0 = await procCpu(d.pid);
  const k0 = await procCpu(d.ctdPid);
  const r = await docker(d.host, ["run", "-d", ...(mode === "none" ? ["--network", "none"] : []), IMAGE, "sleep", "1000"]);
  if (r.code !== 0) throw new Error(`${d.name}: docker run -d (${mode}) failed: ${r.stderr.trim()}`);
  const id = r.stdout.trim();
  await sleep(SETTLE_MS);
  const c1 = await procCpu(d.pid);
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
      out.push(`| ${name === "dockerd" ? "dockerd 20.10 (bridge)" : "berth (CNI bridge)"} | ${f1(s.none.wallMs)} | ${f1(s.default.wallMs)} | **${f1(s.addedWallMs)}** | ${s.none.rpcsTotal} | ${s.default.rpcsTotal} | **${s.addedRpcs}** | ${f1(s.none.cpuSelfMs + s.none.cpuChildrenMs)} / ${f1(s.default.cpuSelfMs + s.default.cpuChildrenMs)} | ${f1(s.none.cpuChildrenMs)} / ${f1(s.default.cpuChildrenMs)} | ${f1(s.none.ctdCpuMs)} / ${f1(s.default.ctdCpuMs)} |`);
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

async function machine(): Promise<Record<string, unknown>> {
  const cpuinfo = await fs.readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const v = (cmd: string, args: string[]) => pexec(cmd, args).then((r) => r.stdout.trim().split("\n")[0]!, () => "?");
  return {
    nproc: os.cpus().length,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "?",
    kernel: os.release(),
    node: process.version,
    containerd: await v("containerd", ["--version"]),
    dockerd: await v("dockerd", ["--version"]),
    dockerCli: await v(DOCKER, ["--version"]),
    iptables: await v("iptables", ["--version"]),
    berthdRunner: process.env.BERTH_TEST_TSX === "1" ? "node --import tsx src/cli/berthd.ts" : "node dist/cli/berthd.js (built by this run)",
  };
}

/** A /24 under 10.<second>.x.0 that no host route overlaps ("10.230.17": the prefix of its addresses). */
async function freeSubnet(second: number): Promise<string> {
  const routes = (JSON.parse((await pexec("ip", ["-4", "-j", "route"])).stdout) as { dst: string }[])
    .filter((r) => r.dst !== "default")
    .flatMap((r) => { try { return [parseCidr(r.dst.includes("/") ? r.dst : `${r.dst}/32`)]; } catch { return []; } });
  for (let i = 0; i < 100; i++) {
    const p = `10.${second}.${1 + Math.floor(Math.random() * 250)}`;
    if (!routes.some((r) => cidrOverlaps(r, parseCidr(`${p}.0/24`)))) return p;
  }
  throw new Error(`no free 10.${second}.x.0/24`);
}

async function main(): Promise<number> {
  const date = new Date().toISOString();
  const loadBefore = (await fs.readFile("/proc/loadavg", "utf8")).trim().split(" ").slice(0, 3).join(" ");
  if (process.getuid?.() !== 0) throw new Error("run as root (CNI plugins, iptables, dockerd)");
  for (const p of ["/usr/lib/cni/bridge", "/usr/lib/cni/portmap"]) if (!existsSync(p)) throw new Error(`${p} is missing: apt-get install -y containernetworking-plugins`);
  const facts = await machine();
  log(`N=${N}, RUNS=${RUNS}, ${facts.nproc} CPUs, load ${loadBefore}`);

  const before = await hostState();
  const bnet = await freeSubnet(230);
  const dnet = await freeSubnet(231);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-nbench-"));
  cliConfigDir = path.join(tmp, "cli");
  await fs.mkdir(cliConfigDir);

  // ---- cleanup: everything below registers what it made; run once, in reverse, also on a signal
  let b: Berthd | undefined;
  let ref: Partial<RefDockerd> = {};
  let berthNetworkId = "";
  const hostProcs = new Set<number>();
  let cleaning: Promise<Record<string, unknown>> | undefined;
  const cleanup = () => (cleaning ??= (async () => {
    log("cleaning up (containers, daemons by PID, bridges, iptables)");
    const step = async (what: string, fn: () => Promise<unknown>) => { try { await fn(); } catch (e) { log(`cleanup: ${what}: ${e instanceof Error ? e.message : String(e)}`); } };
    for (const p of hostProcs) await step(`host process ${p}`, () => stopPid(p, 2000));
    if (ref.pid && alive(ref.pid) && ref.host) {
      await step("dockerd containers", async () => {
        const ids = (await dockerOk(ref.host!, ["ps", "-aq"])).split("\n").filter(Boolean);
        if (ids.length) await dockerOk(ref.host!, ["rm", "-f", ...ids]);
      });
    }
    const proxies = ref.pid ? childrenNamed(ref.pid, "docker-proxy") : [];
    if (ref.pid) await step("dockerd", () => stopPid(ref.pid!, 20_000));
    for (const p of proxies) await step(`docker-proxy ${p}`, () => stopPid(p, 2000));
    if (ref.ctdPid) await step("the reference containerd", () => stopPid(ref.ctdPid!, 15_000));
    if (ref.ctdSock) killShimsOf(ref.ctdSock);
    if (b) {
      await step("berth network id", async () => {
        const r = await b!.request("GET", "/networks/bridge");
        if (r.status === 200) berthNetworkId ||= (JSON.parse(r.body) as { Id: string }).Id;
      });
      await step("berthd", () => b!.destroy());
    }
    await step("mounts under the work dir", async () => {
      const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4]).filter((m): m is string => !!m && m.startsWith(tmp + "/")).sort((x, y) => y.length - x.length);
      for (const m of mounts) await pexec("umount", ["-l", m]).catch(() => {});
    });
    for (const dev of [BERTH_BRIDGE, DOCKERD_BRIDGE]) {
      if (existsSync(`/sys/class/net/${dev}`)) await step(`ip link delete ${dev}`, () => pexec("ip", ["link", "delete", dev]));
    }
    await step("dockerd's iptables", () => removeDockerdIptables(before.chains, [DOCKERD_BRIDGE, `${dnet}.`]));
    await step("berth's iptables", async () => {
      if (berthNetworkId) await deleteRulesMatching(`berth-${berthNetworkId.slice(0, 12)}`, [bnet]);
      await deleteRulesMatching(BERTH_BRIDGE, [bnet]);
      await removeSharedChainsCreatedSince(before.chains);
    });
    await step("FORWARD policy", async () => {
      const now = /^-P FORWARD (\S+)/m.exec((await pexec("iptables", ["-w", "-S", "FORWARD"])).stdout)?.[1];
      if (now && now !== before.forwardPolicy) await pexec("iptables", ["-w", "-P", "FORWARD", before.forwardPolicy]);
    });
    await step("ip_forward", async () => {
      if (before.ipForward === "0") await fs.writeFile("/proc/sys/net/ipv4/ip_forward", "0");
    });
    await step("work dir", () => fs.rm(tmp, { recursive: true, force: true }));

    // The host against its state before the run.
    const after = await hostState();
    const ipt = diffLines(normalizeSave(before.iptables), normalizeSave(after.iptables));
    const ip6 = diffLines(normalizeSave(before.ip6tables), normalizeSave(after.ip6tables));
    const check = {
      iptablesAdded: ipt.added, iptablesRemoved: ipt.removed, ip6tablesAdded: ip6.added, ip6tablesRemoved: ip6.removed,
      linksAdded: [...after.links].filter((l) => !before.links.has(l)),
      linksRemoved: [...before.links].filter((l) => !after.links.has(l)),
      ipForward: `${before.ipForward} → ${after.ipForward}`,
      forwardPolicy: `${before.forwardPolicy} → ${after.forwardPolicy}`,
      runDockerAdded: [...after.runDocker].filter((x) => !before.runDocker.has(x)),
      processesLeft: [ref.pid, ref.ctdPid, b?.pid, ...proxies, ...hostProcs].filter((p): p is number => !!p && alive(p)),
      workDirLeft: existsSync(tmp),
    };
    const clean = !check.iptablesAdded.length && !check.iptablesRemoved.length && !check.ip6tablesAdded.length && !check.ip6tablesRemoved.length &&
      !check.linksAdded.length && !check.runDockerAdded.length && !check.processesLeft.length && !check.workDirLeft &&
      before.ipForward === after.ipForward && before.forwardPolicy === after.forwardPolicy;
    if (clean) log("host check: iptables, ip6tables, links, ip_forward, FORWARD policy and /run/docker are as before the run; no process left");
    else log(`host check: DIFFERENCES (another workload on the host may also have caused them):\n${JSON.stringify(check, null, 2)}`);
    return { clean, ...check };
  })());
  const onSignal = (sig: string) => { log(`${sig}: stopping`); void cleanup().finally(() => process.exit(130)); };
  process.once("SIGINT", () => onSignal("SIGINT"));
  process.once("SIGTERM", () => onSignal("SIGTERM"));

  const report: Report = {
    date, machine: facts, loadBefore, loadAfter: "", n: N, runs: RUNS, settleMs: SETTLE_MS,
    setup: {
      berth: { bridge: BERTH_BRIDGE, bip: `${bnet}.1/24`, args: "--bridge DEV --bip CIDR --metrics-addr 127.0.0.1:PORT (embedded containerd, grpc_histogram on)" },
      dockerd: { bridge: DOCKERD_BRIDGE, cidr: `${dnet}.1/24`, args: "--bridge DEV --iptables=true --ip-masq=true --userland-proxy=true, private containerd (grpc_histogram on)" },
      sender: SENDER,
    },
  };
  let failed = false;
  try {
    if (process.env.BERTH_TEST_TSX !== "1") {
      log("building dist/ (npm run build; BERTH_TEST_TSX=1 runs berthd from the sources instead)");
      await pexec("npm", ["run", "--silent", "build"], { cwd: repo, timeout: 300_000 });
    }
    const engineMetrics = `127.0.0.1:${await freeLocalPort()}`;
    b = await startBerthd({ label: "net", args: ["--bridge", BERTH_BRIDGE, "--bip", `${bnet}.1/24`, "--metrics-addr", engineMetrics] });
    const berthCtdMetrics = /\[metrics\][^[]*address = "([^"]+)"/.exec(await fs.readFile(path.join(b.root, "containerd", "config.toml"), "utf8"))?.[1];
    if (!berthCtdMetrics) throw new Error("no [metrics] address in berth's containerd config.toml");
    const berth: Daemon = {
      name: "berth", host: b.dockerHost, pid: b.pid,
      ctdPid: Number((await fs.readFile(path.join(b.root, "containerd", "containerd.pid"), "utf8")).trim()),
      ctdMetrics: berthCtdMetrics, engineMetrics,
    };
    const bridgeNet = await b.request("GET", "/networks/bridge");
    berthNetworkId = (JSON.parse(bridgeNet.body) as { Id: string }).Id;
    log(`berthd pid ${berth.pid} (bridge ${BERTH_BRIDGE} ${bnet}.1/24), containerd pid ${berth.ctdPid}, metrics ${berthCtdMetrics}`);

    const r = await startRefDockerd(path.join(tmp, "ref"), DOCKERD_BRIDGE, `${dnet}.1/24`, (p) => (ref = p));
    ref = r;
    const dockerd: Daemon = { name: "dockerd", host: r.host, pid: r.pid, ctdPid: r.ctdPid, ctdMetrics: r.ctdMetrics };
    log(`dockerd pid ${r.pid} (bridge ${DOCKERD_BRIDGE} ${dnet}.1/24), containerd pid ${r.ctdPid}, metrics ${r.ctdMetrics}`);

    const tar = path.join(tmp, "busybox.tar");
    await fs.writeFile(tar, await buildBusyboxImage({ tags: [IMAGE] }));
    for (const d of [berth, dockerd]) await dockerOk(d.host, ["load", "-i", tar]);

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
        if (nc.pid) hostProcs.add(nc.pid);
        samples.push(await measureTransfer("host", "loopback", i, "127.0.0.1", port));
        await new Promise((res) => (nc.exitCode !== null ? res(null) : nc.once("exit", res)));
        if (nc.pid) hostProcs.delete(nc.pid);
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
  } catch (e) {
    failed = true;
    log(`FAILED: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    if (b) log(`--- last lines of berthd's log ---\n${b.log().slice(-2000)}`);
    if (ref.base) log(`--- last lines of dockerd's log ---\n${await fs.readFile(path.join(ref.base, "logs/dockerd.log"), "utf8").then((t) => t.slice(-2000), () => "")}`);
  } finally {
    report.loadAfter = (await fs.readFile("/proc/loadavg", "utf8")).trim().split(" ").slice(0, 3).join(" ");
    report.hostCheck = await cleanup();
  }
  if (failed) return 1;
  const md = renderMarkdown(report);
  await fs.mkdir(path.join(repo, "bench/results"), { recursive: true });
  await fs.writeFile(path.join(repo, "bench/results/network.json"), JSON.stringify(report, null, 2) + "\n");
  await fs.writeFile(path.join(repo, "bench/results/network.md"), md + "\n");
  process.stdout.write(md + "\n");
  log("results: bench/results/network.json, bench/results/network.md");
  return report.hostCheck?.["clean"] ? 0 : 2;
}

process.exitCode = await main().catch((e: unknown) => {
  log(`FAILED: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  return 1;
});
