// What each metadata instruction does to the image config, and the history line it leaves
// (`/bin/sh -c #(nop)  ENV A=b`), as the classic builder's dispatchers do. Pure: the builder
// runs RUN and the copies; everything here is config arithmetic over expanded words.
import { errInvalidArgument } from "../base/errors.js";
import type { ContainerConfigJson } from "../images/index.js";
import type { BuildArgs } from "./build-args.js";
import { durationString, goQuoteList, goQuoteRune } from "./go-format.js";
import type { Instruction } from "./instructions.js";
import { processWord, processWords } from "./shell-lex.js";

export const DEFAULT_SHELL = ["/bin/sh", "-c"];
export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface StageState {
  /** Image ID of the current state; undefined while on scratch with nothing committed. */
  imageId: string | undefined;
  config: ContainerConfigJson;
  author: string | undefined;
  escape: string;
  args: BuildArgs;
  /** Whether CMD was set in this stage (an ENTRYPOINT then keeps it). */
  cmdSet: boolean;
}

/** The instruction's effect: the new config and the text after `#(nop)` in history. */
export interface MetaResult {
  config: ContainerConfigJson;
  /** `withCmdComment` (dockerd puts "#(nop) " and the comment in two words: two spaces). */
  comment: string;
  /** WORKDIR and COPY use one word ("#(nop) WORKDIR /app": one space). */
  oneWord?: boolean;
  author?: string;
}

export const shellOf = (c: ContainerConfigJson) => (c.Shell && c.Shell.length > 0 ? [...c.Shell] : [...DEFAULT_SHELL]);

/** The Cmd dockerd stores in container_config for a metadata step; joined, the history line. */
export function commentCmd(c: ContainerConfigJson, comment: string, oneWord = false): string[] {
  return oneWord ? [...shellOf(c), `#(nop) ${comment}`] : [...shellOf(c), "#(nop) ", comment];
}

/** The environment words expand against: ENV first, then the declared build args. */
export function expansionEnv(s: StageState): string[] {
  const env = s.config.Env ?? [];
  return [...env, ...s.args.filterAllowed(env)];
}

