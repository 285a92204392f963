// npm run bench:images — image load and pull, berth vs dockerd 20.10, in one run on one host.
//  - load: a ~200 MB image (busybox + one layer of random data) with `docker load -i`, against
//    berthd and against dockerd (../shared/bench/bench-env-dockerd.sh), RUNS times each, the image
//    removed between runs; time and throughput (median).
//  - pull: the same image from a private registry on 127.0.0.1 (Debian's docker-registry),
//    pushed there by berth's own push; `docker pull` on each daemon, RUNS times each.
//  - before each timed operation, untimed: the same operation by the same daemon (PRECONDITION),
//    then `sync` and half a second (see settle()).
//  - the archive is made by a child process (`--make`), so this one holds little memory.
// Writes bench/results/images.json and prints a table. Stops everything it started by PID.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createContainerdClient } from "../src/containerd/index.js";
import { buildBusyboxImage, createImageService } from "../src/images/index.js";
import { startBerthd } from "../test/helpers/berthd.js";
import { freePort, startRegistry } from "../test/helpers/registry.js";
import { summarize } from "./stats.js";

const pexec = promisify(execFile);
const RUNS = Number(process.env.RUNS ?? 3);
const SIZE_MB = Number(process.env.SIZE_MB ?? 200);
const DOCKER = process.env.DOCKER ?? "docker";
/**
 * PRECONDITION=1 (the default): each timed load (pull) follows an untimed one by the same
 * daemon, so that no daemon is timed right after the other one's I/O. berth's loads right after
 * dockerd's cost containerd ~200 ms more CPU in some runs and not in others, for reasons not
 * pinned down (docs/benchmarks.md, "Images"); dockerd's never depended on the order.
 * PRECONDITION=0 times them back to back, order alternating, as before.
 */
const PRECONDITION = process.env.PRECONDITION !== "0";
const repo = new URL("..", import.meta.url).pathname;
const shared = process.env.BERTH_SHARED ?? path.join(repo, "..", "shared");

function docker(host: string, args: string[]): Promise<{ ms: number; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(DOCKER, args, { env: { ...process.env, DOCKER_HOST: host }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (c: Buffer) => (out += c.toString()));
    p.stderr.on("data", (c: Buffer) => (out += c.toString()));
    p.on("close", (code) => (code === 0 ? resolve({ ms: performance.now() - t0, out }) : reject(new Error(`docker ${args.join(" ")}: ${out}`))));
  });
}

/**
 * Untimed, before every timed operation: write back the dirty pages the previous one left, then
 * a pause for the disk to go quiet. (It was added when containerd's fsync was thought to pay
 * for dockerd's dirty pages; /proc/diskstats later showed dockerd's load writes ~150 KB, see
 * docs/benchmarks.md, "Images". It stays: it costs nothing timed and keeps runs comparable.)
 */
async function settle(): Promise<void> {
  await pexec("sync");
  await new Promise((r) => setTimeout(r, Number(process.env.SETTLE_MS ?? 500)));
}

/** One timed operation (`op`, then untimed `cleanup`), after an untimed one when PRECONDITION. */
async function timed(host: string, op: string[], cleanup: string[]): Promise<number> {
  if (PRECONDITION) {
    await settle();
    await docker(host, op);
    await docker(host, cleanup);
  }
  await settle();
  const r = await docker(host, op);
  await docker(host, cleanup);
  return r.ms;
}

/**
 * `images.ts --make FILE`: writes the archive and exits. The bench builds it in a child so that
 * its own process does not hold the ~420 MB this takes (the random layer and the archive) while
 * it measures: with them held, berth's loads right after dockerd's were slow more often (1.45–1.66
 * s instead of 1.12–1.27 s; not the only cause, see PRECONDITION), dockerd's unchanged.
 */
