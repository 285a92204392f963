// docker exec: create (an instance in the exec store), start (a process in the container's live
// task, attached or detached), inspect, resize. Its exit is recorded by the monitor.
import { errConflict, errInvalidArgument, errNotFound } from "../../base/errors.js";
import type { PreparedRootfs } from "../image-source.js";
import { mergeEnv, resolveUser } from "../oci/index.js";
import { StreamHub } from "../stream-hub.js";
import type { ExecInstance } from "../exec-store.js";
import type { ExecCreateOptions, ExecStartOptions, ExecView } from "../types.js";
import { emit, entryOf, errNotRunning, liveTask, userFiles, type EngineContext, type Entry } from "./context.js";

/** dockerd's exit code of an exec whose process could not be started. */
const EXEC_START_FAILED = 126;

export async function execCreate(ctx: EngineContext, ref: string, o: ExecCreateOptions): Promise<string> {
  const e = entryOf(ctx, ref);
  // dockerd's order and words: not running, then paused, then restarting.
  if (!e.state.isRunning) throw errNotRunning(e);
  if (e.state.isPaused) throw errConflict(`Container ${e.record.id} is paused, unpause the container before exec`);
  if (e.state.isRestarting) throw errConflict(`Container ${e.record.id} is restarting, wait until the container is running`);
  if (o.cmd.length === 0) throw errInvalidArgument("No exec command specified");
  const x = ctx.execs.create(e.record.id, o);
  emit(ctx, e, "exec_create: " + o.cmd.join(" "), { execID: x.id });
  return x.id;
}

function execOf(ctx: EngineContext, execId: string): ExecInstance {
  const x = ctx.execs.get(execId);
  if (!x) throw errNotFound(`No such exec instance: ${execId}`);
  return x;
}

export async function execStart(ctx: EngineContext, execId: string, o: ExecStartOptions): Promise<void> {
  const x = execOf(ctx, execId);
  const e = ctx.index.get(x.containerId);
  if (!e) throw errNotFound(`No such container: ${x.containerId}`);
  let output: Promise<void> = Promise.resolve();
  await x.lock.run(async () => {
    if (x.started) throw errConflict(`Error: Exec command ${execId} has already run`);
    x.started = true;
    const task = await e.lock.run(() => liveTask(e, { unpaused: true }));
    const spec = await execProcessSpec(e, x);
    const tty = o.tty ?? x.config.tty ?? false;
    const hub = new StreamHub({ onStdinEnd: (io) => io.closeStdin() });
    if (!o.detach) {
      output = hub.attach({
        ...(o.stdin && x.config.attachStdin ? { stdin: o.stdin } : {}),
        ...(o.stdout && x.config.attachStdout !== false ? { stdout: o.stdout } : {}),
        ...(o.stderr && x.config.attachStderr !== false ? { stderr: o.stderr } : {}),
      }, o.signal);
    }
    try {
      x.process = await task.exec(x.id, { ...spec, terminal: tty }, {
        withStdin: !!x.config.attachStdin,
        terminal: tty,
        attachStdio: (io) => {
          if (!o.detach) hub.attachStdio(io);
          else { io.stdout?.resume(); io.stderr?.resume(); }
        },
      });
    } catch (err) {
      x.running = false;
      x.exitCode = EXEC_START_FAILED;
      throw err;
    }
    x.running = true;
    x.pid = x.process.pid;
    if (o.consoleSize && tty) await x.process.resize(o.consoleSize.width, o.consoleSize.height).catch(() => {});
  });
  emit(ctx, e, "exec_start: " + x.config.cmd.join(" "), { execID: x.id });
  if (o.detach) return;
  await output;
  // The exit is recorded by the monitor; the client reads the code right after (exec inspect).
  await x.exited;
}

async function execProcessSpec(e: Entry, x: ExecInstance) {
  const c = e.state.container!;
  const base = c.process!;
  let user = base.user;
  if (x.config.user) {
    // As dockerd's exec: the container's --group-add groups join the exec user's.
    const groupAdd = e.record.hostConfig.groupAdd ?? [];
    const [passwd, group] = await userFiles(e.record.rootfs as PreparedRootfs, x.config.user, groupAdd);
    const u = resolveUser(x.config.user, passwd, group, groupAdd);
    user = { uid: u.uid, gid: u.gid, ...(u.additionalGids.length ? { additionalGids: u.additionalGids } : {}) };
  }
  return {
    ...base,
    args: x.config.cmd,
    env: mergeEnv(base.env ?? [], x.config.env ?? []),
    cwd: x.config.workingDir || base.cwd || "/",
    user,
    terminal: !!x.config.tty,
  };
}

export function execInspect(ctx: EngineContext, execId: string): ExecView {
  return ctx.execs.view(execOf(ctx, execId));
}

export async function execResize(ctx: EngineContext, execId: string, width: number, height: number): Promise<void> {
  const x = execOf(ctx, execId);
  if (!x.process || !x.running) throw errConflict(`Exec ${execId} is not running`);
  await x.process.resize(width, height);
}
