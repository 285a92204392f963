// bench/bridge-pair.ts — the shared set-up of the benchmarks that compare berth with dockerd 20.10,
// both with their default bridge network (bench/network.ts, bench/concurrency.ts):
//
//  - berthd (test/helpers/berthd.ts, its embedded containerd) with --bridge DEV --bip CIDR and
//    --metrics-addr; a private containerd + dockerd 20.10 (Debian docker.io, /usr/sbin/dockerd) with
//    its default bridge on a device this run creates, iptables and ip-masq on, as
//    ../shared/bench/bench-env-dockerd.sh runs it but with networking. Each daemon has its own bridge
//    device and /24 that no host route overlaps, so nothing clashes with other daemons on the host.
//  - busybox:latest (built in-process) loaded into both.
//  - cleanup(): everything the run started or added is removed, also on a signal: containers,
//    daemons and shims (by PID), mounts, both bridges, dockerd's iptables chains and their jumps,
//    rules naming this run's bridges or subnets, CNI shared chains that did not exist before. The
//    host is then compared with its state before the run (iptables-save, ip6tables-save, links,
//    ip_forward, FORWARD policy, /run/docker) and every difference is logged and returned.
//
// Environment: DOCKER (the docker CLI, default "docker"), BERTH_TEST_TSX=1 to run berthd from the
// sources (by default dist/ is built first and test/helpers/berthd.ts runs dist/cli/berthd.js),
// BERTHD_NODE_ARGS (node flags for berthd, e.g. "--cpu-prof --cpu-prof-dir=DIR").
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, openSync, closeSync, readdirSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
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
export const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
export const DOCKER = process.env.DOCKER ?? "docker";
export const IMAGE = "busybox:latest";
export const CLK_TCK_MS = 10; // /proc/PID/stat times are in USER_HZ = 100

let logTag = "bench";
export const log = (m: string) => process.stderr.write(`[${logTag} ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

export interface Daemon {
  name: "berth" | "dockerd";
  host: string;
  pid: number;
  ctdPid: number;
  ctdMetrics: string;
  /** berthd's own Prometheus endpoint (engine operation durations). */
  engineMetrics?: string;
}

export interface CliResult { code: number; stdout: string; stderr: string; ms: number }
let cliConfigDir = "";
/** The docker CLI's config directory (a private one: no user config, no context). */
export function setCliConfigDir(dir: string): void { cliConfigDir = dir; }
export function docker(host: string, args: string[], timeoutMs = 60_000): Promise<CliResult> {
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
export async function dockerOk(host: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await docker(host, args, timeoutMs);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} (${host}) failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

export const alive = (pid: number) => pid > 0 && existsSync(`/proc/${pid}`);
export async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (!alive(pid)) return;
  try { process.kill(pid, "SIGTERM"); } catch { return; }
  for (let t = 0; t < graceMs && alive(pid); t += 100) await sleep(100);
  if (!alive(pid)) return;
  log(`pid ${pid} did not stop after ${graceMs} ms: SIGKILL`);
  try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
  for (let t = 0; t < 5000 && alive(pid); t += 100) await sleep(100);
}

/** A process's own CPU and its reaped children's, in ms (10 ms ticks). */
export async function procCpu(pid: number): Promise<{ self: number; children: number }> {
  try {
    const s = await fs.readFile(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { self: (Number(f[11]) + Number(f[12])) * CLK_TCK_MS, children: (Number(f[13]) + Number(f[14])) * CLK_TCK_MS };
  } catch {
    return { self: NaN, children: NaN }; // gone (a docker-proxy stopped with its container)
  }
}

/**
 * A daemon's CPU with its children's, in ms: its own, its reaped children's, and every live direct
 * child's (own + reaped) except `exclude` (berthd's embedded containerd). berthd's launcher (a
 * long-lived sh that runs the CNI plugins and reaps them) is such a live child.
 */
export async function daemonTreeCpu(pid: number, exclude: number[] = []): Promise<{ self: number; children: number }> {
  const own = await procCpu(pid);
  let children = own.children;
  for (const c of childrenOf(pid)) {
    if (exclude.includes(c)) continue;
    const k = await procCpu(c);
    if (Number.isFinite(k.self)) children += k.self + k.children;
  }
  return { self: own.self, children };
}

/** PIDs whose parent is `ppid`. */
export function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const s = readFileSync(`/proc/${p}/stat`, "utf8");
      if (Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]) === ppid) out.push(Number(p));
    } catch { /* gone */ }
  }
  return out;
}

/** Busy and total jiffies of the whole host (all CPUs), from /proc/stat. */
export async function hostCpu(): Promise<{ busy: number; total: number }> {
  const l = (await fs.readFile("/proc/stat", "utf8")).split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = l.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already in user
  const idle = l[3]! + l[4]!;
  return { busy: total - idle, total };
}

export interface CtdScrape { started: Record<string, number>; handlingS: Record<string, number> }
/** containerd's per-method started calls and handling-time sums (go-grpc-prometheus). */
export async function scrapeContainerd(addr: string): Promise<CtdScrape> {
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
export async function scrapeEngine(addr: string | undefined): Promise<Record<string, { sum: number; count: number }>> {
  if (!addr) return {};
  const text = await (await fetch(`http://${addr}/metrics`)).text();
  const out: Record<string, { sum: number; count: number }> = {};
  for (const m of text.matchAll(/^berth_engine_operation_duration_seconds_(sum|count)\{op="([^"]+)"\}\s+(\S+)/gm)) {
    const e = (out[m[2]!] ??= { sum: 0, count: 0 });
    e[m[1] as "sum" | "count"] = Number(m[3]);
  }
  return out;
}
export function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 1e-12) out[k] = v - (before[k] ?? 0);
  return out;
}
export const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
export const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function quiesce(pid: number, name: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const a = await procCpu(pid);
    await sleep(1000);
    const b = await procCpu(pid);
    if (b.self - a.self <= CLK_TCK_MS) return;
  }
  log(`${name} (pid ${pid}) is still busy after 20 s; measuring anyway`);
}

