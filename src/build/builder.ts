// The classic builder (dockerd 20.10's builder/dockerfile, DOCKER_BUILDKIT=0): stages in
// order up to the target, each step printed as `Step i/n : <instruction>`, a cache probe
// before every commit (` ---> Using cache`), RUN through the engine, COPY/ADD into a
// builder-owned snapshot, metadata steps as config-only images (dockerd runs a container for
// them and commits an empty diff; berth skips the container, same images and history), and
// the image ID of every stage sent as `aux`. The output is a sink of stream lines; the API
// layer frames it as dockerd's JSON messages.
import fs from "node:fs/promises";
import path from "node:path";
import { BerthError, errInvalidArgument, errNotImplemented, isNotFound } from "../base/errors.js";
import type { Engine } from "../daemon/types.js";
import { familiarReference, normalizeReference, type ContainerConfigJson, type ImageInspect, type ImageService } from "../images/index.js";
import { BuildArgs } from "./build-args.js";
import { cacheKey, type BuildCache } from "./cache.js";
import { openBuildContext } from "./context.js";
import { DEFAULT_PATH, applyMeta, commentCmd, type StageState } from "./dispatch.js";
import { parseStages, toInstruction, type Instruction, type Stage } from "./instructions.js";
import { parseDockerfile } from "./dockerfile-parser.js";
import type { ImageCommitter, RunConfigJson } from "./layer-commit.js";
import { processWord } from "./shell-lex.js";
import { cleanupMounts } from "./snapshot-fs.js";
import { BuildStepError, copyStep, planCopy, planRun, runStep, short, workdirStep, type StepContext } from "./steps.js";

export interface BuildRequest {
  /** The context: a tar, plain or gzipped. */
  context: AsyncIterable<Uint8Array>;
  dockerfile?: string;
  tags: string[];
  buildArgs: Record<string, string | null>;
  target?: string;
  labels: Record<string, string>;
  noCache: boolean;
  pull: boolean;
  rm: boolean;
  forceRm: boolean;
  networkMode: string;
  quiet: boolean;
  /** Images whose chains are the only cache (dockerd's --cache-from); names that do not resolve are skipped. */
  cacheFrom?: string[];
  run?: BuildRunOptions;
  signal?: AbortSignal;
}

export interface BuildRunOptions {
  resources?: Partial<{ memory: number; memorySwap: number; cpuShares: number; cpuQuota: number; cpuPeriod: number; cpusetCpus: string }>;
  extraHosts?: string[];
  /** Bytes of /dev/shm; 0: the default. */
  shmSize?: number;
}

/** Where the builder's output goes: stream text (progress, RUN output) and aux values. */
export interface BuildOutput {
  stream(text: string): void;
  aux(value: unknown): void;
}

export interface BuildResult {
  id: string;
  tags: string[];
}

export interface Builder {
  /** Tags are checked before anything runs (invalid-argument). */
  build(req: BuildRequest, out: BuildOutput): Promise<BuildResult>;
  /** Drops the cache; intermediate images no tag or container holds are removed. */
  prune(o?: { signal?: AbortSignal }): Promise<{ deleted: string[]; reclaimed: number }>;
  /** The cache records (for docker system df): key, image, when made. */
  cacheEntries(): Promise<{ id: string; image: string; created: Date }[]>;
}

export interface BuilderOptions {
  engine: Engine;
  images: ImageService;
  committer: ImageCommitter;
  cache: BuildCache;
  /** A directory berth owns for contexts and mounts (`<root>/builder`). */
  workDir: string;
  /**
   * Set when the daemon runs with --userns-remap: RUN steps would write the shifted host ids into
   * their layers, so builds are refused (with this reason) rather than made with wrong owners.
   */
  refuse?: string;
}

interface StageResult { imageId: string | undefined; config: RunConfigJson }

/** At daemon start: what a crash left (mounts, contexts, snapshots) goes. */
export async function recoverBuilder(o: Pick<BuilderOptions, "committer" | "workDir">): Promise<void> {
  await cleanupMounts(path.join(o.workDir, "mnt"));
  await fs.rm(path.join(o.workDir, "tmp"), { recursive: true, force: true });
  await o.committer.cleanup();
}

export function createBuilder(o: BuilderOptions): Builder {
  return {
    build: (req, out) => build(o, req, out),
    async prune(po = {}) {
      const ids = await o.cache.clear();
      const deleted: string[] = [];
      for (const id of ids) {
        try {
          const inspect = await o.images.inspect(id, po.signal ? { signal: po.signal } : {});
          // Only what nothing names: a tagged build result stays.
          if (inspect.repoTags.length > 0) continue;
          await o.images.remove(id, po.signal ? { signal: po.signal } : {});
          deleted.push(id);
        } catch { /* gone, or in use by a container: kept */ }
      }
      // The images share their layers with each other and with the tagged results, and the image
      // service does not say which blobs a removal freed: 0 rather than an overcount.
      return { deleted, reclaimed: 0 };
    },
    async cacheEntries() {
      return Object.entries(await o.cache.entries()).map(([id, e]) => ({ id, image: e.image, created: new Date(e.created) }));
    },
  };
}

