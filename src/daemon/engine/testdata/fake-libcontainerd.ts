// An in-memory libcontainerd for the engine's unit tests: containers and tasks in maps, every
// method recording the containerd call it stands for (so tests assert the same call sequences
// the integration tests count), and exits delivered to the engine's backend as the real
// client's event stream would. A task's process "runs" until the test ends it (`exit`) or a
// signal does (SIGTERM can be ignored, as a shell as PID 1 does).
import { PassThrough } from "node:stream";
import type { ContainerdClient, ContainerRecord, ExitStatus, Spec } from "../../../containerd/index.js";
import { TaskStatus } from "../../../containerd/index.js";
import { StartError } from "../../../libcontainerd/index.js";
import type {
  Backend,
  Container,
  LibcontainerdClient,
  LoadedContainer,
  NewContainerOptions,
  Process,
  StartOptions,
  Task,
} from "../../../libcontainerd/index.js";
import { errNotFound } from "../../../base/errors.js";

const SIGKILL = 9;

export class FakeLibcontainerd implements LibcontainerdClient {
  readonly namespace = "test";
  /** The containerd calls made, in order ("Tasks/Kill 15", "Containers/Delete", ...). */
  readonly calls: string[] = [];
  readonly containers = new Map<string, FakeContainer>();
  readonly #backend: Backend;
  #nextPid = 1000;
  /** The next start fails as runc's would (exit code 127: executable not found). */
  failNextStart: string | undefined;
  /** Processes ignore SIGTERM (only SIGKILL ends them). */
  ignoreSigterm = false;
  /** The next Tasks/Delete of a task fails with this error. */
  failNextDelete: Error | undefined;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  get containerd(): ContainerdClient {
    return fakeContainerd(this);
  }
  get queueDepth() {
    return 0;
  }
  get eventsLive() {
    return true;
  }
  async idle(): Promise<void> {}
  async version() {
    return { version: "fake", revision: "fake" };
  }

  async newContainer(id: string, o: NewContainerOptions): Promise<Container> {
    this.calls.push("Containers/Create");
    const c = new FakeContainer(this, id, o.spec);
    this.containers.set(id, c);
    return c;
  }

  async loadContainer(id: string): Promise<Container> {
    this.calls.push("Containers/Get");
    const c = this.containers.get(id);
    if (!c) throw errNotFound(`container "${id}": not found`);
    return c;
  }

  async loadAll(): Promise<LoadedContainer[]> {
    this.calls.push("Containers/List", "Tasks/List");
    return [...this.containers.values()].map((c) => ({
      container: c,
      task: c.task_ ? { pid: c.task_.pid, status: c.task_.exit ? TaskStatus.STOPPED : TaskStatus.RUNNING, exitStatus: c.task_.exit?.exitCode ?? 0, exitedAt: c.task_.exit?.exitedAt, stdin: "", stdout: "", stderr: "", terminal: false } : undefined,
    }));
  }

  async close(): Promise<void> {}
  async [Symbol.asyncDispose](): Promise<void> {}

  pid(): number {
    return this.#nextPid++;
  }

  /** Delivers an exit as the event stream does: the engine's monitor records it. */
  async deliverExit(containerId: string, processId: string, pid: number, exit: ExitStatus): Promise<void> {
    await this.#backend.processEvent(containerId, "exit", { containerId, processId, pid, exitCode: exit.exitCode, exitedAt: exit.exitedAt });
  }

  /** The container's process ends by itself with `code`. */
  async exit(id: string, code: number): Promise<void> {
    const t = this.containers.get(id)?.task_;
    if (!t) throw new Error(`no task for ${id}`);
    await t.end(code);
  }
}

class FakeContainer implements Container {
  readonly record = {} as ContainerRecord;
  readonly labels = {};
  task_: FakeTask | undefined;

  constructor(readonly lcd: FakeLibcontainerd, readonly id: string, readonly spec: Spec) {}
  get process() {
    return this.spec.process;
  }

