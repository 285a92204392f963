// npm run bench:client — latency of the typed containerd client against a private containerd:
// Version over 1,000 sequential calls, and a whole create → task create → start → wait →
// delete cycle of `true` over 50 runs. Prints p50/p99; writes bench/results/client.json.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startContainerdProcess } from "../src/daemon/containerd-process.js";
import { createContainerdClient } from "../src/containerd/index.js";
import { makeBusyboxRootfs } from "../src/images/busybox-rootfs.js";
import { summarize, ms } from "./stats.js";

const VERSION_CALLS = Number(process.env.VERSION_CALLS ?? 1000);
const CYCLES = Number(process.env.CYCLES ?? 50);

const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-bench-"));
const ctd = await startContainerdProcess({ dir: path.join(dir, "ctd") });
const ns = "berth-bench";
const client = createContainerdClient({ address: ctd.address, namespace: ns });
try {
  const rootfs = await makeBusyboxRootfs(path.join(dir, "rootfs"));
  for (let i = 0; i < 50; i++) await client.version.version(); // warm-up
  const v: number[] = [];
  for (let i = 0; i < VERSION_CALLS; i++) {
    const t0 = performance.now();
    await client.version.version();
    v.push(performance.now() - t0);
  }
  const cycle: number[] = [];
  const steps: Record<string, number[]> = {};
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    (steps[name] ??= []).push(performance.now() - t0);
    return r;
  };
  for (let i = 0; i < CYCLES + 2; i++) {
    const id = `cycle-${i}`;
    const t0 = performance.now();
    await step("containers.create", () => client.containers.create({
      id, runtime: { name: "io.containerd.runc.v2" },
      spec: {
        ociVersion: "1.0.2", process: { user: { uid: 0, gid: 0 }, args: ["true"], cwd: "/", env: ["PATH=/bin"] },
        root: { path: rootfs }, mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
        linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }, { type: "network" }], cgroupsPath: `/${ns}/${id}` },
      },
    }));
    await step("tasks.create", () => client.tasks.rpc.create({ containerId: id }));
    const waited = client.tasks.wait(id);
    await step("tasks.start", () => client.tasks.rpc.start({ containerId: id }));
    await step("tasks.wait", () => waited);
    await step("tasks.delete", () => client.tasks.rpc.delete({ containerId: id }));
    await step("containers.delete", () => client.containers.delete(id));
    if (i >= 2) cycle.push(performance.now() - t0); // the first two warm the shim binary's page cache
  }
  const V = summarize(v);
  const C = summarize(cycle);
  console.log(`machine: ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; containerd ${(await client.version.version()).version}`);
  console.log(`Version            n=${V.n}  p50 ${ms(V.p50)}  p99 ${ms(V.p99)}  (min ${ms(V.min)}, max ${ms(V.max)})`);
  console.log(`cycle of \`true\`    n=${C.n}  p50 ${ms(C.p50)}  p99 ${ms(C.p99)}  (min ${ms(C.min)}, max ${ms(C.max)})`);
  for (const [name, s] of Object.entries(steps)) console.log(`  ${name.padEnd(18)} p50 ${ms(summarize(s).p50)}`);
  await fs.mkdir("bench/results", { recursive: true });
  await fs.writeFile("bench/results/client.json", JSON.stringify({
    date: new Date().toISOString(), loadavg: os.loadavg(), version: V, cycle: C,
    steps: Object.fromEntries(Object.entries(steps).map(([k, s]) => [k, summarize(s)])),
  }, null, 2));
} finally {
  await client.close();
  await ctd.stop();
  await fs.rm(dir, { recursive: true, force: true });
}
