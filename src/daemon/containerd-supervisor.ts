import diagnosticsChannel from "node:diagnostics_channel";
import fs from "node:fs/promises";
import { readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startContainerdProcess, type ContainerdProcess } from "./containerd-process.js";

/** Published on every supervisor state change: `{ state, pid?, restarts, error? }`. */
export const supervisorChannel = diagnosticsChannel.channel("berth:containerd:supervisor");

export interface SupervisorOptions {
  /** Holds containerd's root, state, socket, config and pid file. */
  dir: string;
  binary?: string;
  /** Restart backoff bounds (ms): 100 doubling to 10 s; reset after 30 s of uptime. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface ContainerdSupervisor {
  readonly address: string;
  readonly stateDir: string;
  readonly metricsAddress: string;
  readonly pid: number;
  readonly restarts: number;
  /** Stops supervising and ends containerd (SIGTERM, SIGKILL after 10 s). Shims keep running. */
  stop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isOurs(pid: number, configPath: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(configPath);
  } catch {
    return false;
  }
}

/**
 * berthd's embedded containerd: started with a generated config under berthd's root, restarted
 * with backoff when it dies, stopped on shutdown. A containerd left running by an earlier berthd
 * (killed with SIGKILL) is adopted through its pid file, so its shims and containers go on.
 */
export async function superviseContainerd(o: SupervisorOptions): Promise<ContainerdSupervisor> {
  const dir = path.resolve(o.dir);
  const pidFile = path.join(dir, "containerd.pid");
  const configPath = path.join(dir, "config.toml");
  const minBackoff = o.minBackoffMs ?? 100;
  const maxBackoff = o.maxBackoffMs ?? 10_000;
  let stopped = false;
  let restarts = 0;
  let current: { pid: number; address: string; state: string; metricsAddress: string; exited: Promise<unknown>; stop: (grace?: number) => Promise<void> };

  const adopted = await adopt();
  current = adopted ?? wrap(await start());

  async function start(): Promise<ContainerdProcess> {
    const metricsAddress = await readMetricsAddress();
    const p = await startContainerdProcess({ dir, ...(o.binary ? { binary: o.binary } : {}), ...(metricsAddress ? { metricsAddress } : {}) });
    await fs.writeFile(pidFile, `${p.pid}\n`);
    supervisorChannel.publish({ state: "started", pid: p.pid, restarts });
    return p;
  }

  function wrap(p: ContainerdProcess) {
    return { pid: p.pid, address: p.address, state: p.state, metricsAddress: p.metricsAddress, exited: p.exited, stop: (g?: number) => p.stop(g) };
  }

  /** Metrics stay on the same port across restarts (scrapers keep their target). */
  async function readMetricsAddress(): Promise<string | undefined> {
    const text = await fs.readFile(configPath, "utf8").catch(() => "");
    return /\[metrics\][^[]*address = "([^"]+)"/.exec(text)?.[1];
  }

  async function adopt() {
    const pid = Number((await fs.readFile(pidFile, "utf8").catch(() => "")).trim());
    if (!pid || !alive(pid) || !isOurs(pid, configPath)) return undefined;
    const metricsAddress = (await readMetricsAddress()) ?? "";
    const exited = (async () => { while (alive(pid)) await sleep(250); })();
    supervisorChannel.publish({ state: "adopted", pid, restarts });
    return {
      pid, address: path.join(dir, "containerd.sock"), state: path.join(dir, "state"), metricsAddress, exited,
      async stop(grace = 10_000) {
        try { process.kill(pid, "SIGTERM"); } catch { return; }
        const t = setTimeout(() => { try { process.kill(pid, "SIGKILL"); } catch { /* gone */ } }, grace);
        await exited;
        clearTimeout(t);
      },
    };
  }

  const loop = (async () => {
    let backoff = minBackoff;
    for (;;) {
      const startedAt = Date.now();
      await current.exited;
      if (stopped) return;
      supervisorChannel.publish({ state: "exited", pid: current.pid, restarts });
      if (Date.now() - startedAt > 30_000) backoff = minBackoff;
      for (;;) {
        await sleep(backoff);
        backoff = Math.min(backoff * 2, maxBackoff);
        if (stopped) return;
        try {
          current = wrap(await start());
          restarts++;
          break;
        } catch (error) {
          supervisorChannel.publish({ state: "restart-failed", restarts, error });
        }
      }
    }
  })();

  return {
    get address() { return current.address; },
    get stateDir() { return current.state; },
    get metricsAddress() { return current.metricsAddress; },
    get pid() { return current.pid; },
    get restarts() { return restarts; },
    async stop() {
      stopped = true;
      await current.stop(10_000);
      await loop;
      await fs.rm(pidFile, { force: true });
    },
  };
}
