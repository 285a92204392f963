/**
 * Runs short-lived commands (CNI plugins, ip, iptables, umount...) through one long-lived `sh`
 * child instead of forking berthd for each: fork() copies the page tables of the whole process on
 * the event loop's thread (~4 ms at 50 MB of RSS, ~15 ms at 150 MB, more under load), and every
 * page berthd then writes takes a copy-on-write fault until the child has exec'd. A fork of a
 * 1 MB shell costs next to nothing.
 *
 * Protocol: berthd writes `<dir>/<n>.sh` (`export` of the command's whole environment, quoted for
 * sh, then `exec` of the command) and `<dir>/<n>.in` (its stdin), then the line `<n>` to the
 * helper's stdin. The helper, started with an empty environment, sources each request in a
 * subshell of a background job, with stdin, stdout and stderr on `<n>.in`, `<n>.out` and `<n>.err`,
 * so a command costs two forks of the small shell and one exec, no shell start-up. It answers
 * `p <n> <job pid>` at once and `<n> <exit status>` when the command ends (short lines: single
 * atomic pipe writes). A cancelled request's command (the job's child) is SIGKILLed.
 * `<dir>` is private to this process (mode 0700) and the helper removes it when its stdin closes
 * (berthd exits).
 *
 * dash keeps a little memory per background job it ran (~40 bytes), so after RECYCLE_AFTER
 * requests a new helper takes over and the old one is let go (its stdin closed) once its last
 * request is read.
 *
 * If the helper cannot be started, or dies, commands fall back to child_process.spawn.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

export interface LaunchOptions {
  /** The command's whole environment (nothing is inherited). */
  env: Record<string, string | undefined>;
  stdin?: string;
  signal?: AbortSignal;
}

export interface LaunchResult {
  /** Exit status; 128 + N when a signal N ended it. */
  code: number;
  stdout: string;
  stderr: string;
}

/** An error before the command ran: its file was not found (ENOENT), or the launch failed. */
export class LaunchError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

const HELPER = [
  'cd "$1" || exit 1',
  'unset OLDPWD PWD',
  'while IFS= read -r n; do',
  '  { ( . "./$n.sh" ) <"./$n.in" >"./$n.out" 2>"./$n.err"; echo "$n $?"; } &',
  '  echo "p $n $!"',
  'done',
  'wait',
  'cd / && rm -rf "$1"',
].join("\n");

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Pending { resolve: (code: number) => void; reject: (e: unknown) => void; job?: number }

let recycleAfter = 10_000;
/** For tests: how many requests one helper serves before a new one takes over. */
export function setLauncherRecycle(n: number): void {
  recycleAfter = n;
}

class Helper {
  readonly dir: string;
  readonly child: ChildProcess;
  readonly pending = new Map<number, Pending>();
  #next = 0;
  #inFlight = 0;
  #retiring = false;
  dead = false;

  get served(): number {
    return this.#next;
  }