// ---------------------------------------------------------------- host state

export interface HostState {
  iptables: string;
  ip6tables: string;
  chains: Set<string>;
  links: Set<string>;
  ipForward: string;
  forwardPolicy: string;
  runDocker: Set<string>;
}
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let es: import("node:fs").Dirent[] = [];
    try { es = readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of es) { const p = path.join(d, e.name); out.push(p); if (e.isDirectory()) walk(p); }
  };
  walk(dir);
  return out;
}
export async function hostState(): Promise<HostState> {
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
export function normalizeSave(s: string): string[] {
  let table = "";
  const out: string[] = [];
  for (const l of s.split("\n")) {
    if (l.startsWith("#") || l === "COMMIT" || !l.trim()) continue;
    if (l.startsWith("*")) { table = l.slice(1); continue; }
    // A built-in chain's ACCEPT policy line appears once its table is first used (the policies
    // that matter are compared on their own).
    if (/^:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) ACCEPT\b/.test(l)) continue;
    out.push(`${table} ${l.replace(/ \[\d+:\d+\]$/, "")}`);
  }
  return out.sort();
}
export function diffLines(before: string[], after: string[]): { added: string[]; removed: string[] } {
  const b = new Set(before);
  const a = new Set(after);
  return { added: after.filter((l) => !b.has(l)), removed: before.filter((l) => !a.has(l)) };
}

/**
 * dockerd's chains (DOCKER, DOCKER-USER, DOCKER-ISOLATION-STAGE-*) that did not exist before, with
 * every jump to them, and every rule that names one of `markers` (this run's bridges and subnets).
 */
