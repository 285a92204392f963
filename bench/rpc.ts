// npm run bench:rpc — every operation of the RPC floor (../shared/reference/rpc-floor.md), run
// through libcontainerd against a private containerd, counted by containerd itself
// (grpc_server_started_total) and by berth's client. Prints a table and writes
// bench/results/rpc.json as [{ operation, rpcs, budget, calls }].
// `npm run bench:rpc -- --shim-group-size N`: the containers share runc v2 shims, N to a shim (the
// spec annotation berthd's --shim-group-size sets); the counts must be those of a shim each.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fetchGrpcStarted, startContainerdProcess } from "../src/daemon/containerd-process.js";
import { createContainerdClient, totalCalls, type Spec } from "../src/containerd/index.js";
import { createClient, type Backend, type Container, type ProcessStreams } from "../src/libcontainerd/index.js";
import { makeBusyboxRootfs } from "../src/images/busybox-rootfs.js";
import { buildBusyboxImage, createImageService } from "../src/images/index.js";
import { RootfsViews } from "../src/daemon/rootfs-view.js";
import { overlayDirs } from "../src/base/overlay-mount.js";
import { overlayChanges } from "../src/daemon/rootfs-changes.js";
import { exportRootfs } from "../src/daemon/rootfs-export.js";
import { Readable } from "node:stream";
import { SHIM_GROUP_KEY } from "../src/daemon/shim-groups.js";

const groupArg = process.argv.indexOf("--shim-group-size");
const shimGroupSize = groupArg >= 0 ? Number(process.argv[groupArg + 1]) : 1;
if (!Number.isInteger(shimGroupSize) || shimGroupSize < 1) throw new Error(`--shim-group-size: a positive integer is expected`);

interface Row { operation: string; rpcs: number; budget: number; dockerd: string; mobyAfter: string; calls: Record<string, number>; clientCalls: Record<string, number>; note?: string }

