// The real docker CLI and loopback HTTP for end-to-end tests.
import { spawn } from "node:child_process";
import net from "node:net";

export const DOCKER = process.env.DOCKER ?? "/usr/local/bin/docker";

export interface DockerOut { code: number; stdout: string; stderr: string }

/** Runs `docker ARGS` against `host`, with `input` on stdin; rejects after 30 s. */
export function runDocker(host: string, args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<DockerOut> {
  return new Promise((resolve, reject) => {
    const p = spawn(DOCKER, args, { env: { ...process.env, DOCKER_HOST: host, ...o.env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const t = setTimeout(() => { p.kill("SIGKILL"); reject(new Error(`docker ${args.join(" ")} timed out: ${stdout} ${stderr}`)); }, 30_000);
    p.on("error", reject);
    p.on("close", (code) => { clearTimeout(t); resolve({ code: code ?? -1, stdout, stderr }); });
    p.stdin.on("error", () => {}); // a command that exits before reading stdin (EPIPE)
    p.stdin.end(o.input ?? "");
  });
}

/** A TCP port free on 127.0.0.1 right now. */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** GET a loopback URL, retrying while the server in the container starts. */
export async function fetchText(url: string, ms = 8000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      return await r.text();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