  /** Closes the helper's stdin once no request is in flight: it then waits and removes its directory. */
  retire(): void {
    this.#retiring = true;
    if (this.#inFlight === 0) this.child.stdin!.end();
  }

  constructor() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), "berth-launch-"));
    this.child = spawn("/bin/sh", ["-c", HELPER, "sh", this.dir], { stdio: ["pipe", "pipe", "ignore"], env: {} });
    this.child.unref();
    this.#idle();
    this.child.stdin!.on("error", () => this.#die(new Error("the launcher's stdin failed")));
    createInterface({ input: this.child.stdout! }).on("line", (l) => {
      const f = l.split(" ");
      if (f[0] === "p") {
        const p = this.pending.get(Number(f[1]));
        if (p) p.job = Number(f[2]);
        return;
      }
      const [n, code] = f;
      const p = this.pending.get(Number(n));
      if (!p) return;
      this.pending.delete(Number(n));
      if (this.pending.size === 0) this.#idle();
      p.resolve(Number(code));
    });
    this.child.on("error", (e) => this.#die(e));
    this.child.on("exit", () => this.#die(new Error("the launcher exited")));
  }

  /** Neither the helper nor its pipes keep berthd's event loop alive while nothing is pending. */
  #idle(): void {
    (this.child.stdout as unknown as { unref?: () => void }).unref?.();
    (this.child.stdin as unknown as { unref?: () => void }).unref?.();
  }

  #die(e: unknown): void {
    if (this.dead) return;
    this.dead = true;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    try { rmSync(this.dir, { recursive: true, force: true }); } catch { /* the helper's own cleanup */ }
  }

  async run(file: string, args: readonly string[], o: LaunchOptions): Promise<LaunchResult> {
    const n = this.#next++;
    this.#inFlight++;
    const base = path.join(this.dir, String(n));
    const env = Object.entries(o.env).filter(([k, v]) => v !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)).map(([k, v]) => `export ${q(`${k}=${v}`)}\n`);
    const script = `${env.join("")}exec ${[file, ...args].map(q).join(" ")}\n`;
    const files = [".sh", ".in", ".out", ".err"].map((x) => base + x);
    try {
      await Promise.all([writeFile(`${base}.sh`, script, { mode: 0o600 }), writeFile(`${base}.in`, o.stdin ?? "", { mode: 0o600 })]);
      const done = new Promise<number>((resolve, reject) => this.pending.set(n, { resolve, reject }));
      (this.child.stdout as unknown as { ref?: () => void }).ref?.();
      this.child.stdin!.write(`${n}\n`);
      const onAbort = () => {
        // The command is the job's only child (the subshell that exec'd it).
        const job = this.pending.get(n)?.job;
        if (job) {
          void readFile(`/proc/${job}/task/${job}/children`, "utf8").then((pids) => {
            for (const pid of pids.trim().split(/\s+/).filter(Boolean)) {
              try { process.kill(Number(pid), "SIGKILL"); } catch { /* gone */ }
            }
          }, () => {});
        }
      };
      o.signal?.addEventListener("abort", onAbort, { once: true });
      let code: number;
      try {
        code = await done;
      } finally {
        o.signal?.removeEventListener("abort", onAbort);
      }
      o.signal?.throwIfAborted();
      const [stdout, stderr] = await Promise.all([readFile(`${base}.out`, "utf8"), readFile(`${base}.err`, "utf8")]);
      if (code === 127 && /exec: .*not found/.test(stderr)) throw new LaunchError(`${file}: not found`, "ENOENT");
      return { code, stdout, stderr };
    } finally {
      await Promise.all(files.map((f) => unlink(f).catch(() => {})));
      if (--this.#inFlight === 0 && this.#retiring) this.child.stdin!.end();
    }
  }
}

let helper: Helper | undefined;
let unavailable = false;

function direct(file: string, args: readonly string[], o: LaunchOptions): Promise<LaunchResult> {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(o.env).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const child = spawn(file, [...args], { env, stdio: ["pipe", "pipe", "pipe"], ...(o.signal ? { signal: o.signal } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e: NodeJS.ErrnoException) => reject(e.code === "ENOENT" ? new LaunchError(`${file}: not found`, "ENOENT") : e));
    child.on("close", (code, sig) => {
      if (o.signal?.aborted) return reject(o.signal.reason);
      resolve({ code: code ?? (sig ? 128 + (os.constants.signals[sig] ?? 0) : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(o.stdin ?? "");
  });
}

/** Runs `file` with `args`, the environment `o.env` only and `o.stdin`; resolves with its exit status and output. */
export async function launch(file: string, args: readonly string[], o: LaunchOptions): Promise<LaunchResult> {
  o.signal?.throwIfAborted();
  if (helper && !helper.dead && helper.served >= recycleAfter) {
    helper.retire();
    helper = undefined;
  }
  if (!unavailable && (!helper || helper.dead)) {
    try {
      helper = new Helper();
    } catch {
      unavailable = true;
    }
  }
  if (unavailable || !helper) return direct(file, args, o);
  return helper.run(file, args, o);
}

/** The helper's PID (for tests and benchmarks), if one runs. */
export function launcherPid(): number | undefined {
  return helper && !helper.dead ? helper.child.pid : undefined;
}
