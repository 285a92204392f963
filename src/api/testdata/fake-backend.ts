// An in-memory stand-in for berth's engine and image service, implementing the API's narrow
// backend interfaces, for router tests. It simulates just enough process behaviour for the
// docker CLI's run/exec/logs flows: `echo ARGS` prints and exits 0, `fail CODE MSG` prints MSG on
// stderr and exits CODE, `cat` copies attached stdin to stdout and exits when stdin closes (with
// StdinOnce), anything else runs until stopped or killed.
import { randomBytes } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import tar from "tar-stream";
import { containerConfig, hostConfig, type Health } from "../../container/index.js";
import { BerthError, errConflict, errInvalidArgument, errNotFound } from "../../base/errors.js";
import type {
  AttachOptions,
  ContainerView,
  CreateOptions,
  EngineEvent,
  EventQuery,
  ExecCreateOptions,
  ExecStartOptions,
  ExecView,
  LogEntry,
  LogOptions,
  PathStat,
  StatsSample,
  StopOptions,
  UpdateOptions,
  WaitCondition,
  WaitResult,
} from "../../daemon/types.js";
import type {
  Backends,
  ContainerBackend,
  DiskUsage,
  ExecBackend,
  ImageBackend,
  ImageHistoryView,
  ImageInspectView,
  ImageProgress,
  SystemBackend,
  SystemInfo,
  SystemVersion,
} from "../backends.js";
import { rfc3339NanoFromNanos } from "../json-time.js";
import { FakeNetworks, noVolumes } from "./fake-networks.js";

interface Session {
  stdout?: (b: Buffer) => void;
  stderr?: (b: Buffer) => void;
  stdin?: Readable;
  done: () => void;
}

interface Waiter {
  condition: WaitCondition;
  resolve: (r: WaitResult) => void;
}

interface Fake {
  view: ContainerView;
  logs: LogEntry[];
  logWatchers: Set<() => void>;
  pending: Set<Session>;
  live: Set<Session>;
  waiters: Set<Waiter>;
  stop?: (code: number) => void;
  files: Map<string, string>;
}

interface FakeExec {
  view: ExecView;
  cmd: string[];
  attachStdin: boolean;
  started: boolean;
}

const nowNanos = () => BigInt(Date.now()) * 1_000_000n;

function hexId(): string {
  return randomBytes(32).toString("hex");
}

export class FakeEngine implements ContainerBackend, ExecBackend {
  readonly containers = new Map<string, Fake>();
  readonly execs = new Map<string, FakeExec>();
  readonly eventLog: EngineEvent[] = [];
  readonly #eventWatchers = new Set<() => void>();
  /** Images the fake knows (name → id); anything else is "No such image". */
  readonly images = new Map<string, string>([
    ["busybox:latest", "sha256:" + "b".repeat(64)],
    ["fake:latest", "sha256:" + "f".repeat(64)],
  ]);
  /** Records every call, for assertions on what the API passed. */
  readonly calls: { method: string; args: unknown[] }[] = [];
  #nameSeq = 0;