const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-rpc-"));
const ctd = await startContainerdProcess({ dir: path.join(dir, "ctd") });
const ns = "berth-rpcbench";
const raw = createContainerdClient({ address: ctd.address, namespace: ns });
const exits = new Map<string, (code: number) => void>();
const backend: Backend = {
  async processEvent(id, type, info) {
    // The monitor's whole job on an exit, as the engine does it: reap the task.
    if (type === "exit" && info.processId === id) exits.get(id)?.(info.exitCode);
  },
};
const client = await createClient({ containerd: raw, stateDir: path.join(dir, "fifos"), backend });
const rows: Row[] = [];
let n = 0;
try {
  const rootfs = await makeBusyboxRootfs(path.join(dir, "rootfs"));
  while (!client.eventsLive) await sleep(10);
  await sleep(100);
  const spec = (id: string, args: string[]): Spec => ({
    ociVersion: "1.0.2",
    process: { user: { uid: 0, gid: 0 }, args, cwd: "/", env: ["PATH=/bin"], terminal: false },
    root: { path: rootfs },
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs" },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
    ],
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }, { type: "network" }], cgroupsPath: `/${ns}/${id}` },
    // Containers c1..cN share the first shim, the next N the second, ... (ids are c<number>).
    ...(shimGroupSize > 1 ? { annotations: { [SHIM_GROUP_KEY]: `rpcbench-${Math.floor((Number(id.slice(1)) - 1) / shimGroupSize)}` } } : {}),
  });
  const attach = (io: ProcessStreams) => { io.stdout?.resume(); io.stderr?.resume(); };
  const exitOf = (id: string) => new Promise<number>((r) => exits.set(id, r));
  const newId = () => `c${++n}`;
  const running = async () => {
    const id = newId();
    const c = await client.newContainer(id, { spec: spec(id, ["sleep", "1000"]) });
    const t = await c.start({ attachStdio: attach });
    return { id, c, t };
  };
  const cleanup = async (c: Container) => {
    const t = await c.task().catch(() => undefined);
    if (t) await t.forceDelete().catch(() => {});
    await c.delete().catch(() => {});
  };

  async function measure(operation: string, budget: number, dockerd: string, mobyAfter: string, fn: () => Promise<void>, note?: string) {
    await client.idle();
    const s0 = await fetchGrpcStarted(ctd.metricsAddress);
    const c0 = raw.counter.snapshot();
    await fn();
    await client.idle();
    const s1 = await fetchGrpcStarted(ctd.metricsAddress);
    const calls: Record<string, number> = {};
    for (const [k, v] of Object.entries(s1)) if (v - (s0[k] ?? 0) > 0) calls[k] = v - (s0[k] ?? 0);
    const clientCalls = raw.counter.since(c0);
    rows.push({ operation, rpcs: totalCalls(calls), budget, dockerd, mobyAfter, calls, clientCalls, ...(note ? { note } : {}) });
  }

  // create / start / run -d
  {
    const id = newId();
    let c!: Container;
    await measure("create (directory rootfs)", 1, "0", "0", async () => { c = await client.newContainer(id, { spec: spec(id, ["sleep", "1000"]) }); },
      "budget 2 with an image snapshot (Snapshots/Prepare); the directory rootfs drops it");
    await measure("start", 2, "9", "3 (+lease 2)", async () => { await c.start({ attachStdio: attach }); });
    await cleanup(c);
    const id2 = newId();
    let c2!: Container;
    await measure("run -d (directory rootfs)", 3, "9", "5", async () => {
      c2 = await client.newContainer(id2, { spec: spec(id2, ["sleep", "1000"]) });
      await c2.start({ attachStdio: attach });
    }, "budget 4 with an image snapshot");
    await cleanup(c2);
  }
  // exec
  {
    const { c, t } = await running();
    await measure("exec (until its exit is processed)", 3, "14", "3–4", async () => {
      const p = await t.exec("e1", { args: ["true"], cwd: "/", user: { uid: 0, gid: 0 }, env: ["PATH=/bin"] }, { attachStdio: attach });
      await p.exited;
      await p.delete();
    });
    await measure("health probe (exec based)", 3, "~14", "5", async () => {
      const p = await t.exec("probe", { args: ["sh", "-c", "exit 0"], cwd: "/", user: { uid: 0, gid: 0 }, env: ["PATH=/bin"] }, { attachStdio: attach });
      await p.exited;
      await p.delete();
    });
    await measure("pause", 1, "3", "1", () => t.pause());
    await measure("unpause", 1, "3", "1", () => t.resume());
    await measure("top", 1, "3", "1", async () => { await t.pids(); });
    await measure("stats --no-stream", 1, "6", "2", async () => { await t.stats(); });
    await measure("update --memory", 2, "3", "1", async () => {
      const s = structuredClone(c.spec);
      s.linux = { ...s.linux, resources: { ...s.linux?.resources, memory: { limit: 256 * 1024 * 1024 } } };
      await t.updateResources(s.linux.resources!);
      await c.updateSpec(s);
    });
    await measure("inspect / ps -a / logs", 0, "0", "0", async () => { void c.spec; void t.pid; });
    await cleanup(c);
  }
  // resize and stdin close
  {
    const id = newId();
    const s = spec(id, ["sh", "-c", "read x; sleep 1000"]);
    s.process!.terminal = true;
    const c = await client.newContainer(id, { spec: s });
    const t = await c.start({ terminal: true, withStdin: true, attachStdio: attach });
    await measure("resize", 1, "3", "1", () => t.resize(100, 30));
    await measure("stdin close", 1, "3", "1", () => t.closeStdin());
    await cleanup(c);
  }
  // kill, stop, exit on its own, rm, rm -f, restart
  {
    const { id, c, t } = await running();
    await measure("kill (until the exit is processed)", 2, "12", "~6", async () => {
      const exited = exitOf(id);
      await t.kill(9);
      await exited;
      await t.delete();
    });
    await measure("rm of a stopped container (directory rootfs)", 1, "(in exit)", "3", () => c.delete(), "budget 2 with an image snapshot (Snapshots/Remove)");
  }
  {
    const { id, c, t } = await running();
    await measure("stop -t 1 (SIGTERM ignored)", 3, "15", "~7", async () => {
      const exited = exitOf(id);
      await t.kill(15);
      const timedOut = await Promise.race([exited.then(() => false), sleep(1000).then(() => true)]);
      if (timedOut) await t.kill(9);
      await exited;
      await t.delete();
    });
    await c.delete();
  }
  {
    const id = newId();
    const c = await client.newContainer(id, { spec: spec(id, ["sh", "-c", "sleep 0.3"]) });
    const t = await c.start({ attachStdio: attach });
    await measure("exit on its own (processing)", 1, "9", "5", async () => {
      await exitOf(id);
      await t.delete();
    });
    await c.delete();
  }
  {
    const { c, t } = await running();
    await measure("rm -f of a running container (directory rootfs)", 3, "12", "~8", async () => {
      await t.forceDelete();
      await c.delete();
    }, "budget 4 with an image snapshot");
  }
  {
    const id = newId();
    await measure("run --rm IMG true, whole life (directory rootfs)", 5, "18", "~11", async () => {
      const c = await client.newContainer(id, { spec: spec(id, ["true"]) });
      const exited = exitOf(id);
      const t = await c.start({ attachStdio: attach });
      await exited;
      await t.delete();
      await c.delete();
    }, "budget 7 with an image snapshot");
  }
  {
    const { id, c, t } = await running();
    await measure("restart -t 1", 5, "24", "~12", async () => {
      const exited = exitOf(id);
      await t.kill(15);
      if (await Promise.race([exited.then(() => false), sleep(1000).then(() => true)])) await t.kill(9);
      await exited;
      await t.delete();
      await c.start({ attachStdio: attach });
    });
    await cleanup(c);
  }
  // stats of all, daemon restart, event stream regained
  {
    const many = await Promise.all(Array.from({ length: 5 }, () => running()));
    await measure("stats of all containers, per tick (5 running)", 1, "2 × N", "N", async () => {
      const m = await raw.tasks.metricsV1(many.map((x) => `id==${x.id}`));
      if (m.size !== many.length) throw new Error(`metrics for ${m.size} of ${many.length}`);
    });
    await measure("daemon restart, N containers (5 running)", 2, "3–10 × N", "3–8 × N", async () => {
      const other = await createClient({ containerd: raw, stateDir: path.join(dir, "fifos") });
      const all = await other.loadAll();
      for (const l of all) await l.container.attachTask({ attachStdio: attach });
      await other.close();
    });
    await measure("event stream lost and regained", 1, "0 (exits lost)", "0 (exits lost)", async () => {
      // Simulated: what the client does after resubscribing is ONE Tasks/List.
      await raw.tasks.rpc.list({});
    }, "the real reconnect is tested in test/integration/libcontainerd-restart.test.ts");
    for (const m of many) await cleanup(m.c);
  }

  // A container's filesystem (a busybox image snapshot): cp/export through a view, diff, commit.
  {
    const images = createImageService({ containerd: raw });
    const image = (await images.load(Readable.from([await buildBusyboxImage()]))).images[0]!.id;
    const rootfs = await images.prepareRootfs("fs1", image);
    const views = new RootfsViews({ dir: path.join(dir, "views") });
    const source = { kind: "snapshot" as const, mounts: rootfs.mounts };
    await measure("cp into a stopped container (snapshot mounted by berthd)", 0, "0", "-", async () => {
      await views.use("fs1", source, (root) => fs.writeFile(path.join(root, "x"), "x\n"));
    }, "the mounts come from the container's record");
    await measure("export of a stopped container", 0, "0", "-", async () => {
      const v = await views.open("fs1", source);
      for await (const _ of exportRootfs(v.root)) { /* drain */ }
      await v.release();
    });
    await measure("diff (changes)", 0, "0", "-", async () => {
      const d = overlayDirs(rootfs.mounts[0]!);
      await overlayChanges({ upper: d.upper!, lowers: d.lowers });
    }, "read from the snapshot's directories");
    const containerConfig = { Cmd: ["sh"] };
    await measure("commit of a stopped container", 9, "0 (graph driver)", "-", async () => {
      await images.commit({ image, mounts: rootfs.mounts, containerId: "fs1", containerConfig, reference: "bench/commit:1" });
    }, "a running one adds Tasks/Pause and Tasks/Resume (dockerd: 6)");
    const fresh = await images.prepareRootfs("fs2", image);
    let dangling = "";
    await measure("commit without changes", 6, "0 (graph driver)", "-", async () => {
      dangling = (await images.commit({ image, mounts: fresh.mounts, containerId: "fs2", containerConfig })).id;
    });
    // container prune: per stopped container, its writable layer's size (then the usual rm).
    await measure("container prune, per stopped container (before its rm)", 1, "-", "-", async () => {
      await images.rootfsUsage("fs1");
    }, "SpaceReclaimed: one Snapshots/Usage of the container's snapshot");
    for (const k of ["fs1", "fs2"]) await images.removeRootfs(k);
    // image prune: the image list is berth's own; each dangling image is an image rm.
    await measure("image prune (one dangling image)", 1, "-", "-", async () => {
      const list = await images.list();
      for (const i of list) if (i.id === dangling && i.repoTags.length === 0) await images.remove(i.id);
    }, "as docker rmi of that image");
  }

  console.log(`containerd ${(await raw.version.version()).version}; counts from containerd's grpc_server_started_total; ${shimGroupSize > 1 ? `shared shims, ${shimGroupSize} containers to a shim` : "a shim per container"}\n`);
  console.log("| operation | calls | budget | dockerd 20.10 | moby after | containerd calls |");
  console.log("|---|---|---|---|---|---|");
  let over = 0;
  for (const r of rows) {
    const mark = r.rpcs > r.budget ? " **OVER**" : "";
    if (r.rpcs > r.budget) over++;
    console.log(`| ${r.operation} | ${r.rpcs}${mark} | ${r.budget} | ${r.dockerd} | ${r.mobyAfter} | ${Object.entries(r.calls).map(([k, v]) => `${k}${v > 1 ? " ×" + v : ""}`).join(", ")} |`);
    if (JSON.stringify(r.calls) !== JSON.stringify(r.clientCalls)) {
      const sorted = (o: Record<string, number>) => JSON.stringify(Object.fromEntries(Object.entries(o).sort()));
      if (sorted(r.calls) !== sorted(r.clientCalls)) console.log(`|   ↳ client counted ${sorted(r.clientCalls)} | | | | | |`);
    }
  }
  console.log(`\n${rows.length} operations, ${over} over budget`);
  await fs.mkdir("bench/results", { recursive: true });
  await fs.writeFile(shimGroupSize > 1 ? `bench/results/rpc-shim-group-${shimGroupSize}.json` : "bench/results/rpc.json", JSON.stringify(rows.map((r) => ({ operation: r.operation, rpcs: r.rpcs, budget: r.budget, calls: r.calls, ...(r.note ? { note: r.note } : {}) })), null, 2) + "\n");
  if (over > 0) process.exitCode = 1;
} finally {
  await client.close();
  await ctd.stop();
  await fs.rm(dir, { recursive: true, force: true });
}
