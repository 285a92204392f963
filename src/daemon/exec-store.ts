import { randomBytes } from "node:crypto";
import type { Process } from "../libcontainerd/index.js";
import { Mutex } from "../base/lock.js";
import type { ExecCreateOptions, ExecView } from "./types.js";

export interface ExecInstance {
  id: string;
  containerId: string;
  config: ExecCreateOptions;
  lock: Mutex;
  started: boolean;
  running: boolean;
  exitCode: number | null;
  pid: number;
  process: Process | undefined;
  /** Resolves when the exit is recorded. */
  exited: Promise<void>;
  markExited: () => void;
}

/**
 * Exec instances by ID, as dockerd's exec store: kept after the process ended so its exit code
 * can be read (docker exec inspects it right after the stream ends); removed with the container.
 */
export class ExecStore {
  readonly #byId = new Map<string, ExecInstance>();
  /** The same instances per container: inspect and an exit read them without a scan of all. */
  readonly #byContainer = new Map<string, Set<ExecInstance>>();

  create(containerId: string, config: ExecCreateOptions): ExecInstance {
    let markExited!: () => void;
    const exited = new Promise<void>((r) => (markExited = r));
    const x: ExecInstance = {
      id: randomBytes(32).toString("hex"),
      containerId,
      config: { ...config, cmd: [...config.cmd] },
      lock: new Mutex(),
      started: false,
      running: false,
      exitCode: null,
      pid: 0,
      process: undefined,
      exited,
      markExited,
    };
    this.#byId.set(x.id, x);
    let of = this.#byContainer.get(containerId);
    if (!of) this.#byContainer.set(containerId, (of = new Set()));
    of.add(x);
    return x;
  }

  get(id: string): ExecInstance | undefined {
    return this.#byId.get(id);
  }

  ofContainer(containerId: string): ExecInstance[] {
    const of = this.#byContainer.get(containerId);
    return of ? [...of] : [];
  }

  markExited(id: string, exitCode: number): void {
    const x = this.#byId.get(id);
    if (!x || x.exitCode !== null) return;
    x.running = false;
    x.exitCode = exitCode;
    x.process = undefined;
    x.markExited();
  }

  delete(id: string): void {
    const x = this.#byId.get(id);
    if (!x) return;
    if (x.exitCode === null) this.markExited(id, 137);
    this.#byId.delete(id);
    const of = this.#byContainer.get(x.containerId);
    of?.delete(x);
    if (of?.size === 0) this.#byContainer.delete(x.containerId);
  }

  view(x: ExecInstance): ExecView {
    return {
      id: x.id,
      containerId: x.containerId,
      running: x.running,
      exitCode: x.exitCode,
      pid: x.pid,
      openStdin: !!x.config.attachStdin,
      openStdout: x.config.attachStdout !== false,
      openStderr: x.config.attachStderr !== false,
      canRemove: false,
      processConfig: {
        tty: !!x.config.tty,
        entrypoint: x.config.cmd[0] ?? "",
        arguments: x.config.cmd.slice(1),
        privileged: !!x.config.privileged,
        user: x.config.user ?? "",
      },
    };
  }
}