  #record(method: string, ...args: unknown[]) {
    this.calls.push({ method, args });
  }

  #find(ref: string): Fake {
    const r = ref.replace(/^\//, "");
    const byId = this.containers.get(r);
    if (byId) return byId;
    for (const c of this.containers.values()) if (c.view.name === `/${r}`) return c;
    const prefixed = [...this.containers.values()].filter((c) => c.view.id.startsWith(r));
    if (r.length > 0 && prefixed.length === 1) return prefixed[0]!;
    throw errNotFound(`No such container: ${ref}`);
  }

  emitEvent(type: EngineEvent["type"], action: string, id: string, attributes: Record<string, string>): void {
    this.eventLog.push({ type, action, id, attributes, timeNano: nowNanos() });
    for (const w of this.#eventWatchers) w();
  }

  #emit(c: Fake, action: string, extra: Record<string, string> = {}) {
    this.emitEvent("container", action, c.view.id, { image: c.view.image, name: c.view.name.slice(1), ...c.view.config.labels, ...extra });
  }

  #setStatus(c: Fake) {
    const s = c.view.state;
    s.status = s.removing ? "removing" : s.running ? (s.paused ? "paused" : "running") : s.startedAt ? "exited" : "created";
    c.view.humanStatus =
      s.status === "running" ? "Up Less than a second" : s.status === "paused" ? "Up Less than a second (Paused)" : s.status === "exited" ? `Exited (${s.exitCode}) Less than a second ago` : "Created";
  }

  async create(o: CreateOptions): Promise<{ id: string; warnings: string[] }> {
    this.#record("create", o);
    const imageId = this.images.get(o.config.image.includes(":") ? o.config.image : `${o.config.image}:latest`);
    if (!imageId) throw errNotFound(`No such image: ${o.config.image}`);
    const name = o.name ?? `fake_${++this.#nameSeq}`;
    for (const c of this.containers.values()) {
      if (c.view.name === `/${name}`) throw errConflict(`Conflict. The container name "/${name}" is already in use by container "${c.view.id}".`);
    }
    const config = containerConfig({ ...o.config });
    const hc = hostConfig(o.hostConfig ?? {});
    const id = hexId();
    const argv = [...config.entrypoint, ...config.cmd];
    const view: ContainerView = {
      id,
      networks: {},
      name: `/${name}`,
      created: new Date(),
      path: argv[0] ?? "",
      args: argv.slice(1),
      image: config.image,
      imageId,
      config,
      hostConfig: hc,
      restartCount: 0,
      driver: "overlayfs",
      state: {
        status: "created",
        running: false,
        paused: false,
        restarting: false,
        oomKilled: false,
        dead: false,
        removing: false,
        pid: 0,
        exitCode: 0,
        error: "",
        startedAt: undefined,
        finishedAt: undefined,
        health: undefined,
      },
      humanStatus: "Created",
      rootfsPath: undefined,
      logPath: `/var/lib/berth/containers/${id}/${id}-json.log`,
      execIds: [],
      mounts: hc.binds.map((bind) => {
        const [source = "", destination = "", mode = ""] = bind.split(":");
        return { type: "bind" as const, name: "", source, destination, driver: "", mode, rw: !mode.includes("ro"), propagation: "rprivate" };
      }),
      networkSettings: undefined,
    };
    const fake: Fake = { view, logs: [], logWatchers: new Set(), pending: new Set(), live: new Set(), waiters: new Set(), files: new Map([["/etc/hostname", `${id.slice(0, 12)}\n`]]) };
    this.containers.set(id, fake);
    this.#emit(fake, "create");
    const warnings = ["default", "bridge", ""].includes(hc.networkMode)
      ? ["networking is not implemented yet: the container gets an isolated network namespace with loopback only"]
      : [];
    return { id, warnings };
  }

  async start(ref: string): Promise<boolean> {
    this.#record("start", ref);
    const c = this.#find(ref);
    if (c.view.state.running) return false;
    const s = c.view.state;
    s.running = true;
    s.pid = 1000 + this.containers.size;
    s.startedAt = new Date();
    s.finishedAt = undefined;
    s.exitCode = 0;
    this.#setStatus(c);
    for (const sess of c.pending) c.live.add(sess);
    c.pending.clear();
    this.#emit(c, "start");
    this.#run(c);
    return true;
  }

  #out(c: Fake, stream: "stdout" | "stderr", text: string | Buffer) {
    const line = typeof text === "string" ? Buffer.from(text) : text;
    c.logs.push({ stream, line, time: rfc3339NanoFromNanos(nowNanos()) });
    for (const w of c.logWatchers) w();
    for (const s of c.live) s[stream]?.(line);
  }

  #exit(c: Fake, code: number) {
    if (!c.view.state.running) return;
    const s = c.view.state;
    s.running = false;
    s.paused = false;
    s.pid = 0;
    s.exitCode = code;
    s.finishedAt = new Date();
    c.stop = undefined;
    this.#setStatus(c);
    for (const sess of c.live) sess.done();
    c.live.clear();
    for (const w of c.logWatchers) w();
    this.#emit(c, "die", { exitCode: String(code) });
    for (const w of [...c.waiters]) {
      if (w.condition !== "removed") {
        c.waiters.delete(w);
        w.resolve({ exitCode: code });
      }
    }
    if (c.view.hostConfig.autoRemove) setImmediate(() => void this.remove(c.view.id, { force: true }).catch(() => {}));
  }

  #run(c: Fake) {
    const argv = [c.view.path, ...c.view.args];
    const [cmd, ...args] = argv;
    c.stop = (code) => this.#exit(c, code);
    switch (cmd) {
      case "echo":
        setImmediate(() => {
          this.#out(c, "stdout", args.join(" ") + "\n");
          setImmediate(() => this.#exit(c, 0));
        });
        break;
      case "fail":
        setImmediate(() => {
          this.#out(c, "stderr", (args.slice(1).join(" ") || "failed") + "\n");
          setImmediate(() => this.#exit(c, Number(args[0] ?? 1)));
        });
        break;
      case "cat":
        for (const s of c.live) this.#wireCat(c, s);
        break;
      default:
        break;
    }
  }

  #wireCat(c: Fake, s: Session) {
    if (!s.stdin) return;
    s.stdin.on("data", (d: Buffer) => this.#out(c, "stdout", d));
    s.stdin.once("end", () => {
      if (c.view.config.stdinOnce) setImmediate(() => this.#exit(c, 0));
    });
  }

  async stop(ref: string, o?: StopOptions): Promise<boolean> {
    this.#record("stop", ref, o);
    const c = this.#find(ref);
    if (!c.view.state.running) return false;
    this.#emit(c, "kill", { signal: "15" });
    c.stop?.(143);
    this.#emit(c, "stop");
    return true;
  }

  async restart(ref: string, o?: StopOptions): Promise<void> {
    this.#record("restart", ref, o);
    await this.stop(ref, o);
    await this.start(ref);
    this.#emit(this.#find(ref), "restart");
  }

  async kill(ref: string, signal?: string): Promise<void> {
    this.#record("kill", ref, signal);
    const c = this.#find(ref);
    if (!c.view.state.running) throw errConflict(`Container ${c.view.id} is not running`);
    if (signal !== undefined && !/^(SIG)?[A-Z0-9]+$|^[0-9]+$/.test(signal)) throw errInvalidArgument(`Invalid signal: ${signal}`);
    this.#emit(c, "kill", { signal: signal ?? "SIGKILL" });
    c.stop?.(137);
  }

  async pause(ref: string): Promise<void> {
    const c = this.#find(ref);
    if (!c.view.state.running) throw errConflict(`Container ${c.view.id} is not running`);
    if (c.view.state.paused) throw errConflict(`Container ${c.view.id} is already paused`);
    c.view.state.paused = true;
    this.#setStatus(c);
    this.#emit(c, "pause");
  }

  async unpause(ref: string): Promise<void> {
    const c = this.#find(ref);
    if (!c.view.state.paused) throw errConflict(`Container ${c.view.id} is not paused`);
    c.view.state.paused = false;
    this.#setStatus(c);
    this.#emit(c, "unpause");
  }

  wait(ref: string, condition: WaitCondition, o?: { signal?: AbortSignal }): Promise<WaitResult> {
    this.#record("wait", ref, condition);
    let c: Fake;
    try {
      c = this.#find(ref);
    } catch (e) {
      return Promise.reject(e);
    }
    if (condition === "not-running" && !c.view.state.running) return Promise.resolve({ exitCode: c.view.state.exitCode });
    return new Promise((resolve) => {
      const w: Waiter = { condition, resolve };
      c.waiters.add(w);
      o?.signal?.addEventListener(
        "abort",
        () => {
          c.waiters.delete(w);
          resolve({ exitCode: -1, error: "context canceled" });
        },
        { once: true },
      );
    });
  }

  async remove(ref: string, o?: { force?: boolean; removeVolumes?: boolean }): Promise<void> {
    this.#record("remove", ref, o);
    const c = this.#find(ref);
    if (c.view.state.running) {
      if (!o?.force) throw errConflict(`You cannot remove a running container ${c.view.id}. Stop the container before attempting removal or force remove`);
      c.stop?.(137);
    }
    this.containers.delete(c.view.id);
    for (const s of c.pending) s.done();
    this.#emit(c, "destroy");
    for (const w of [...c.waiters]) w.resolve({ exitCode: c.view.state.exitCode });
  }

  async rename(ref: string, newName: string): Promise<void> {
    const c = this.#find(ref);
    c.view.name = `/${newName.replace(/^\//, "")}`;
    this.#emit(c, "rename");
  }

  async update(ref: string, o: UpdateOptions): Promise<{ warnings: string[] }> {
    this.#record("update", ref, o);
    const c = this.#find(ref);
    Object.assign(c.view.hostConfig.resources, o.resources ?? {});
    if (o.restartPolicy) c.view.hostConfig.restartPolicy = o.restartPolicy;
    return { warnings: [] };
  }

  async top(ref: string, psArgs?: string) {
    this.#record("top", ref, psArgs);
    const c = this.#find(ref);
    if (!c.view.state.running) throw errConflict(`Container ${c.view.id} is not running`);
    return { titles: ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], processes: [["root", String(c.view.state.pid), "1", "0", "12:00", "?", "00:00:00", [c.view.path, ...c.view.args].join(" ")]] };
  }

  async stats(ref: string): Promise<StatsSample> {
    const c = this.#find(ref);
    if (!c.view.state.running) throw errConflict(`Container ${c.view.id} is not running`);
    const sample = (read: Date, cpu: number): StatsSample => ({
      read,
      previous: undefined,
      systemCpuNs: 1_000_000_000_000 + cpu * 10,
      onlineCpus: 2,
      stats: {
        read,
        cgroupVersion: 1,
        pids: { current: 3, limit: 0 },
        cpu: { totalNs: cpu, userNs: cpu / 2, kernelNs: cpu / 2, perCpuNs: [cpu / 2, cpu / 2], throttledPeriods: 0, throttledTimeNs: 0, periods: 0 },
        memory: { usage: 4 << 20, maxUsage: 5 << 20, limit: 1 << 30, failcnt: 0, cache: 1 << 20, rss: 3 << 20, totalInactiveFile: 1 << 20, swapUsage: 0, swapLimit: 0, raw: { cache: 1 << 20, rss: 3 << 20, total_inactive_file: 1 << 20 } },
        blkio: [{ op: "Read", major: 8, minor: 0, value: 4096, kind: "bytes" }],
      },
    });
    const now = new Date();
    return { ...sample(now, 2_000_000), previous: sample(new Date(now.getTime() - 1000), 1_000_000) };
  }

  attach(ref: string, o: AttachOptions): Promise<void> {
    this.#record("attach", ref, { logs: o.logs, stream: o.stream, stdin: !!o.stdin, stdout: !!o.stdout, stderr: !!o.stderr });
    let c: Fake;
    try {
      c = this.#find(ref);
    } catch (e) {
      return Promise.reject(e);
    }
    if (o.logs) for (const e of c.logs) (e.stream === "stdout" ? o.stdout : o.stderr)?.(e.line);
    if (o.stream === false) return Promise.resolve();
    return new Promise((resolve) => {
      const sess: Session = { ...(o.stdout ? { stdout: o.stdout } : {}), ...(o.stderr ? { stderr: o.stderr } : {}), ...(o.stdin ? { stdin: o.stdin } : {}), done: () => resolve() };
      o.signal?.addEventListener(
        "abort",
        () => {
          c.live.delete(sess);
          c.pending.delete(sess);
          resolve();
        },
        { once: true },
      );
      if (c.view.state.running) {
        c.live.add(sess);
        if (c.view.path === "cat") this.#wireCat(c, sess);
      } else c.pending.add(sess);
    });
  }

  async resize(ref: string, width: number, height: number): Promise<void> {
    this.#record("resize", ref, width, height);
    const c = this.#find(ref);
    if (!c.view.state.running) throw errConflict(`Container ${c.view.id} is not running`);
  }

  inspect(ref: string): ContainerView {
    return structuredClone(this.#find(ref).view);
  }

  list(o?: { all?: boolean }): ContainerView[] {
    return [...this.containers.values()]
      .filter((c) => o?.all || c.view.state.running)
      .map((c) => structuredClone(c.view))
      .sort((a, b) => b.created.getTime() - a.created.getTime());
  }

  async *logs(ref: string, o: LogOptions): AsyncIterable<LogEntry> {
    this.#record("logs", ref, { ...o, signal: undefined });
    const c = this.#find(ref);
    const wanted = (e: LogEntry) => (e.stream === "stdout" ? o.stdout : o.stderr) !== false;
    let entries = c.logs.filter(wanted);
    if (o.tail !== undefined && o.tail !== "all") entries = o.tail === 0 ? [] : entries.slice(-o.tail);
    let next = c.logs.length;
    for (const e of entries) yield e;
    if (!o.follow) return;
    while (c.view.state.running && !o.signal?.aborted) {
      await new Promise<void>((resolve) => {
        const w = () => {
          c.logWatchers.delete(w);
          resolve();
        };
        c.logWatchers.add(w);
        o.signal?.addEventListener("abort", w, { once: true });
      });
      while (next < c.logs.length) {
        const e = c.logs[next++]!;
        if (wanted(e)) yield e;
      }
    }
  }

  // ---- exec ---------------------------------------------------------------------------------

  async execCreate(ref: string, o: ExecCreateOptions): Promise<string> {
    this.#record("execCreate", ref, o);
    const c = this.#find(ref);
    if (!c.view.state.running) throw errConflict(`Container ${c.view.id} is not running`);
    const id = hexId();
    this.execs.set(id, {
      cmd: o.cmd,
      attachStdin: !!o.attachStdin,
      started: false,
      view: {
        id,
        containerId: c.view.id,
        running: false,
        exitCode: null,
        pid: 0,
        openStdin: !!o.attachStdin,
        openStdout: o.attachStdout !== false,
        openStderr: o.attachStderr !== false,
        canRemove: false,
        processConfig: { tty: !!o.tty, entrypoint: o.cmd[0] ?? "", arguments: o.cmd.slice(1), privileged: !!o.privileged, user: o.user ?? "" },
      },
    });
    this.#emit(c, `exec_create: ${o.cmd.join(" ")}`, { execID: id });
    return id;
  }

  async execStart(execId: string, o: ExecStartOptions): Promise<void> {
    this.#record("execStart", execId, { detach: o.detach, tty: o.tty, consoleSize: o.consoleSize, stdin: !!o.stdin });
    const x = this.execs.get(execId);
    if (!x) throw errNotFound(`No such exec instance: ${execId}`);
    if (x.started) throw errConflict(`Error: Exec command ${execId} has already run`);
    x.started = true;
    x.view.running = true;
    x.view.pid = 4242;
    const finish = (code: number) => {
      x.view.running = false;
      x.view.exitCode = code;
      x.view.pid = 0;
    };
    const [cmd, ...args] = x.cmd;
    if (o.detach) {
      setImmediate(() => finish(0));
      return;
    }
    if (cmd === "echo") {
      o.stdout?.(Buffer.from(args.join(" ") + "\n"));
      finish(0);
    } else if (cmd === "fail") {
      o.stderr?.(Buffer.from((args.slice(1).join(" ") || "failed") + "\n"));
      finish(Number(args[0] ?? 1));
    } else if (cmd === "cat" && o.stdin) {
      await new Promise<void>((resolve) => {
        o.stdin!.on("data", (d: Buffer) => o.stdout?.(d));
        o.stdin!.once("end", () => resolve());
        o.signal?.addEventListener("abort", () => resolve(), { once: true });
      });
      finish(0);
    } else if (cmd === "boom") {
      finish(126);
      throw errInvalidArgument(`exec: "${cmd}": executable file not found in $PATH`);
    } else {
      finish(0);
    }
  }

  execInspect(execId: string): ExecView {
    const x = this.execs.get(execId);
    if (!x) throw errNotFound(`No such exec instance: ${execId}`);
    return structuredClone(x.view);
  }

  async execResize(execId: string, width: number, height: number): Promise<void> {
    this.#record("execResize", execId, width, height);
    if (!this.execs.get(execId)) throw errNotFound(`No such exec instance: ${execId}`);
  }

  // ---- events -------------------------------------------------------------------------------

  async *events(q: EventQuery): AsyncIterable<EngineEvent> {
    let i = 0;
    const inRange = (e: EngineEvent) => (q.since === undefined || e.timeNano >= q.since) && (q.until === undefined || e.timeNano <= q.until);
    if (q.since !== undefined) {
      for (; i < this.eventLog.length; i++) {
        const e = this.eventLog[i]!;
        if (inRange(e) && (!q.filter || q.filter(e))) yield e;
      }
    } else i = this.eventLog.length;
    const untilMs = q.until === undefined ? undefined : Number(q.until / 1_000_000n);
    while (!q.signal?.aborted) {
      if (untilMs !== undefined && Date.now() >= untilMs) return;
      await new Promise<void>((resolve) => {
        const timer = untilMs === undefined ? undefined : setTimeout(done, Math.max(0, untilMs - Date.now()));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        const w = () => {
          this.#eventWatchers.delete(w);
          done();
        };
        this.#eventWatchers.add(w);
        q.signal?.addEventListener("abort", w, { once: true });
      });
      for (; i < this.eventLog.length; i++) {
        const e = this.eventLog[i]!;
        if (inRange(e) && (!q.filter || q.filter(e))) yield e;
      }
    }
  }

  // ---- archive ------------------------------------------------------------------------------

  async statPath(ref: string, path: string): Promise<PathStat> {
    const c = this.#find(ref);
    const content = c.files.get(path);
    if (content === undefined) throw errNotFound(`Could not find the file ${path} in container ${c.view.id}`);
    return { name: path.split("/").pop()!, size: Buffer.byteLength(content), mode: 0o644, mtime: new Date("2026-11-29T03:41:23Z"), linkTarget: "" };
  }

  async getArchive(ref: string, path: string): Promise<{ stat: PathStat; tar: Readable }> {
    const stat = await this.statPath(ref, path);
    const content = this.#find(ref).files.get(path)!;
    const pack = tar.pack();
    pack.entry({ name: stat.name, mode: 0o644, mtime: stat.mtime }, content);
    pack.finalize();
    return { stat, tar: pack as unknown as Readable };
  }

  async putArchive(ref: string, path: string, archive: Readable, o?: { noOverwriteDirNonDir?: boolean }): Promise<void> {
    this.#record("putArchive", ref, path, { noOverwriteDirNonDir: o?.noOverwriteDirNonDir });
    const c = this.#find(ref);
    const extract = tar.extract();
    await new Promise<void>((resolve, reject) => {
      extract.on("entry", (header, stream, next) => {
        const chunks: Buffer[] = [];
        stream.on("data", (d: unknown) => chunks.push(d as Buffer));
        stream.on("end", () => {
          c.files.set(`${path.replace(/\/$/, "")}/${header.name}`, Buffer.concat(chunks).toString());
          next();
        });
      });
      extract.on("finish", () => resolve());
      extract.on("error", reject);
      archive.pipe(extract);
    });
  }

  /** docker diff: every file put into the container is added; /etc/hostname is a mount point (hidden, as dockerd). */
  async changes(ref: string): Promise<{ path: string; kind: 0 | 1 | 2 }[]> {
    const paths = [...this.#find(ref).files.keys()].map((p) => (p.startsWith("/") ? p : `/${p}`)).filter((p) => p !== "/etc/hostname");
    return paths.sort().map((path) => ({ path, kind: 1 as const }));
  }

  async exportContainer(ref: string): Promise<Readable> {
    const pack = tar.pack();
    for (const [name, content] of [...this.#find(ref).files].sort()) pack.entry({ name: name.replace(/^\/+/, ""), mode: 0o644 }, content);
    pack.finalize();
    return pack as unknown as Readable;
  }

  async commit(ref: string, o: { containerConfig: Record<string, unknown>; config?: Record<string, unknown>; changes?: string[]; author?: string; comment?: string; reference?: string; pause: boolean }): Promise<{ id: string }> {
    this.#record("commit", ref, o);
    this.#find(ref);
    return { id: "sha256:" + "c".repeat(64) };
  }

  // ---- test helpers -------------------------------------------------------------------------

  /** Makes a running container's process print, as if it wrote to its stdio. */
  output(ref: string, stream: "stdout" | "stderr", text: string): void {
    this.#out(this.#find(ref), stream, text);
  }

  /** Makes a running container's process exit with `code`. */
  exit(ref: string, code: number): void {
    this.#exit(this.#find(ref), code);
  }

  /** Gives a container network settings, as the engine reports them while it runs networked. */
  setNetworkSettings(ref: string, settings: ContainerView["networkSettings"]): void {
    this.#find(ref).view.networkSettings = settings;
  }

  setHealth(ref: string, health: Health): void {
    this.#find(ref).view.state.health = health;
  }
}

export class FakeImages implements ImageBackend {
  readonly images = new Map<string, { id: string; names: string[]; created: Date; labels: Record<string, string>; size: number }>();
  readonly calls: { method: string; args: unknown[] }[] = [];

  constructor() {
    this.images.set("sha256:" + "b".repeat(64), { id: "sha256:" + "b".repeat(64), names: ["docker.io/library/busybox:latest"], created: new Date("2024-01-01T00:00:00Z"), labels: {}, size: 4_261_550 });
  }

  #find(ref: string) {
    const full = ref.includes(":") || ref.includes("@") ? ref : `${ref}:latest`;
    for (const img of this.images.values()) {
      if (img.id === ref || img.id.slice(7).startsWith(ref.replace(/^sha256:/, "")) && ref.length >= 4) return img;
      if (img.names.some((n) => n === full || n === `docker.io/library/${full}` || n === `docker.io/${full}`)) return img;
    }
    throw errNotFound(`No such image: ${ref}`);
  }

  async load(archive: Readable, o: { onProgress?: (e: ImageProgress) => void }) {
    let size = 0;
    for await (const c of archive) size += (c as Buffer).length;
    if (size === 0) throw errInvalidArgument("unexpected EOF: the archive is empty");
    o.onProgress?.({ id: "sha256:" + "1".repeat(64), status: "loading", current: size, total: size });
    return { images: [{ name: "docker.io/library/loaded:latest", id: "sha256:" + "1".repeat(64) }] };
  }

  async importRootfs(tarball: Readable, o: { tag?: string; changes?: string[]; message?: string }) {
    this.calls.push({ method: "importRootfs", args: [o] });
    for await (const _ of tarball) void _;
    return { id: "sha256:" + "2".repeat(64), name: o.tag };
  }

  async pull(ref: string, o: { onProgress?: (e: ImageProgress) => void; credentials?: { username: string; password: string } }) {
    this.calls.push({ method: "pull", args: [ref, { credentials: o.credentials }] });
    ref = ref.replace(/^docker\.io\/(library\/)?/, "");
    if (ref.startsWith("nonexistent")) throw errNotFound(`pull access denied for ${ref}, repository does not exist or may require 'docker login'`);
    if (ref.startsWith("broken")) {
      o.onProgress?.({ id: "sha256:" + "c".repeat(64), status: "downloading", current: 10, total: 100 });
      throw new Error("unexpected EOF");
    }
    const layer = "sha256:" + "a".repeat(64);
    o.onProgress?.({ id: layer, status: "waiting", current: 0, total: 100 });
    o.onProgress?.({ id: layer, status: "downloading", current: 50, total: 100 });
    o.onProgress?.({ id: layer, status: "downloading", current: 100, total: 100 });
    o.onProgress?.({ id: layer, status: "done", current: 100, total: 100 });
    o.onProgress?.({ id: layer, status: "extracting", current: 100, total: 100 });
    return { name: `docker.io/${ref.includes("/") ? "" : "library/"}${ref.includes(":") ? ref : ref + ":latest"}`, id: "sha256:" + "3".repeat(64), digest: "sha256:" + "d".repeat(64) };
  }

  async list() {
    return [...this.images.values()].map((i) => ({ id: i.id, repoTags: [...i.names], repoDigests: [], created: i.created, size: i.size, labels: { ...i.labels } }));
  }

  async inspect(ref: string): Promise<ImageInspectView> {
    const i = this.#find(ref);
    return {
      id: i.id,
      repoTags: [...i.names],
      repoDigests: [],
      created: i.created,
      size: i.size,
      labels: { ...i.labels },
      architecture: "amd64",
      os: "linux",
      variant: undefined,
      author: "",
      comment: "",
      dockerVersion: "",
      config: { cmd: ["sh"], entrypoint: undefined, env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], workingDir: "", user: "", exposedPorts: [], labels: {}, healthcheck: undefined, volumes: [], stopSignal: undefined, onBuild: [], shell: undefined },
      rootfs: { type: "layers", diffIds: ["sha256:" + "e".repeat(64)] },
    };
  }

  async resolve(ref: string) {
    return this.#find(ref).id;
  }

  async tag(source: string, target: string) {
    const i = this.#find(source);
    const full = target.includes(":") ? target : `${target}:latest`;
    i.names.push(full.includes("/") ? full : `docker.io/library/${full}`);
  }

  async remove(ref: string, o: { force?: boolean }) {
    this.calls.push({ method: "remove", args: [ref, o] });
    const i = this.#find(ref);
    this.images.delete(i.id);
    return { untagged: [...i.names], deleted: [i.id] };
  }

  /** A registry of the fake: name → manifest digest it holds; login accepts user "u" with password "p". */
  readonly registry = new Map<string, string>();

  async push(ref: string, o: { onProgress?: (e: ImageProgress) => void; credentials?: { username: string; password: string } }) {
    this.calls.push({ method: "push", args: [ref, { credentials: o.credentials }] });
    const i = this.#find(ref);
    const layer = "sha256:" + "a".repeat(64);
    const digest = "sha256:" + "9".repeat(64);
    o.onProgress?.({ id: layer, status: "waiting", current: 0, total: 100 });
    if (this.registry.has(ref)) o.onProgress?.({ id: layer, status: "exists", current: 100, total: 100 });
    else {
      o.onProgress?.({ id: layer, status: "pushing", current: 0, total: 100 });
      o.onProgress?.({ id: layer, status: "pushed", current: 100, total: 100 });
    }
    this.registry.set(ref, digest);
    return { name: i.names[0]!, digest, size: 527 };
  }

  async login(o: { serverAddress: string; username: string; password: string }) {
    this.calls.push({ method: "login", args: [o] });
    if (o.username !== "u" || o.password !== "p") throw new BerthError("unknown", `login attempt to http://${o.serverAddress}/v2/ failed with status: 401 Unauthorized`);
    return { status: "Login Succeeded", identityToken: "" };
  }

  /** Bytes a container's writable layer holds, by container ID (tests set them). */
  readonly rootfsSizes = new Map<string, number>();

  async rootfsUsage(containerId: string) {
    return this.rootfsSizes.get(containerId) ?? 0;
  }

  async inspectDistribution(ref: string) {
    const digest = this.registry.get(ref);
    if (!digest) throw errNotFound("manifest unknown");
    return { descriptor: { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest, size: 527 }, platforms: [{ architecture: "amd64", os: "linux" }] };
  }

  async save(refs: string[]): Promise<Readable> {
    for (const r of refs) this.#find(r);
    const pack = tar.pack();
    pack.entry({ name: "manifest.json" }, JSON.stringify(refs.map((r) => ({ RepoTags: [r] }))));
    pack.finalize();
    return pack as unknown as Readable;
  }

  async history(ref: string): Promise<ImageHistoryView[]> {
    const i = this.#find(ref);
    return [
      { id: i.id, created: i.created, createdBy: '/bin/sh -c #(nop)  CMD ["sh"]', comment: "", tags: [...i.names], size: 0 },
      { id: undefined, created: i.created, createdBy: "/bin/sh -c #(nop) ADD file:abc in / ", comment: "", tags: [], size: i.size },
    ];
  }
}

export class FakeSystem implements SystemBackend {
  constructor(
    readonly engine: FakeEngine,
    readonly images: FakeImages,
  ) {}

  version(): SystemVersion {
    return {
      version: "0.1.0",
      gitCommit: "abc1234",
      components: [
        { name: "Engine", version: "0.1.0", details: { Arch: "x64", GitCommit: "abc1234" } },
        { name: "containerd", version: "1.6.20", details: { GitCommit: "" } },
      ],
    };
  }

  info(): SystemInfo {
    const all = this.engine.list({ all: true });
    const running = all.filter((c) => c.state.running && !c.state.paused).length;
    const paused = all.filter((c) => c.state.paused).length;
    return { id: "BERTH:FAKE", containers: { total: all.length, running, paused, stopped: all.length - running - paused }, images: this.images.images.size, rootDir: "/var/lib/berth" };
  }

  events(q: EventQuery): AsyncIterable<EngineEvent> {
    return this.engine.events(q);
  }

  async df(): Promise<DiskUsage> {
    const imgs = await this.images.list();
    return { layersSize: 1234, images: imgs.map((i) => ({ ...i, containers: 0 })), containers: this.engine.list({ all: true }).map((v) => ({ ...v, sizeRw: 0 })) };
  }
}

export function fakeBackends(): { backends: Backends; engine: FakeEngine; images: FakeImages; networks: FakeNetworks } {
  const engine = new FakeEngine();
  const images = new FakeImages();
  const networks = new FakeNetworks();
  return { engine, images, networks, backends: { containers: engine, exec: engine, images, system: new FakeSystem(engine, images), networks, volumes: noVolumes } };
}

/** A readable that ends at once (an empty request body). */
export function emptyStream(): Readable {
  const p = new PassThrough();
  p.end();
  return p;
}