if (process.argv[2] === "--make") {
  const big = randomBytes(SIZE_MB * 1024 * 1024);
  const archive = await buildBusyboxImage({ tags: ["bigbench:latest"], extraLayers: [[{ name: "data", type: "directory" }, { name: "data/blob.bin", data: big }]] });
  await fs.writeFile(process.argv[3]!, archive);
  process.exit(0);
}

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-bench-images-"));
const refBase = path.join(tmp, "ref");
const metricsPort = await freePort();
let refUp = false;
const b = await startBerthd({ label: "bimg" });
const registry = await startRegistry();
try {
  // The image: busybox plus one layer of incompressible data.
  const tar = path.join(tmp, "big.tar");
  await pexec(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--make", tar]);
  const mb = (await fs.stat(tar)).size / 1e6;

  await pexec("bash", [path.join(shared, "bench/bench-env-dockerd.sh"), "start", refBase], { env: { ...process.env, METRICS_PORT: String(metricsPort) } });
  refUp = true;
  const refHost = `unix://${refBase}/dockerd/run/docker.sock`;
  const daemons: [string, string][] = [["dockerd 20.10", refHost], ["berth", b.dockerHost]];

  const results: Record<string, { load: number[]; pull: number[] }> = {};
  for (const [name] of daemons) results[name] = { load: [], pull: [] };
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, order alternating, so drift on a noisy host hits both alike.
    for (const [name, host] of i % 2 === 0 ? daemons : [...daemons].reverse()) {
      results[name]!.load.push(await timed(host, ["load", "-i", tar], ["rmi", "bigbench:latest"]));
    }
  }

  // Push from berth's own store to the registry.
  await docker(b.dockerHost, ["load", "-i", tar]);
  const ref = `${registry.host}/bigbench:latest`;
  await docker(b.dockerHost, ["tag", "bigbench:latest", ref]);
  const ctd = createContainerdClient({ address: path.join(b.root, "containerd", "containerd.sock"), namespace: b.namespace });
  await createImageService({ containerd: ctd }).push(ref);
  await ctd.close();
  await docker(b.dockerHost, ["rmi", ref, "bigbench:latest"]);
  for (let i = 0; i < RUNS; i++) {
    for (const [name, host] of i % 2 === 0 ? daemons : [...daemons].reverse()) {
      results[name]!.pull.push(await timed(host, ["pull", ref], ["rmi", ref]));
    }
  }

  const rows = Object.entries(results).map(([name, r]) => {
    const load = summarize(r.load).p50;
    const pull = summarize(r.pull).p50;
    return { name, loadMs: load, loadMBps: mb / (load / 1000), pullMs: pull, pullMBps: mb / (pull / 1000) };
  });
  console.log(`image ${mb.toFixed(0)} MB (2 layers), ${RUNS} runs each, medians, ${PRECONDITION ? "each after an untimed one by the same daemon" : "back to back"}; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}`);
  console.log("| daemon | load | load MB/s | pull | pull MB/s |\n|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.name} | ${(r.loadMs / 1000).toFixed(2)} s | ${r.loadMBps.toFixed(0)} | ${(r.pullMs / 1000).toFixed(2)} s | ${r.pullMBps.toFixed(0)} |`);
  const berth = rows.find((r) => r.name === "berth")!;
  const ref2 = rows.find((r) => r.name !== "berth")!;
  console.log(`berth/dockerd time: load ${(berth.loadMs / ref2.loadMs).toFixed(2)}, pull ${(berth.pullMs / ref2.pullMs).toFixed(2)}`);
  await fs.mkdir(path.join(repo, "bench/results"), { recursive: true });
  await fs.writeFile(path.join(repo, "bench/results/images.json"), JSON.stringify({ date: new Date().toISOString(), sizeMB: mb, runs: RUNS, precondition: PRECONDITION, results, rows }, null, 2) + "\n");
} finally {
  if (refUp) await pexec("bash", [path.join(shared, "bench/bench-env-dockerd.sh"), "stop", refBase]).catch(() => {});
  await registry.stop();
  await b.destroy();
  await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
}
