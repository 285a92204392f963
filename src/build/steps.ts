// The steps that touch a filesystem: RUN through the engine (a container from the current
// image with the build's env, user, workdir and network; its output streamed into the build),
// COPY and ADD into a builder-owned snapshot. Each ends in a commit through the committer.
import { createHash } from "node:crypto";
import path from "node:path";
import { BerthError, errCanceled, errInvalidArgument } from "../base/errors.js";
import type { Engine } from "../daemon/types.js";
import type { ContainerConfigJson } from "../images/index.js";
import type { BuildArgs } from "./build-args.js";
import { copyInto, mkdirAll, parseChown, resolveSources, sourcesChecksum, type CopySource } from "./copy.js";
import { expansionEnv, resolveWorkdir, shellOf, type StageState } from "./dispatch.js";
import type { Instruction } from "./instructions.js";
import type { ImageCommitter } from "./layer-commit.js";
import { processWord } from "./shell-lex.js";
import { mountSnapshot } from "./snapshot-fs.js";

/** A failed step; `code` is a RUN's exit code (dockerd's errorDetail.code). */
export class BuildStepError extends BerthError {
  readonly exitCode: number | undefined;
  constructor(message: string, exitCode?: number) {
    super("unknown", message);
    this.exitCode = exitCode;
  }
}

export interface StepContext {
  engine: Engine;
  committer: ImageCommitter;
  /** Where the builder mounts snapshots. */
  mountDir: string;
  networkMode: string;
  rm: boolean;
  forceRm: boolean;
  run: import("./builder.js").BuildRunOptions;
  /** Remembered checksums of sources in `--from` images (immutable, so never stale). */
  sums?: { get(key: string): Promise<string | undefined>; put(key: string, sum: string): Promise<void> };
  signal?: AbortSignal;
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  progress(line: string): void;
}

export const short = (id: string | undefined) => (id ?? "").replace(/^sha256:/, "").slice(0, 12);

/** `|N k=v ... cmd`: the build args a RUN saw, in its history line and cache key (sorted). */
export function prependArgs(args: BuildArgs, filtered: readonly string[], cmd: readonly string[]): string[] {
  const kept = filtered.filter((e) => args.isReferencedOrNotBuiltin(e.split("=")[0]!)).sort();
  return [`|${kept.length}`, ...kept, ...cmd];
}

export interface RunPlan {
  cmd: string[];
  /** container_config: what the cache compares and history records. */
  probeConfig: ContainerConfigJson;
  env: string[];
  createdBy: string;
}

export function planRun(s: StageState, ins: Extract<Instruction, { kind: "run" }>): RunPlan {
  const c = s.config;
  const cmd = ins.form.json ? ins.form.args : [...shellOf(c), ins.form.line];
  const env = c.Env ?? [];
  const filtered = s.args.filterAllowed(env);
  const saveCmd = filtered.length > 0 ? prependArgs(s.args, filtered, cmd) : cmd;
  const probeConfig: ContainerConfigJson = { ...structuredClone(c), Cmd: saveCmd, Entrypoint: null };
  return { cmd, probeConfig, env: [...env, ...filtered], createdBy: saveCmd.join(" ") };
}

