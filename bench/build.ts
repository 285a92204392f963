// npm run bench:build — a classic build (DOCKER_BUILDKIT=0 docker build), berth vs dockerd 20.10,
// in one run on one host: the same multi-stage Dockerfile (busybox base; RUN steps, COPY --from,
// COPY of context files, metadata steps), cold (--no-cache) and warm (every step from the
// cache), RUNS times each, median. dockerd runs on its own containerd from
// ../shared/bench/bench-env-dockerd.sh, berthd on its embedded one. Writes
// bench/results/build.json and prints a table. Stops everything it started by PID.
import { execFile, spawn } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startBerthd } from "../test/helpers/berthd.js";
import { freePort } from "../test/helpers/registry.js";
import { summarize } from "./stats.js";

const pexec = promisify(execFile);
const RUNS = Number(process.env.RUNS ?? 5);
const DOCKER = process.env.DOCKER ?? "docker";
const repo = new URL("..", import.meta.url).pathname;
const shared = process.env.BERTH_SHARED ?? path.join(repo, "..", "shared");

const DOCKERFILE = `ARG BASE=busybox
FROM \${BASE} AS gen
ARG MSG=hello
RUN echo "$MSG" > /out.txt && for i in 1 2 3 4 5 6 7 8; do head -c 65536 /dev/urandom > /blob$i; done
RUN sha256sum /blob* > /sums
FROM busybox
ENV APP=/app GREETING=hi
WORKDIR $APP
COPY --from=gen /out.txt /sums ./
COPY src/ ./src/
RUN ls -R /app > /app/listing
USER nobody
EXPOSE 8080
HEALTHCHECK --interval=5s CMD true
CMD ["cat", "/app/out.txt"]
`;

function docker(host: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(DOCKER, args, { env: { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (c: Buffer) => (out += c.toString()));
    p.stderr.on("data", (c: Buffer) => (out += c.toString()));
    p.on("close", (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`docker ${args.join(" ")}: ${out}`))));
  });
}

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "bench-build-"));
const refBase = path.join(tmp, "dockerd");
let refUp = false;
const b = await startBerthd({ label: "bbuild" });
try {
  const ctx = path.join(tmp, "ctx");
  await fs.mkdir(path.join(ctx, "src"), { recursive: true });
  await fs.writeFile(path.join(ctx, "Dockerfile"), DOCKERFILE);
  for (let i = 0; i < 50; i++) await fs.writeFile(path.join(ctx, "src", `f${i}.txt`), `file ${i}\n`.repeat(100));
  const bb = path.join(tmp, "busybox.tar");
  await pexec(process.execPath, ["--import", "tsx", "scripts/busybox-image.ts", bb], { cwd: repo });
  await pexec("bash", [path.join(shared, "bench/bench-env-dockerd.sh"), "start", refBase], { env: { ...process.env, METRICS_PORT: String(await freePort()) } });
  refUp = true;
  const daemons: [string, string][] = [["dockerd 20.10", `unix://${refBase}/dockerd/run/docker.sock`], ["berth", b.dockerHost]];
  for (const [, host] of daemons) await docker(host, ["load", "-i", bb]);
  const results: Record<string, { cold: number[]; warm: number[] }> = {};
  for (const [name] of daemons) results[name] = { cold: [], warm: [] };
  // Untimed first build on each: both daemons' caches and page caches start warm alike.
  for (const [, host] of daemons) await docker(host, ["build", "-q", "-t", "bench-build:1", ctx]);
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order so neither daemon always runs right after the other.
    for (const [name, host] of i % 2 === 0 ? daemons : [...daemons].reverse()) {
      results[name]!.cold.push(await docker(host, ["build", "-q", "--no-cache", "-t", "bench-build:1", ctx]));
      results[name]!.warm.push(await docker(host, ["build", "-q", "-t", "bench-build:1", ctx]));
    }
  }
  const rows = Object.entries(results).map(([name, r]) => ({ name, cold: summarize(r.cold).p50, warm: summarize(r.warm).p50 }));
  const ref = rows.find((r) => r.name.startsWith("dockerd"))!;
  console.log(`classic build, median of ${RUNS} (docker CLI wall time, ms)`);
  console.log("daemon            cold      warm    cold/dockerd  warm/dockerd");
  for (const r of rows) {
    console.log(`${r.name.padEnd(14)} ${r.cold.toFixed(0).padStart(7)} ${r.warm.toFixed(0).padStart(9)} ${(r.cold / ref.cold).toFixed(2).padStart(12)}× ${(r.warm / ref.warm).toFixed(2).padStart(12)}×`);
  }
  await fs.mkdir(path.join(repo, "bench/results"), { recursive: true });
  await fs.writeFile(path.join(repo, "bench/results/build.json"), JSON.stringify({ date: new Date().toISOString(), runs: RUNS, results, rows }, null, 2) + "\n");
} finally {
  if (refUp) await pexec("bash", [path.join(shared, "bench/bench-env-dockerd.sh"), "stop", refBase]).catch(() => {});
  await b.destroy();
  await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
}
