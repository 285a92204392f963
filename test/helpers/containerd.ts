// Test harness: a private containerd per test file (temp root, state and socket, metrics on a
// free loopback port, its own namespace), stopped by PID at the end with nothing left behind.
// It never touches a system containerd or /run/containerd/containerd.sock.
import { HOST_CGROUP_VERSION } from "./cgroups.js";
import fs from "node:fs/promises";
import { readFileSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { createContainerdClient, type ContainerdClient } from "../../src/containerd/client.js";
import { isNotFound } from "../../src/base/errors.js";
import {
  fetchGrpcStarted,
  startContainerdProcess,
  type ContainerdProcess,
} from "../../src/daemon/containerd-process.js";

export interface TestContainerd {
  /** The current containerd process (replaced by restart()). */
  readonly proc: ContainerdProcess;
  readonly dir: string;
  readonly address: string;
  readonly namespace: string;
  /** A client in the harness's namespace, with its own RPC counter. */
  readonly client: ContainerdClient;
  /** containerd's own started-call counts (grpc_server_started_total). */
  serverCalls(): Promise<Record<string, number>>;
  /** Lists what exists in the namespace: containers, tasks, snapshots (overlayfs), leases. */
  leftovers(): Promise<{ containers: string[]; tasks: string[]; snapshots: string[]; leases: string[] }>;
  /** Stops containerd (SIGTERM; shims keep running) and returns a function that starts it again. */
  stopContainerd(): Promise<() => Promise<void>>;
  /** Kills and deletes everything in the namespace, then stops containerd and removes the dir. */
  stop(): Promise<void>;
}

const live = new Set<number>();
process.once("exit", () => {
  // Last resort if a test process ends without stop(): our containerds only, by PID.
  for (const pid of live) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
});

export async function startTestContainerd(label = "t"): Promise<TestContainerd> {
  const id = randomBytes(4).toString("hex");
  // Short path: the shim's socket paths must fit in sun_path (108 bytes).
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `bctd-${label}-`));
  const namespace = `berth-test-${id}`;
  let proc = await startContainerdProcess({ dir });
  live.add(proc.pid);
  const client = createContainerdClient({ address: proc.address, namespace });

  async function leftovers() {
    const containers = (await client.containers.list()).map((c) => c.id);
    const tasks = (await client.tasks.rpc.list({})).tasks.map((t) => t.id);
    const snapshots: string[] = [];
    for await (const r of client.snapshots.rpc.list({ snapshotter: "overlayfs" })) snapshots.push(...r.info.map((i) => i.name));
    const leases = (await client.leases.rpc.list({})).leases.map((l) => l.id);
    return { containers, tasks, snapshots, leases };
  }

  async function cleanNamespace() {
    const tasks = (await client.tasks.rpc.list({})).tasks;
    for (const t of tasks) {
      try { await client.tasks.rpc.kill({ containerId: t.id, signal: 9, all: true }); } catch { /* stopped */ }
    }
    for (const t of tasks) {
      try { await client.tasks.wait(t.id, "", { timeoutMs: 5000 }); } catch { /* gone */ }
      try { await client.tasks.rpc.delete({ containerId: t.id }); } catch (e) { if (!isNotFound(e)) throw e; }
    }
    for (const c of await client.containers.list()) await client.containers.delete(c.id).catch(() => {});
    const snaps: { name: string; parent: string }[] = [];
    for await (const r of client.snapshots.rpc.list({ snapshotter: "overlayfs" })) snaps.push(...r.info);
    // Children before parents.
    for (let pass = 0; pass < 10 && snaps.length > 0; pass++) {
      const parents = new Set(snaps.map((s) => s.parent));
      for (const s of snaps.filter((x) => !parents.has(x.name))) {
        await client.snapshots.rpc.remove({ snapshotter: "overlayfs", key: s.name }).catch(() => {});
        snaps.splice(snaps.indexOf(s), 1);
      }
    }
    for (const l of (await client.leases.rpc.list({})).leases) await client.leases.rpc.delete({ id: l.id, sync: true }).catch(() => {});
    for (const i of (await client.images.rpc.list({})).images) await client.images.rpc.delete({ name: i.name, sync: true }).catch(() => {});
  }

  return {
    get proc() { return proc; },
    dir, address: proc.address, namespace, client,
    serverCalls: () => fetchGrpcStarted(proc.metricsAddress),
    leftovers,
    async stopContainerd() {
      await proc.stop(5000);
      live.delete(proc.pid);
      return async () => {
        proc = await startContainerdProcess({ dir, metricsAddress: proc.metricsAddress });
        live.add(proc.pid);
      };
    },
    async stop() {
      try { await cleanNamespace(); } catch { /* containerd may be down in a failure test */ }
      await client.close();
      await proc.stop(5000);
      live.delete(proc.pid);
      killShimsOf(proc.address);
      unmountUnder(dir);
      cleanHostDirs(namespace);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Shims this containerd started (their -address is our socket), by PID. */
export function killShimsOf(address: string): number[] {
  const killed: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    let cmd: string;
    try { cmd = readFileSync(`/proc/${p}/cmdline`, "utf8"); } catch { continue; }
    const argv = cmd.split("\0");
    if (!argv[0]?.includes("containerd-shim")) continue;
    const i = argv.indexOf("-address");
    if (i >= 0 && argv[i + 1] === address) {
      try { process.kill(Number(p), "SIGKILL"); killed.push(Number(p)); } catch { /* gone */ }
    }
  }
  return killed;
}

function unmountUnder(dir: string): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n")
    .map((l) => l.split(" ")[4]).filter((m): m is string => !!m && m.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try { execFileSync("umount", ["-l", m], { stdio: "ignore" }); } catch { /* already gone */ }
  }
}