export async function runStep(ctx: StepContext, s: StageState, plan: RunPlan): Promise<string> {
  if (!s.imageId) throw new BuildStepError("a RUN needs a base image with a shell: FROM scratch has none");
  const c = s.config;
  const { id } = await ctx.engine.create({
    config: {
      image: s.imageId,
      cmd: plan.cmd,
      entrypoint: [],
      env: plan.env,
      user: c.User ?? "",
      workingDir: c.WorkingDir ?? "",
      labels: c.Labels ?? {},
      healthcheck: { test: ["NONE"], interval: 0, timeout: 0, retries: 0, startPeriod: 0 },
    },
    hostConfig: {
      networkMode: ctx.networkMode || "default",
      ...(ctx.run.resources ? { resources: ctx.run.resources } : {}),
      ...(ctx.run.extraHosts?.length ? { extraHosts: ctx.run.extraHosts } : {}),
      // --shm-size: the container's own /dev/shm replaces the default one, as dockerd sizes it.
      ...(ctx.run.shmSize ? { tmpfs: { "/dev/shm": `rw,nosuid,nodev,noexec,mode=1777,size=${ctx.run.shmSize}` } } : {}),
    },
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  ctx.progress(` ---> Running in ${short(id)}\n`);
  let committed = false;
  let failed = true;
  try {
    const attached = ctx.engine.attach(id, { stdout: ctx.stdout, stderr: ctx.stderr, stream: true });
    const exited = ctx.engine.wait(id, "next-exit");
    await ctx.engine.start(id);
    const onAbort = () => { ctx.engine.kill(id, "SIGKILL").catch(() => {}); };
    ctx.signal?.addEventListener("abort", onAbort, { once: true });
    let status;
    try {
      status = await exited;
      await attached;
    } finally {
      ctx.signal?.removeEventListener("abort", onAbort);
    }
    if (ctx.signal?.aborted) throw errCanceled("the build was cancelled");
    if (status.exitCode !== 0) {
      throw new BuildStepError(`The command '${plan.cmd.join(" ")}' returned a non-zero code: ${status.exitCode}`, status.exitCode);
    }
    const r = await ctx.committer.commit({
      parent: s.imageId, snapshot: { key: id, owned: false }, config: { ...c, Image: s.imageId },
      containerConfig: { ...plan.probeConfig, Image: s.imageId }, container: id, createdBy: plan.createdBy,
      ...(s.author ? { author: s.author } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    committed = true;
    failed = false;
    return r.id;
  } finally {
    // rm: remove after success; forcerm: always (dockerd keeps a failed step's container by default).
    if (ctx.forceRm || (ctx.rm && !failed) || ctx.signal?.aborted) {
      await ctx.engine.remove(id, { force: true, removeVolumes: true }).catch(() => {});
      if (committed || ctx.forceRm) ctx.progress(`Removing intermediate container ${short(id)}\n`);
    }
  }
}

export interface CopyPlan {
  dest: string;
  /** `file:<sum>`, `dir:<sum>` or `multi:<sum>`. */
  checksum: string;
  probeConfig: ContainerConfigJson;
  createdBy: string;
  chown: string | undefined;
  /** The sources, resolved (and `--from`'s image mounted) on first use. */
  sources(): Promise<CopySource[]>;
  release(): Promise<void>;
}

/**
 * Resolves a COPY/ADD's sources (mounting `--from`'s image when given), checksums them and
 * makes the step's container_config: `#(nop) COPY file:<sum> in <dest> `. An image never
 * changes, so the checksum of sources in a `--from` image is remembered (`ctx.sums`): a cached
 * step then needs no mount at all.
 */
export async function planCopy(
  ctx: StepContext, s: StageState, ins: Extract<Instruction, { kind: "copy" | "add" }>, contextDir: string,
  fromImage: (ref: string) => Promise<string | undefined>,
): Promise<CopyPlan> {
  const env = expansionEnv(s);
  const word = (w: string) => processWord(w, env, s.escape);
  const cmd = ins.kind === "copy" ? "COPY" : "ADD";
  const srcs = ins.sources.map(word);
  if (ins.kind === "add" && srcs.some((x) => /^[a-z][a-z0-9+.-]*:\/\//i.test(x))) {
    throw errInvalidArgument("ADD of a URL is not supported by berth's builder; download it in a RUN step (curl, wget) or COPY a local file");
  }
  const dest0 = word(ins.dest);
  const chown = ins.chown !== undefined ? word(ins.chown) : undefined;
  const fromId = ins.from !== undefined ? await fromImage(ins.from) : undefined;
  let root: string | undefined = ins.from === undefined ? contextDir : fromId ? undefined : path.join(ctx.mountDir, "empty-scratch");
  let release = async () => {};
  let resolved: CopySource[] | undefined;
  const sources = async (): Promise<CopySource[]> => {
    if (resolved) return resolved;
    if (root === undefined) {
      const view = await ctx.committer.view(fromId!, ctx.signal);
      try {
        const m = await mountSnapshot(view.mounts, ctx.mountDir);
        root = m.path;
        release = async () => { await m.release(); await view.release(); };
      } catch (e) {
        await view.release();
        throw e;
      }
    }
    resolved = await resolveSources(root, srcs, cmd);
    return resolved;
  };
  try {
    const sumKey = fromId ? createHash("sha256").update(JSON.stringify([fromId, cmd, srcs, chown ?? null])).digest("hex") : undefined;
    let checksum = sumKey ? await ctx.sums?.get(sumKey) : undefined;
    if (!checksum) {
      checksum = await sourcesChecksum(await sources(), chown ? `chown=${chown}\0` : "");
      if (sumKey) await ctx.sums?.put(sumKey, checksum);
    }
    const cfg = s.config;
    const probeConfig: ContainerConfigJson = { ...structuredClone(cfg), Cmd: [...shellOf(cfg), `#(nop) ${cmd} ${checksum} in ${dest0} `] };
    const abs = dest0.startsWith("/") ? dest0 : resolveWorkdir(cfg.WorkingDir ?? "", dest0);
    const dest = dest0.endsWith("/") && !abs.endsWith("/") ? abs + "/" : abs;
    return { sources, dest, checksum, probeConfig, createdBy: probeConfig.Cmd!.join(" "), chown, release: () => release() };
  } catch (e) {
    await release();
    throw e;
  }
}

export async function copyStep(ctx: StepContext, s: StageState, plan: CopyPlan, kind: "copy" | "add"): Promise<string> {
  return fsStep(ctx, s, plan.probeConfig, plan.createdBy, async (rootfs) => {
    const owner = plan.chown !== undefined ? await parseChown(plan.chown, rootfs) : { uid: 0, gid: 0 };
    await copyInto({ rootfs, sources: await plan.sources(), dest: plan.dest, owner, cmd: kind === "copy" ? "COPY" : "ADD", extractArchives: kind === "add" });
  });
}

/** WORKDIR creates its directory (root-owned, 0755) as dockerd does: a layer when it was missing. */
export async function workdirStep(ctx: StepContext, s: StageState, containerConfig: ContainerConfigJson, createdBy: string): Promise<string> {
  return fsStep(ctx, s, containerConfig, createdBy, async (rootfs) => {
    await mkdirAll(rootfs, s.config.WorkingDir ?? "/", { uid: 0, gid: 0 });
  });
}

/** A step that changes files: a builder-owned snapshot on the current image, mounted, changed, committed. */
async function fsStep(
  ctx: StepContext, s: StageState, containerConfig: ContainerConfigJson, createdBy: string, change: (rootfs: string) => Promise<void>,
): Promise<string> {
  const snap = await ctx.committer.prepare(s.imageId, ctx.signal);
  try {
    const m = await mountSnapshot(snap.mounts, ctx.mountDir);
    try {
      await change(m.path);
    } finally {
      await m.release();
    }
    const r = await ctx.committer.commit({
      parent: s.imageId, snapshot: { key: snap.key, owned: true }, config: { ...s.config, ...(s.imageId ? { Image: s.imageId } : {}) },
      containerConfig: { ...containerConfig, ...(s.imageId ? { Image: s.imageId } : {}) }, createdBy,
      ...(s.author ? { author: s.author } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    return r.id;
  } finally {
    await ctx.committer.removeSnapshot(snap.key).catch(() => {});
  }
}