function normalizeTags(tags: readonly string[]): { normalized: string; familiar: string }[] {
  return tags.map((t) => {
    let normalized: string;
    try { normalized = normalizeReference(t); } catch (e) {
      // dockerd answers a bad tag with a 500 and reference's own wording.
      throw new BerthError("unknown", `invalid reference format: ${(e as Error).message.replace(/^invalid reference format "(?:[^"\\]|\\.)*": /, "")}`);
    }
    if (normalized.includes("@")) throw errInvalidArgument(`invalid reference format: a build tag cannot have a digest: ${t}`);
    return { normalized, familiar: familiarReference(normalized) };
  });
}

/** The stages that run: everything up to the target (or all), with the API's labels as a last step. */
function selectStages(stages: Stage[], target: string | undefined, labels: Record<string, string>): Stage[] {
  let chosen = stages;
  if (target) {
    const i = stages.findIndex((s) => s.name === target.toLowerCase());
    if (i < 0) throw errInvalidArgument(`failed to reach build target ${target} in Dockerfile`);
    chosen = stages.slice(0, i + 1);
  }
  const keys = Object.keys(labels).sort();
  if (keys.length > 0) {
    // dockerd adds one `LABEL k=v` step per label (sorted) to the last stage, not expanded.
    const last = chosen.at(-1)!;
    const added: Instruction[] = keys.map((k) => ({ kind: "label", original: `LABEL ${k}=${labels[k]}`, line: 0, pairs: [[k, labels[k]!]], noExpand: true }));
    chosen = [...chosen.slice(0, -1), { ...last, commands: [...last.commands, ...added] }];
  }
  return chosen;
}