/**
 * Processes still in the namespace's cgroups: containers whose shim is gone (a created task's
 * `runc init` outlives a killed shim). They were started by this test's containerd, so they are
 * ours to end, by PID.
 */
export function killCgroupProcs(namespace: string): number[] {
  const killed: number[] = [];
  const walk = (dir: string) => {
    let entries: import("node:fs").Dirent[] = [];
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
    let procs = "";
    try { procs = readFileSync(path.join(dir, "cgroup.procs"), "utf8"); } catch { return; }
    for (const pid of procs.split("\n").filter(Boolean).map(Number)) {
      try { process.kill(pid, "SIGKILL"); killed.push(pid); } catch { /* gone */ }
    }
  };
  // v1: the pids hierarchy lists every task; v2: the one unified hierarchy.
  walk(HOST_CGROUP_VERSION === 1 ? `/sys/fs/cgroup/pids/${namespace}` : `/sys/fs/cgroup/${namespace}`);
  return killed;
}

/** runc's per-namespace root and the cgroup dirs that `/<ns>/<id>` cgroupsPaths leave behind. */
export function cleanHostDirs(namespace: string): void {
  // A killed process leaves its cgroup as it exits: a moment later the dirs can go.
  if (killCgroupProcs(namespace).length > 0) execFileSync("sleep", ["0.3"]);
  rmSync(`/run/containerd/runc/${namespace}`, { recursive: true, force: true });
  let controllers: string[] = [];
  // v2 has one hierarchy: the namespace's directory is right under the mount.
  if (HOST_CGROUP_VERSION === 2) controllers = [""];
  else try { controllers = readdirSync("/sys/fs/cgroup"); } catch { return; }
  for (const c of controllers) {
    const base = c ? `/sys/fs/cgroup/${c}` : "/sys/fs/cgroup";
    try { if (readlinkSync(base)) continue; } catch { /* not a link: a real hierarchy */ }
    const nsDir = path.join(base, namespace);
    let children: string[] = [];
    try { children = readdirSync(nsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name); } catch { continue; }
    try { execFileSync("rmdir", [...children.map((ch) => path.join(nsDir, ch)), nsDir], { stdio: "ignore" }); } catch { /* busy or gone */ }
  }
}
