// bench/shims.ts (npm run bench:shims) — what a running container costs in shim memory: COUNT
// (100) running `sleep` containers (busybox, --network none) on berthd with --shim-group-size 1,
// 10 and 50, and on dockerd 20.10 on its own private containerd
// (../shared/bench/bench-env-dockerd.sh, --bridge none), one after the other in one run. For each:
// the shims of that containerd (found by the -address in their command line, never another's),
// the sum of their VmRSS and of their PSS (smaps_rollup: pages shared between shims, such as the
// binary's text, divided among them) ÷ containers, and containerd's and the daemon's RSS.
// Prints a markdown table and writes bench/results/shims.md and shims.json. Everything it
// starts is stopped by PID at the end (containers removed, daemons, containerds, shims).
//
// Environment: COUNT=100, SIZES=1,10,50, CONCURRENCY=4, DOCKERD=1 (0 skips dockerd),
// BERTH_SHARED (default ../shared, else /work/shared), BERTH_TEST_TSX=1 to run berthd from the
// sources instead of dist/ (dist/ is built first otherwise: tsx costs berthd memory).
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { buildBusyboxImage } from "../src/images/index.js";
import { startBerthd } from "../test/helpers/berthd.js";
import { killShimsOf } from "../test/helpers/containerd.js";
import { freePort } from "../test/helpers/registry.js";
import { rssKiB, shimsOf } from "../test/helpers/shims.js";
import { parallel } from "../src/base/pool.js";
import { socketRequest, type SocketReply } from "../test/helpers/socket-request.js";