async function build(o: BuilderOptions, req: BuildRequest, out: BuildOutput): Promise<BuildResult> {
  if (o.refuse) throw errNotImplemented(o.refuse);
  const tags = normalizeTags(req.tags);
  const ctx = await openBuildContext(req.context, { tmpRoot: path.join(o.workDir, "tmp"), ...(req.dockerfile ? { dockerfile: req.dockerfile } : {}), ...(req.signal ? { signal: req.signal } : {}) });
  const mountDir = path.join(o.workDir, "mnt");
  await fs.mkdir(mountDir, { recursive: true, mode: 0o700 });
  try {
    const df = parseStages(ctx.dockerfile);
    const stages = selectStages(df.stages, req.target, req.labels);
    const args = new BuildArgs(req.buildArgs);
    for (const a of df.metaArgs) {
      args.addMetaArg(a.name, a.value === undefined ? undefined : processWord(a.value, args.metaEnv(), df.escape));
    }
    const total = df.metaArgSteps.length + stages.reduce((n, s) => n + 1 + s.commands.length, 0);
    let step = 0;
    const say = (text: string) => { if (!req.quiet) out.stream(text); };
    const printStep = (original: string) => { step++; say(`Step ${step}/${total} : ${original}`); say("\n"); };
    for (const w of df.warnings) say(w + "\n");
    // The ARGs before the first FROM are steps of their own, with nothing after the line.
    for (const m of df.metaArgSteps) printStep(m);
    const sctx: StepContext = {
      engine: o.engine, committer: o.committer, mountDir, networkMode: req.networkMode, rm: req.rm, forceRm: req.forceRm, run: req.run ?? {},
      sums: { get: (k) => o.cache.getSum(k), put: (k, v) => o.cache.putSum(k, v) },
      ...(req.signal ? { signal: req.signal } : {}),
      stdout: (c) => say(c.toString("utf8")),
      stderr: (c) => say(`\u001b[91m${c.toString("utf8")}\u001b[0m`),
      progress: say,
    };
    const acceptHit = req.cacheFrom ? await cacheFromFilter(o.images, req.cacheFrom) : undefined;
    const done = new Map<string, StageResult>();
    const byIndex: StageResult[] = [];
    let last: StageResult | undefined;

    const imageOf = async (ref: string): Promise<string> => {
      try {
        if (req.pull) await o.images.pull(ref, req.signal ? { signal: req.signal } : {});
        return await o.images.resolve(ref, req.signal ? { signal: req.signal } : {});
      } catch (e) {
        if (!isNotFound(e) || req.pull) throw e;
        // dockerd pulls a base it does not have; without a registry the pull's error is the answer.
        await o.images.pull(ref, req.signal ? { signal: req.signal } : {});
        return o.images.resolve(ref, req.signal ? { signal: req.signal } : {});
      }
    };

    for (const stage of stages) {
      printStep(stage.original);
      args.resetStage();
      const base = processWord(stage.base, args.metaEnv(), df.escape);
      if (stage.platform) {
        const p = processWord(stage.platform, args.metaEnv(), df.escape);
        if (p !== "linux/amd64" && p !== "linux/x86_64") throw errInvalidArgument(`FROM --platform=${p}: berth builds for linux/amd64 only`);
      }
      const state: StageState = { imageId: undefined, config: {}, author: undefined, escape: df.escape, args, cmdSet: false };
      const prev = done.get(base.toLowerCase());
      if (prev) {
        state.imageId = prev.imageId;
        state.config = structuredClone(prev.config);
      } else if (base.toLowerCase() !== "scratch") {
        state.imageId = await imageOf(base);
        state.config = imageRunConfig(await o.images.inspect(state.imageId), state.imageId);
      }
      if (!(state.config.Env ?? []).some((e) => e.startsWith("PATH="))) state.config.Env = [...(state.config.Env ?? []), DEFAULT_PATH];
      say(` ---> ${short(state.imageId)}\n`);
      const triggers = state.config.OnBuild ?? [];
      state.config.OnBuild = null;
      const commands: Instruction[] = [];
      if (triggers.length > 0) {
        say(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? "s" : ""}\n`);
        for (const t of triggers) commands.push(toInstruction(parseDockerfile(t).nodes[0]!, df.escape));
      }
      let triggerCount = commands.length;
      commands.push(...stage.commands);
      for (const ins of commands) {
        if (triggerCount > 0) triggerCount--;
        else printStep(ins.original);
        await dispatch(o, req, sctx, state, ins, ctx.dir, say, acceptHit, async (from) => {
          const byName = done.get(from.toLowerCase());
          if (byName) return byName.imageId;
          if (/^\d+$/.test(from)) {
            const r = byIndex[Number(from)];
            if (!r) throw errInvalidArgument(`invalid from flag value ${from}: refers to current build stage`);
            return r.imageId;
          }
          return imageOf(from);
        });
      }
      const result: StageResult = { imageId: state.imageId, config: state.config };
      if (stage.name) done.set(stage.name, result);
      byIndex.push(result);
      last = result;
      if (state.imageId && !req.quiet) out.aux({ ID: state.imageId });
    }
    const unused = args.unused();
    if (unused.length > 0) say(`[Warning] One or more build-args [${unused.join(" ")}] were not consumed\n`);
    const id = last?.imageId;
    if (!id) throw new BuildStepError("No image was generated. Is your Dockerfile empty?");
    for (const t of tags) await o.images.tag(id, t.normalized, req.signal ? { signal: req.signal } : {});
    if (tags.length === 0) await o.committer.publish(id, req.signal);
    if (req.quiet) out.stream(`${id}\n`);
    else {
      out.stream(`Successfully built ${short(id)}\n`);
      for (const t of tags) out.stream(`Successfully tagged ${t.familiar}\n`);
    }
    return { id, tags: tags.map((t) => t.familiar) };
  } finally {
    await ctx.close();
  }
}

/**
 * With --cache-from dockerd takes cache hits only from the given images and their parents (not
 * from the local cache): a hit is accepted when its history and layers are a prefix of one of
 * theirs.
 */
async function cacheFromFilter(images: ImageService, refs: readonly string[]): Promise<(id: string) => Promise<boolean>> {
  const chains: { history: string[]; diffIds: string[] }[] = [];
  const chainOf = async (ref: string) => {
    const i = await images.inspect(ref);
    const h = await images.history(ref);
    return { history: h.reverse().map((e) => `${e.created?.toISOString() ?? ""} ${e.createdBy}`), diffIds: i.rootfs.diffIds };
  };
  for (const ref of refs) {
    try { chains.push(await chainOf(ref)); } catch { /* dockerd skips a cache source it cannot load */ }
  }
  const isPrefix = (a: string[], b: string[]) => a.length <= b.length && a.every((x, i) => x === b[i]);
  return async (id) => {
    const c = await chainOf(id);
    return chains.some((x) => isPrefix(c.history, x.history) && isPrefix(c.diffIds, x.diffIds));
  };
}

/** The image's config as a run config (Docker JSON casing) for the stage to start from. */
function imageRunConfig(i: ImageInspect, id: string): RunConfigJson {
  const c = i.config;
  const onBuild = c.onBuild;
  const cfg: RunConfigJson = {
    ...(c.user ? { User: c.user } : {}),
    ...(c.exposedPorts.length ? { ExposedPorts: Object.fromEntries(c.exposedPorts.map((p) => [p, {}])) } : {}),
    Env: [...c.env],
    Cmd: c.cmd ?? null,
    ...(c.healthcheck ? { Healthcheck: {
      Test: c.healthcheck.test,
      ...(c.healthcheck.intervalNs ? { Interval: c.healthcheck.intervalNs } : {}),
      ...(c.healthcheck.timeoutNs ? { Timeout: c.healthcheck.timeoutNs } : {}),
      ...(c.healthcheck.startPeriodNs ? { StartPeriod: c.healthcheck.startPeriodNs } : {}),
      ...(c.healthcheck.retries ? { Retries: c.healthcheck.retries } : {}),
    } } : {}),
    Image: id,
    Volumes: c.volumes.length ? Object.fromEntries(c.volumes.map((v) => [v, {}])) : null,
    WorkingDir: c.workingDir,
    Entrypoint: c.entrypoint ?? null,
    OnBuild: onBuild.length ? onBuild : null,
    Labels: Object.keys(c.labels).length ? c.labels : null,
    ...(c.stopSignal ? { StopSignal: c.stopSignal } : {}),
    ...(c.shell ? { Shell: c.shell } : {}),
  };
  return cfg;
}

async function dispatch(
  o: BuilderOptions, req: BuildRequest, sctx: StepContext, state: StageState, ins: Instruction, contextDir: string,
  say: (t: string) => void, acceptHit: ((id: string) => Promise<boolean>) | undefined, fromImage: (ref: string) => Promise<string | undefined>,
): Promise<void> {
  const probe = async (containerConfig: ContainerConfigJson): Promise<{ key: string; hit: string | undefined }> => {
    const key = cacheKey(state.imageId, containerConfig);
    if (req.noCache) return { key, hit: undefined };
    const hit = await o.cache.get(key);
    if (!hit) return { key, hit: undefined };
    try {
      await o.images.resolve(hit);
      if (acceptHit && !(await acceptHit(hit))) return { key, hit: undefined };
      return { key, hit };
    } catch {
      await o.cache.drop(key);
      return { key, hit: undefined };
    }
  };
  const adopt = async (key: string, id: string, cached: boolean) => {
    if (cached) say(" ---> Using cache\n");
    else await o.cache.put(key, id);
    state.imageId = id;
    say(` ---> ${short(id)}\n`);
  };

  if (ins.kind === "run") {
    const plan = planRun(state, ins);
    const { key, hit } = await probe({ ...plan.probeConfig, ...(state.imageId ? { Image: state.imageId } : {}) } as ContainerConfigJson);
    if (hit) return adopt(key, hit, true);
    const id = await runStep(sctx, state, plan);
    return adopt(key, id, false);
  }
  if (ins.kind === "copy" || ins.kind === "add") {
    const plan = await planCopy(sctx, state, ins, contextDir, fromImage);
    try {
      const { key, hit } = await probe({ ...plan.probeConfig, ...(state.imageId ? { Image: state.imageId } : {}) } as ContainerConfigJson);
      if (hit) return await adopt(key, hit, true);
      const id = await copyStep(sctx, state, plan, ins.kind);
      return await adopt(key, id, false);
    } finally {
      await plan.release();
    }
  }
  let config: RunConfigJson;
  let comment: string;
  let oneWord = false;
  if (ins.kind === "arg") {
    const parts: string[] = [];
    for (const a of ins.args) {
      const value = a.value === undefined ? undefined : processWord(a.value, [...(state.config.Env ?? []), ...state.args.filterAllowed(state.config.Env ?? [])], state.escape);
      state.args.addArg(a.name, value);
      parts.push(value === undefined ? a.name : `${a.name}=${value}`);
    }
    config = structuredClone(state.config);
    comment = `ARG ${parts.join(" ")}`;
  } else {
    const r = applyMeta(state, ins);
    config = r.config;
    comment = r.comment;
    oneWord = r.oneWord ?? false;
    if (r.author !== undefined) state.author = r.author;
    if (ins.kind === "cmd") state.cmdSet = true;
  }
  const containerConfig: RunConfigJson = { ...structuredClone(config), Cmd: commentCmd(config, comment, oneWord), ...(state.imageId ? { Image: state.imageId } : {}) };
  const { key, hit } = await probe(containerConfig);
  state.config = config;
  if (hit) return adopt(key, hit, true);
  if (ins.kind === "workdir") return adopt(key, await workdirStep(sctx, state, containerConfig, containerConfig.Cmd!.join(" ")), false);
  const r = await o.committer.commit({
    parent: state.imageId, config: { ...config, ...(state.imageId ? { Image: state.imageId } : {}) }, containerConfig,
    createdBy: containerConfig.Cmd!.join(" "), ...(state.author ? { author: state.author } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  return adopt(key, r.id, false);
}
