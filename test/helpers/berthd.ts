// A berthd child process for end-to-end tests: its own root, socket and embedded containerd,
// stopped (or SIGKILLed) by PID, and everything it left removed at the end.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { randomBytes } from "node:crypto";
import { createContainerdClient, type ContainerdClient } from "../../src/containerd/index.js";
import { cleanHostDirs, killShimsOf } from "./containerd.js";
import { socketRequest } from "./socket-request.js";

const repo = new URL("../..", import.meta.url).pathname;

export interface Berthd {
  readonly dir: string;
  readonly root: string;
  readonly socket: string;
  readonly namespace: string;
  readonly pid: number;
  /** DOCKER_HOST for the docker CLI. */
  readonly dockerHost: string;
  readonly log: () => string;
  /** GET/POST on the API socket; resolves with status and body text. */
  request(method: string, p: string, body?: unknown): Promise<{ status: number; body: string }>;
  /** A containerd client on berthd's embedded containerd, in its namespace. */
  containerd(): ContainerdClient;
  /** SIGKILL berthd (its containerd and containers go on). */
  kill(): Promise<void>;
  /** Starts berthd again on the same root (after kill or stop). */
  restart(): Promise<void>;
  /** SIGTERM, wait. */
  stop(): Promise<void>;
  /** Stops berthd, its containerd and shims (by PID), unmounts and removes the directory. */
  destroy(): Promise<void>;
}

/** The command line that runs berthd: the compiled one when built (fast start), else tsx. */
/** node arguments for berthd; BERTHD_NODE_ARGS adds some (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"). */
export function berthdCommand(): string[] {
  const extra = (process.env.BERTHD_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
  const built = path.join(repo, "dist/cli/berthd.js");
  if (existsSync(built) && process.env.BERTH_TEST_TSX !== "1") return [...extra, built];
  return [...extra, "--import", "tsx", path.join(repo, "src/cli/berthd.ts")];
}

export async function startBerthd(o: { args?: string[]; label?: string; searchable?: boolean } = {}): Promise<Berthd> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `bbd-${o.label ?? "t"}-`));
  // --userns-remap needs every directory above the root searchable by others (as /var/lib is).
  if (o.searchable) await fs.chmod(dir, 0o711);
  const root = path.join(dir, "root");
  const socket = path.join(dir, "berth.sock");
  // Its own namespace: runc's root /run/containerd/runc/<ns> and the cgroups /<ns>/* are
  // shared by every containerd on the host.
  const namespace = `berth-t${randomBytes(3).toString("hex")}`;
  let child: ChildProcess | undefined;
  let logText = "";

  async function launch(): Promise<void> {
    // BERTHD_ARGS adds flags to every test berthd (before the test's own, which win): e.g.
    // BERTHD_ARGS="--shim-group-size 5" runs a compat suite with shared shims.
    const env = (process.env.BERTHD_ARGS ?? "").split(/\s+/).filter(Boolean);
    const args = [...berthdCommand(), "--root", root, "-H", `unix://${socket}`, "--containerd-namespace", namespace, "--bridge", "none", "-l", "info", ...env, ...(o.args ?? [])];
    child = spawn(process.execPath, args, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (b: Buffer) => (logText += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (logText += b.toString()));
    const exited = new Promise<number | null>((r) => child!.once("exit", (code) => r(code)));
    const end = Date.now() + 30_000;
    for (;;) {
      const up = await api.request("GET", "/_ping").then((r) => r.status === 200, () => false);
      if (up) return;
      const code = await Promise.race([exited, sleep(10).then(() => "running" as const)]);
      if (code !== "running") throw new Error(`berthd exited (${code}) during start-up:\n${logText.slice(-3000)}`);
      if (Date.now() > end) throw new Error(`berthd did not answer within 30 s:\n${logText.slice(-3000)}`);
    }
  }

  const api = {
    request(method: string, p: string, body?: unknown): Promise<{ status: number; body: string }> {
      return socketRequest(socket, method, p, body === undefined ? {} : { body: JSON.stringify(body) });
    },
  };

  await launch();
  const containerdPid = () => Number(readFileSync(path.join(root, "containerd", "containerd.pid"), "utf8").trim());
  const b: Berthd = {
    dir, root, socket, namespace,
    get pid() { return child?.pid ?? 0; },
    dockerHost: `unix://${socket}`,
    log: () => logText,
    request: api.request,
    containerd: () => createContainerdClient({ address: path.join(root, "containerd", "containerd.sock"), namespace }),
    async kill() {
      if (!child || child.exitCode !== null) return;
      const gone = new Promise((r) => child!.once("exit", r));
      child.kill("SIGKILL");
      await gone;
    },
    restart: launch,
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child?.kill("SIGKILL"), 15_000);
      await gone;
      clearTimeout(t);
    },
    async destroy() {
      // Remove what berthd made while it runs (containers, snapshots), then stop it.
      if (child && child.exitCode === null && child.signalCode === null) {
        const list = await api.request("GET", "/containers/json?all=1").catch(() => undefined);
        for (const c of list && list.status === 200 ? (JSON.parse(list.body) as { Id: string }[]) : []) {
          await api.request("DELETE", `/containers/${c.Id}?force=1&v=1`).catch(() => {});
        }
      }
      await b.stop();
      let pid = 0;
      try { pid = containerdPid(); } catch { /* never started */ }
      if (pid) {
        try { process.kill(pid, "SIGTERM"); } catch { /* gone */ }
        for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await sleep(100);
        try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
      }
      killShimsOf(path.join(root, "containerd", "containerd.sock"));
      const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4]).filter((m): m is string => !!m && m.startsWith(dir + "/")).sort((a, b2) => b2.length - a.length);
      const { execFileSync } = await import("node:child_process");
      for (const m of mounts) { try { execFileSync("umount", ["-l", m], { stdio: "ignore" }); } catch { /* gone */ } }
      await sleep(200);
      cleanHostDirs(namespace);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  return b;
}