function setEnv(env: readonly string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((e) => e.split("=")[0] === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

/** Absolute WORKDIR: relative ones are joined to the current one, as path.Join then Clean. */
export function resolveWorkdir(current: string, dir: string): string {
  const joined = dir.startsWith("/") ? dir : `${current || "/"}/${dir}`;
  const parts: string[] = [];
  for (const p of joined.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return "/" + parts.join("/");
}

function portSpec(p: string): string[] {
  const m = /^(?:(.*):)?(\d+)(?:-(\d+))?(?:\/(\w+))?$/.exec(p);
  if (!m) throw errInvalidArgument(`Invalid containerPort: ${p}`);
  const proto = (m[4] ?? "tcp").toLowerCase();
  if (!["tcp", "udp", "sctp"].includes(proto)) throw errInvalidArgument(`Invalid proto: ${m[4]}`);
  const start = Number(m[2]);
  const end = m[3] !== undefined ? Number(m[3]) : start;
  if (end < start) throw errInvalidArgument(`Invalid range specified for the Port: ${p}`);
  const out: string[] = [];
  for (let i = start; i <= end; i++) out.push(`${i}/${proto}`);
  return out;
}

/** Applies a metadata instruction (not RUN, COPY, ADD, ARG handled with its state, or FROM). */
export function applyMeta(s: StageState, ins: Instruction): MetaResult {
  const c: ContainerConfigJson = structuredClone(s.config);
  const env = expansionEnv(s);
  const word = (w: string) => processWord(w, env, s.escape);
  switch (ins.kind) {
    case "env": {
      let msg = "ENV";
      let e = c.Env ?? [];
      for (const [k, v] of ins.pairs) {
        const key = word(k);
        const value = word(v);
        if (key === "") throw errInvalidArgument("ENV names can not be blank");
        msg += ` ${key}=${value}`;
        e = setEnv(e, key, value);
      }
      c.Env = e;
      return { config: c, comment: msg };
    }
    case "label": {
      let msg = "LABEL";
      const labels = { ...(c.Labels ?? {}) };
      for (const [k, v] of ins.pairs) {
        const key = ins.noExpand ? k : word(k);
        const value = ins.noExpand ? v : word(v);
        msg += ` ${key}=${value}`;
        labels[key] = value;
      }
      c.Labels = labels;
      return { config: c, comment: msg };
    }
    case "maintainer":
      return { config: c, comment: `MAINTAINER ${ins.value}`, author: ins.value };
    case "workdir": {
      c.WorkingDir = resolveWorkdir(c.WorkingDir ?? "", word(ins.value));
      return { config: c, comment: `WORKDIR ${c.WorkingDir}`, oneWord: true };
    }
    case "user": {
      c.User = word(ins.value);
      return { config: c, comment: `USER ${c.User}` };
    }
    case "stopsignal": {
      const sig = word(ins.value);
      if (!/^(SIG)?[A-Z0-9+-]+$/.test(sig) && !/^\d+$/.test(sig)) throw errInvalidArgument(`Invalid signal: ${sig}`);
      c.StopSignal = sig;
      return { config: c, comment: `STOPSIGNAL ${sig}` };
    }
    case "expose": {
      const ports = ins.values.flatMap((v) => processWords(v, env, s.escape));
      const exposed = { ...(c.ExposedPorts ?? {}) };
      for (const p of ports) for (const spec of portSpec(p)) exposed[spec] = {};
      c.ExposedPorts = exposed;
      return { config: c, comment: `EXPOSE ${ports.join(" ")}` };
    }
    case "volume": {
      const vols = ins.values.map(word);
      const volumes = { ...(c.Volumes ?? {}) };
      for (const v of vols) {
        if (v.trim() === "") throw errInvalidArgument("VOLUME specified can not be an empty string");
        volumes[v] = {};
      }
      c.Volumes = volumes;
      return { config: c, comment: `VOLUME [${vols.join(" ")}]` };
    }
    case "cmd": case "entrypoint": {
      const args = ins.form.json ? ins.form.args : [...shellOf(c), ins.form.line];
      if (ins.kind === "cmd") {
        c.Cmd = args;
      } else {
        c.Entrypoint = !ins.form.json && ins.form.line.trim() === "" ? null : args;
        // An ENTRYPOINT resets an inherited CMD (dockerd: "when the ENTRYPOINT changes, CMD is reset").
        if (!s.cmdSet) c.Cmd = null;
      }
      return { config: c, comment: `${ins.kind.toUpperCase()} ${goQuoteList((ins.kind === "cmd" ? c.Cmd : c.Entrypoint) ?? [])}` };
    }
    case "shell":
      c.Shell = ins.args;
      return { config: c, comment: `SHELL [${ins.args.join(" ")}]` };
    case "healthcheck": {
      const h = ins.healthcheck;
      const hc: NonNullable<ContainerConfigJson["Healthcheck"]> = { Test: h.test };
      if (h.intervalNs) hc.Interval = h.intervalNs;
      if (h.timeoutNs) hc.Timeout = h.timeoutNs;
      if (h.startPeriodNs) hc.StartPeriod = h.startPeriodNs;
      if (h.retries) hc.Retries = h.retries;
      c.Healthcheck = hc;
      const q = `&{${goQuoteList(h.test)} "${durationString(h.intervalNs)}" "${durationString(h.timeoutNs)}" "${durationString(h.startPeriodNs)}" ${goQuoteRune(h.retries)}}`;
      return { config: c, comment: `HEALTHCHECK ${q}` };
    }
    case "onbuild":
      c.OnBuild = [...(c.OnBuild ?? []), ins.expression];
      return { config: c, comment: `ONBUILD ${ins.expression}` };
    default:
      throw errInvalidArgument(`${ins.kind.toUpperCase()} is not a metadata instruction`);
  }
}