export async function removeDockerdIptables(before: Set<string>, markers: string[]): Promise<void> {
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

export interface RefDockerd { base: string; host: string; ctdSock: string; ctdMetrics: string; ctdPid: number; pid: number }

/** A private containerd + dockerd 20.10 with its default bridge on `bridge` and iptables on. */
export async function startRefDockerd(base: string, bridge: string, cidr: string, started: (r: Partial<RefDockerd>) => void): Promise<RefDockerd> {
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
export function childrenNamed(ppid: number, comm: string): number[] {
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

export async function machine(): Promise<Record<string, unknown>> {
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
export async function freeSubnet(second: number): Promise<string> {
  const routes = (JSON.parse((await pexec("ip", ["-4", "-j", "route"])).stdout) as { dst: string }[])
    .filter((r) => r.dst !== "default")
    .flatMap((r) => { try { return [parseCidr(r.dst.includes("/") ? r.dst : `${r.dst}/32`)]; } catch { return []; } });
  for (let i = 0; i < 100; i++) {
    const p = `10.${second}.${1 + Math.floor(Math.random() * 250)}`;
    if (!routes.some((r) => cidrOverlaps(r, parseCidr(`${p}.0/24`)))) return p;
  }
  throw new Error(`no free 10.${second}.x.0/24`);
}


export const loadavg = async () => (await fs.readFile("/proc/loadavg", "utf8")).trim().split(" ").slice(0, 3).join(" ");

export interface BridgePair {
  readonly tmp: string;
  readonly berthBridge: string;
  readonly dockerdBridge: string;
  /** "10.230.17": the prefix of berth's /24 (dockerd's is dnet). */
  readonly bnet: string;
  readonly dnet: string;
  /** Set by start(). */
  berth: Daemon;
  dockerd: Daemon;
  berthd: Berthd;
  ref: RefDockerd;
  /** PIDs of host processes a bench started; stopped first by cleanup(). */
  readonly hostProcs: Set<number>;
  start(): Promise<void>;
  /** Idempotent; returns the host check ({ clean, ...differences }). */
  cleanup(): Promise<Record<string, unknown>>;
}

/**
 * Records the host's state and picks the subnets; start() then builds dist/ (unless
 * BERTH_TEST_TSX=1), starts both daemons and loads busybox into both. Call cleanup() in a finally;
 * SIGINT/SIGTERM run it too.
 */
export async function prepareBridgePair(o: { tag: string; berthArgs?: string[] }): Promise<BridgePair> {
  logTag = o.tag;
  const run = randomBytes(2).toString("hex");
  const berthBridge = `bnb${run}0`;
  const dockerdBridge = `bnd${run}0`;
  const before = await hostState();
  const bnet = await freeSubnet(230);
  const dnet = await freeSubnet(231);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), `berth-${o.tag}-`));
  setCliConfigDir(path.join(tmp, "cli"));
  await fs.mkdir(path.join(tmp, "cli"));

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
        if (ids.length) await dockerOk(ref.host!, ["rm", "-f", ...ids], 300_000);
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
    for (const dev of [berthBridge, dockerdBridge]) {
      if (existsSync(`/sys/class/net/${dev}`)) await step(`ip link delete ${dev}`, () => pexec("ip", ["link", "delete", dev]));
    }
    await step("dockerd's iptables", () => removeDockerdIptables(before.chains, [dockerdBridge, `${dnet}.`]));
    await step("berth's iptables", async () => {
      if (berthNetworkId) await deleteRulesMatching(`berth-${berthNetworkId.slice(0, 12)}`, [bnet]);
      await deleteRulesMatching(berthBridge, [bnet]);
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

  const pair = {
    tmp, berthBridge, dockerdBridge, bnet, dnet, hostProcs, cleanup,
    async start() {
      if (process.env.BERTH_TEST_TSX !== "1") {
        log("building dist/ (npm run build; BERTH_TEST_TSX=1 runs berthd from the sources instead)");
        await pexec("npm", ["run", "--silent", "build"], { cwd: repo, timeout: 300_000 });
      }
      const engineMetrics = `127.0.0.1:${await freeLocalPort()}`;
      b = await startBerthd({ label: o.tag.slice(0, 6), args: ["--bridge", berthBridge, "--bip", `${bnet}.1/24`, "--metrics-addr", engineMetrics, ...(o.berthArgs ?? [])] });
      pair.berthd = b;
      const berthCtdMetrics = /\[metrics\][^[]*address = "([^"]+)"/.exec(await fs.readFile(path.join(b.root, "containerd", "config.toml"), "utf8"))?.[1];
      if (!berthCtdMetrics) throw new Error("no [metrics] address in berth's containerd config.toml");
      pair.berth = {
        name: "berth", host: b.dockerHost, pid: b.pid,
        ctdPid: Number((await fs.readFile(path.join(b.root, "containerd", "containerd.pid"), "utf8")).trim()),
        ctdMetrics: berthCtdMetrics, engineMetrics,
      };
      const bridgeNet = await b.request("GET", "/networks/bridge");
      berthNetworkId = (JSON.parse(bridgeNet.body) as { Id: string }).Id;
      log(`berthd pid ${b.pid} (bridge ${berthBridge} ${bnet}.1/24), containerd pid ${pair.berth.ctdPid}, metrics ${berthCtdMetrics}`);

      const r = await startRefDockerd(path.join(tmp, "ref"), dockerdBridge, `${dnet}.1/24`, (p) => (ref = p));
      ref = r;
      pair.ref = r;
      pair.dockerd = { name: "dockerd", host: r.host, pid: r.pid, ctdPid: r.ctdPid, ctdMetrics: r.ctdMetrics };
      log(`dockerd pid ${r.pid} (bridge ${dockerdBridge} ${dnet}.1/24), containerd pid ${r.ctdPid}, metrics ${r.ctdMetrics}`);

      const tar = path.join(tmp, "busybox.tar");
      await fs.writeFile(tar, await buildBusyboxImage({ tags: [IMAGE] }));
      for (const d of [pair.berth, pair.dockerd]) await dockerOk(d.host, ["load", "-i", tar]);
    },
  } as BridgePair;
  return pair;
}

/** The tail of berthd's and dockerd's logs (after a failure). */
export async function daemonLogs(p: BridgePair): Promise<string> {
  const out: string[] = [];
  if (p.berthd) out.push(`--- last lines of berthd's log ---\n${p.berthd.log().slice(-2000)}`);
  if (p.ref?.base) out.push(`--- last lines of dockerd's log ---\n${await fs.readFile(path.join(p.ref.base, "logs/dockerd.log"), "utf8").then((t) => t.slice(-2000), () => "")}`);
  return out.join("\n");
}

/**
 * Runs a bench's body on a prepared pair. On failure: berthd's and dockerd's last log lines and
 * exit code 1. Always: the load after the run and the host check (cleanup). Then the results are
 * written (writeResults).
 */
export async function runOnPair<R extends { loadAfter: string; hostCheck?: Record<string, unknown> }>(
  pair: BridgePair,
  name: string,
  report: R,
  render: (r: R) => string,
  body: () => Promise<void>,
): Promise<number> {
  let failed = false;
  try {
    await body();
  } catch (e) {
    failed = true;
    log(`FAILED: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    log(await daemonLogs(pair));
  } finally {
    report.loadAfter = await loadavg();
    report.hostCheck = await pair.cleanup();
  }
  if (failed) return 1;
  return writeResults(name, report, render(report));
}

/** Writes bench/results/<name>.{json,md}, prints the markdown; the exit code from the host check. */
export async function writeResults(name: string, report: { hostCheck?: Record<string, unknown> }, md: string): Promise<number> {
  await fs.mkdir(path.join(repo, "bench/results"), { recursive: true });
  await fs.writeFile(path.join(repo, `bench/results/${name}.json`), JSON.stringify(report, null, 2) + "\n");
  await fs.writeFile(path.join(repo, `bench/results/${name}.md`), md + "\n");
  process.stdout.write(md + "\n");
  log(`results: bench/results/${name}.json, bench/results/${name}.md`);
  return report.hostCheck?.["clean"] ? 0 : 2;
}