const pexec = promisify(execFile);
const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const COUNT = Number(process.env.COUNT ?? 100);
const SIZES = (process.env.SIZES ?? "1,10,50").split(",").map(Number);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 4);
const WITH_DOCKERD = process.env.DOCKERD !== "0";
const shared = process.env.BERTH_SHARED ?? (existsSync(path.join(repo, "..", "shared")) ? path.join(repo, "..", "shared") : "/work/shared");
const log = (m: string) => process.stderr.write(`[shims ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

interface Row {
  daemon: string;
  containers: number;
  shims: number;
  shimRssMiB: number;
  shimPssMiB: number;
  perContainerRssMiB: number;
  perContainerPssMiB: number;
  containerdRssMiB: number;
  daemonRssMiB: number;
}

/** Proportional set size in KiB (0 when the process is gone). */
function pssKiB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function request(socketPath: string, method: string, p: string, body?: unknown, raw?: Buffer): Promise<SocketReply> {
  const o = raw ? { body: raw, type: "application/x-tar" } : body === undefined ? {} : { body: JSON.stringify(body) };
  return socketRequest(socketPath, method, p, { ...o, timeoutMs: 120_000 });
}

/** fn(0..n-1), CONCURRENCY at a time; the first failure stops the rest. */
const pool = (n: number, fn: (i: number) => Promise<void>) => parallel(Array.from({ length: n }, (_, i) => i), CONCURRENCY, undefined, fn);

/** Loads busybox, starts COUNT sleepers, measures, removes them. */
async function measure(daemon: string, socket: string, address: string, namespace: string, containerdPid: number, daemonPid: number, tar: Buffer): Promise<Row> {
  const loaded = await request(socket, "POST", "/images/load?quiet=1", undefined, tar);
  if (loaded.status !== 200) throw new Error(`${daemon}: load: ${loaded.status} ${loaded.body}`);
  const ids: string[] = [];
  try {
    log(`${daemon}: starting ${COUNT} containers`);
    await pool(COUNT, async () => {
      const c = await request(socket, "POST", "/containers/create", { Image: "busybox:latest", Cmd: ["sleep", "100000"], HostConfig: { NetworkMode: "none" } });
      if (c.status !== 201) throw new Error(`${daemon}: create: ${c.status} ${c.body}`);
      const id = (JSON.parse(c.body) as { Id: string }).Id;
      ids.push(id);
      const s = await request(socket, "POST", `/containers/${id}/start`);
      if (s.status !== 204) throw new Error(`${daemon}: start: ${s.status} ${s.body}`);
    });
    // Let the shims and daemons settle (Go's and V8's first collections after the burst).
    await sleep(3000);
    const shims = shimsOf(address, namespace);
    const rss = shims.reduce((a, s) => a + rssKiB(s.pid), 0) / 1024;
    const pss = shims.reduce((a, s) => a + pssKiB(s.pid), 0) / 1024;
    const row: Row = {
      daemon, containers: ids.length, shims: shims.length,
      shimRssMiB: rss, shimPssMiB: pss, perContainerRssMiB: rss / ids.length, perContainerPssMiB: pss / ids.length,
      containerdRssMiB: rssKiB(containerdPid) / 1024, daemonRssMiB: rssKiB(daemonPid) / 1024,
    };
    log(`${daemon}: ${row.shims} shims, ${row.perContainerRssMiB.toFixed(2)} MiB RSS (${row.perContainerPssMiB.toFixed(2)} MiB PSS) per container`);
    return row;
  } finally {
    log(`${daemon}: removing the containers`);
    await pool(ids.length, async (i) => { await request(socket, "DELETE", `/containers/${ids[i]}?force=1`).catch(() => {}); });
  }
}

async function berthdRow(size: number, tar: Buffer): Promise<Row> {
  const b = await startBerthd({ label: `shim${size}`, args: size > 1 ? ["--shim-group-size", String(size)] : [] });
  try {
    const address = path.join(b.root, "containerd", "containerd.sock");
    const ctdPid = Number((await fs.readFile(path.join(b.root, "containerd", "containerd.pid"), "utf8")).trim());
    return await measure(`berthd --shim-group-size ${size}`, b.socket, address, b.namespace, ctdPid, b.pid, tar);
  } finally {
    await b.destroy();
  }
}

async function dockerdRow(tar: Buffer): Promise<Row> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), "bshims-d-"));
  const script = path.join(shared, "bench/bench-env-dockerd.sh");
  const address = path.join(base, "ctd/run/containerd.sock");
  try {
    await pexec("bash", [script, "start", base], { env: { ...process.env, METRICS_PORT: String(await freePort()) }, timeout: 60_000 });
    const socket = path.join(base, "dockerd/run/docker.sock");
    for (let i = 0; i < 100 && (await request(socket, "GET", "/_ping").then((r) => r.status !== 200, () => true)); i++) await sleep(100);
    const ctdPid = Number((await fs.readFile(path.join(base, "ctd/pid"), "utf8")).trim());
    const dockerdPid = Number((await fs.readFile(path.join(base, "dockerd/dockerd.pid"), "utf8")).trim());
    const version = JSON.parse((await request(socket, "GET", "/version")).body) as { Version: string };
    return await measure(`dockerd ${version.Version}`, socket, address, "moby", ctdPid, dockerdPid, tar);
  } finally {
    await pexec("bash", [script, "stop", base]).catch((e: unknown) => log(`dockerd stop: ${String(e)}`));
    killShimsOf(address);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4]).filter((m): m is string => !!m && m.startsWith(base + "/")).sort((a, b) => b.length - a.length);
    for (const m of mounts) await pexec("umount", ["-l", m]).catch(() => {});
    await fs.rm(base, { recursive: true, force: true });
  }
}

function render(rows: Row[], o: { date: string; load: string; loadAfter: string }): string {
  const f = (n: number) => n.toFixed(1);
  const ref = rows.find((r) => r.daemon.startsWith("dockerd"));
  const lines = [
    `# Shim memory per running container (npm run bench:shims)`,
    ``,
    `${o.date}; ${COUNT} running \`sleep\` containers (busybox, --network none) per daemon, one daemon at a time; ${os.cpus().length} CPUs; load ${o.load} before, ${o.loadAfter} after.`,
    `RSS counts pages the shims share (the shim binary's text) once per shim; PSS divides them among the processes that map them.`,
    ``,
    `| daemon | shims | shim RSS / container (MiB) | shim PSS / container (MiB) | all shims RSS (MiB) | containerd RSS (MiB) | daemon RSS (MiB) |${ref ? " RSS / container vs dockerd |" : ""}`,
    `|---|---|---|---|---|---|---|${ref ? "---|" : ""}`,
    ...rows.map((r) => `| ${r.daemon} | ${r.shims} | ${r.perContainerRssMiB.toFixed(2)} | ${r.perContainerPssMiB.toFixed(2)} | ${f(r.shimRssMiB)} | ${f(r.containerdRssMiB)} | ${f(r.daemonRssMiB)} |${ref ? ` ${(r.perContainerRssMiB / ref.perContainerRssMiB).toFixed(2)} |` : ""}`),
    ``,
  ];
  return lines.join("\n");
}

async function main(): Promise<void> {
  const date = new Date().toISOString();
  const load = (await fs.readFile("/proc/loadavg", "utf8")).trim().split(" ").slice(0, 3).join(" ");
  if (process.env.BERTH_TEST_TSX !== "1") {
    log("building dist/ (tsc -p tsconfig.build.json)");
    await pexec("npx", ["--no-install", "tsc", "-p", "tsconfig.build.json"], { cwd: repo, timeout: 300_000 });
  }
  const tar = await buildBusyboxImage({ tags: ["busybox:latest"] });
  const rows: Row[] = [];
  for (const size of SIZES) rows.push(await berthdRow(size, tar));
  if (WITH_DOCKERD) rows.push(await dockerdRow(tar));
  const loadAfter = (await fs.readFile("/proc/loadavg", "utf8")).trim().split(" ").slice(0, 3).join(" ");
  const md = render(rows, { date, load, loadAfter });
  await fs.mkdir(path.join(repo, "bench/results"), { recursive: true });
  await fs.writeFile(path.join(repo, "bench/results/shims.md"), md);
  await fs.writeFile(path.join(repo, "bench/results/shims.json"), JSON.stringify({ date, load, loadAfter, count: COUNT, rows }, null, 1) + "\n");
  process.stdout.write(md);
}

await main();