  async start(o: StartOptions = {}): Promise<Task> {
    this.lcd.calls.push("Tasks/Create");
    if (this.lcd.failNextStart) {
      const msg = this.lcd.failNextStart;
      this.lcd.failNextStart = undefined;
      throw new StartError("invalid-argument", msg, 127, undefined);
    }
    this.lcd.calls.push("Tasks/Start");
    const t = new FakeTask(this.lcd, this.id, this.id, this.lcd.pid());
    o.attachStdio?.(t.io);
    this.task_ = t;
    return t;
  }
  async task(): Promise<Task> {
    if (!this.task_) throw errNotFound("no running task found");
    return this.task_;
  }
  async attachTask(): Promise<Task> {
    return this.task();
  }
  /** The last spec given to updateSpec. */
  updated: Spec | undefined;
  async updateSpec(spec: Spec): Promise<boolean> {
    this.lcd.calls.push("Containers/Update");
    this.updated = spec;
    return true;
  }
  async delete(): Promise<void> {
    this.lcd.calls.push("Containers/Delete");
    this.lcd.containers.delete(this.id);
  }
}

class FakeProcess implements Process {
  readonly terminal = false;
  exit: ExitStatus | undefined;
  readonly exited: Promise<ExitStatus>;
  #resolve!: (s: ExitStatus) => void;
  readonly io = {
    stdin: undefined,
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    terminal: false,
    closeStdin() {},
  };

  constructor(readonly lcd: FakeLibcontainerd, readonly containerId: string, readonly id: string, readonly pid: number) {
    this.exited = new Promise((r) => (this.#resolve = r));
  }

  /** The process ends: its output reaches EOF, then containerd's exit event. */
  async end(exitCode: number): Promise<void> {
    if (this.exit) return;
    this.exit = { exitCode, exitedAt: new Date() };
    this.io.stdout.end();
    this.io.stderr.end();
    this.#resolve(this.exit);
    await this.lcd.deliverExit(this.containerId, this.id, this.pid, this.exit);
  }

  async kill(signal: number): Promise<void> {
    this.lcd.calls.push(`Tasks/Kill ${signal}`);
    if (this.exit) throw errNotFound("process already finished");
    if (signal === 15 && this.lcd.ignoreSigterm) return;
    // The exit event arrives after the Kill call has returned, as from containerd.
    setImmediate(() => void this.end(128 + signal));
  }
  async resize(): Promise<void> {
    this.lcd.calls.push("Tasks/ResizePty");
  }
  async closeStdin(): Promise<void> {}
  async delete(): Promise<ExitStatus> {
    this.lcd.calls.push(this.id === this.containerId ? "Tasks/Delete" : "Tasks/DeleteProcess");
    const fail = this.id === this.containerId ? this.lcd.failNextDelete : undefined;
    if (fail) {
      this.lcd.failNextDelete = undefined;
      throw fail;
    }
    return this.exit ?? { exitCode: 255, exitedAt: undefined };
  }
}

class FakeTask extends FakeProcess implements Task {
  async pause(): Promise<void> {
    this.lcd.calls.push("Tasks/Pause");
  }
  async resume(): Promise<void> {
    this.lcd.calls.push("Tasks/Resume");
  }
  async stats(): Promise<never> {
    throw new Error("not used by the engine (it batches Tasks/Metrics)");
  }
  async pids() {
    this.lcd.calls.push("Tasks/ListPids");
    return [{ pid: this.pid, execId: "" }];
  }
  async summary() {
    return this.pids();
  }
  async status() {
    return { pid: this.pid, status: this.exit ? TaskStatus.STOPPED : TaskStatus.RUNNING, exitStatus: this.exit?.exitCode ?? 0, exitedAt: this.exit?.exitedAt, stdin: "", stdout: "", stderr: "", terminal: false };
  }
  async exec(execId: string): Promise<Process> {
    this.lcd.calls.push("Tasks/Exec", "Tasks/Start");
    return new FakeProcess(this.lcd, this.containerId, execId, this.lcd.pid());
  }
  async updateResources(): Promise<void> {
    this.lcd.calls.push("Tasks/Update");
  }
  async createCheckpoint(): Promise<void> {
    throw new Error("not used");
  }
  async forceDelete(): Promise<ExitStatus> {
    await this.kill(SIGKILL).catch(() => {});
    return this.delete();
  }
}

/** The few typed-client calls the engine makes itself (rm without a handle, stats, restore). */
function fakeContainerd(lcd: FakeLibcontainerd): ContainerdClient {
  return {
    namespace: lcd.namespace,
    containers: {
      delete: async (id: string) => {
        lcd.calls.push("Containers/Delete");
        if (!lcd.containers.delete(id)) throw errNotFound(`container "${id}": not found`);
      },
    },
    tasks: {
      metrics: async () => {
        lcd.calls.push("Tasks/Metrics");
        return new Map();
      },
    },
  } as unknown as ContainerdClient;
}
