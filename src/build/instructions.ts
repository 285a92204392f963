// Typed instructions and stages from the parsed nodes (moby's instructions.Parse): each
// keyword's arguments and allowed flags are checked here, before anything runs, so a bad
// Dockerfile fails with "Dockerfile parse error line N: ..." and no container is created.
import { errInvalidArgument } from "../base/errors.js";
import { parseDurationNs } from "./go-format.js";
import {
  parseDockerfile, parseErrorAt, parseJsonOrWords, parseMaybeJson, parseNameValues, splitWords, type DockerfileNode,
} from "./dockerfile-parser.js";

export type CommandForm = { json: true; args: string[] } | { json: false; line: string };

export interface Healthcheck {
  test: string[];
  intervalNs: number;
  timeoutNs: number;
  startPeriodNs: number;
  retries: number;
}

interface Base { original: string; line: number }

export type Instruction = Base & (
  | { kind: "run"; form: CommandForm }
  | { kind: "cmd" | "entrypoint"; form: CommandForm }
  | { kind: "shell"; args: string[] }
  | { kind: "copy" | "add"; sources: string[]; dest: string; from: string | undefined; chown: string | undefined }
  | { kind: "env" | "label"; pairs: [string, string][]; noExpand?: boolean }
  | { kind: "arg"; args: { name: string; value: string | undefined }[] }
  | { kind: "workdir" | "user" | "stopsignal" | "maintainer"; value: string }
  | { kind: "expose" | "volume"; values: string[] }
  | { kind: "healthcheck"; healthcheck: Healthcheck }
  | { kind: "onbuild"; expression: string }
);

export interface Stage {
  /** Lower-cased `AS` name, if any. */
  name: string | undefined;
  /** The base as written (expanded with the meta args when the stage starts). */
  base: string;
  platform: string | undefined;
  original: string;
  line: number;
  commands: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM. */
  metaArgs: { name: string; value: string | undefined }[];
  /** Those ARG instructions as written: dockerd prints each as a step. */
  metaArgSteps: string[];
  stages: Stage[];
  escape: string;
  warnings: string[];
}

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

function flagMap(node: DockerfileNode, allowed: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of node.flags) {
    const m = /^--([^=]+)(?:=([\s\S]*))?$/.exec(f)!;
    const name = m[1]!;
    if ((name === "mount" || name === "network" || name === "security" || name === "chmod" || name === "link") && !allowed.includes(name)) {
      throw errInvalidArgument(`the --${name} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
    }
    if (!allowed.includes(name)) throw errInvalidArgument(`Unknown flag: ${name}`);
    if (m[2] === undefined) throw errInvalidArgument(`Missing a value on flag: --${name}`);
    if (out.has(name)) throw errInvalidArgument(`Duplicate flag specified: ${name}`);
    out.set(name, m[2]);
  }
  return out;
}

const HEREDOC = /(^|\s)<<-?["']?[A-Za-z_][A-Za-z0-9_]*["']?(\s|$)/;

function refuseHeredoc(node: DockerfileNode): void {
  if (HEREDOC.test(node.rest)) {
    throw errInvalidArgument("heredocs (<<EOF) in Dockerfiles are not supported by the classic builder; build with BuildKit or write the content to a file");
  }
}

function commandForm(node: DockerfileNode): CommandForm {
  const f = parseMaybeJson(node.rest);
  return f.json ? { json: true, args: f.args } : { json: false, line: f.line };
}

function parseArgs(node: DockerfileNode, escape: string): { name: string; value: string | undefined }[] {
  const words = splitWords(node.rest, escape);
  if (words.length === 0) throw errInvalidArgument("ARG requires at least one argument");
  return words.map((w) => {
    const eq = w.indexOf("=");
    if (eq === 0) throw errInvalidArgument("ARG names can not be blank");
    return eq < 0 ? { name: w, value: undefined } : { name: w.slice(0, eq), value: w.slice(eq + 1) };
  });
}

function parseHealthcheck(node: DockerfileNode, escape: string): Healthcheck {
  const flags = flagMap(node, ["interval", "timeout", "start-period", "retries"]);
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(node.rest.trim());
  if (!m) throw errInvalidArgument("HEALTHCHECK requires an argument");
  const type = m[1]!.toUpperCase();
  if (type === "NONE") {
    if (m[2]?.trim() || flags.size > 0) throw errInvalidArgument("HEALTHCHECK NONE takes no arguments");
    return { test: ["NONE"], intervalNs: 0, timeoutNs: 0, startPeriodNs: 0, retries: 0 };
  }
  if (type !== "CMD") throw errInvalidArgument(`Unknown type "${type}" in HEALTHCHECK (try CMD)`);
  const rest = m[2] ?? "";
  if (rest.trim() === "") throw errInvalidArgument("Missing command after HEALTHCHECK CMD");
  void escape;
  const f = parseMaybeJson(rest);
  const test = f.json ? ["CMD", ...f.args] : ["CMD-SHELL", f.line];
  const duration = (flag: string): number => {
    const v = flags.get(flag);
    if (v === undefined || v === "") return 0;
    const ns = parseDurationNs(v);
    if (ns === 0) return 0;
    if (ns < 1_000_000) throw errInvalidArgument(`${flag[0]!.toUpperCase()}${flag.slice(1).replace("-p", "P")} "--${flag}" cannot be less than 1ms`);
    return ns;
  };
  let retries = 0;
  const r = flags.get("retries");
  if (r !== undefined && r !== "") {
    if (!/^-?\d+$/.test(r)) throw errInvalidArgument(`strconv.ParseInt: parsing "${r}": invalid syntax`);
    retries = Number(r);
    if (retries < 0) throw errInvalidArgument(`--retries cannot be negative (${retries})`);
  }
  return { test, intervalNs: duration("interval"), timeoutNs: duration("timeout"), startPeriodNs: duration("start-period"), retries };
}

const ONBUILD_FORBIDDEN = new Set(["onbuild", "from", "maintainer"]);

/** One instruction (not FROM) from its node. */
export function toInstruction(node: DockerfileNode, escape: string): Instruction {
  const base = { original: node.original, line: node.startLine };
  const noFlags = () => flagMap(node, []);
  const needArg = (kw: string) => { if (node.rest.trim() === "") throw errInvalidArgument(`${kw} requires at least one argument`); };
  switch (node.cmd) {
    case "run":
      noFlags(); needArg("RUN"); refuseHeredoc(node);
      return { ...base, kind: "run", form: commandForm(node) };
    case "cmd": case "entrypoint":
      noFlags();
      return { ...base, kind: node.cmd, form: commandForm(node) };
    case "shell": {
      noFlags();
      const f = parseMaybeJson(node.rest);
      if (!f.json) throw errInvalidArgument("SHELL requires the arguments to be in JSON form");
      if (f.args.length === 0) throw errInvalidArgument("SHELL requires at least one argument");
      return { ...base, kind: "shell", args: f.args };
    }
    case "copy": case "add": {
      const flags = flagMap(node, node.cmd === "copy" ? ["from", "chown"] : ["chown"]);
      refuseHeredoc(node);
      const words = parseJsonOrWords(node.rest);
      if (words.length < 2) throw errInvalidArgument(`${node.cmd.toUpperCase()} requires at least two arguments, but only one was provided. Destination could not be determined.`);
      return { ...base, kind: node.cmd, sources: words.slice(0, -1), dest: words.at(-1)!, from: flags.get("from"), chown: flags.get("chown") };
    }
    case "env": case "label":
      noFlags();
      return { ...base, kind: node.cmd, pairs: parseNameValues(node.rest, escape, node.cmd.toUpperCase()) };
    case "arg":
      noFlags();
      return { ...base, kind: "arg", args: parseArgs(node, escape) };
    case "workdir": case "user": case "stopsignal": case "maintainer": {
      noFlags();
      const v = node.rest.trim();
      if (v === "") throw errInvalidArgument(`${node.cmd.toUpperCase()} requires exactly one argument`);
      if (node.cmd === "stopsignal" && /\s/.test(v)) throw errInvalidArgument("STOPSIGNAL requires exactly one argument");
      return { ...base, kind: node.cmd, value: v };
    }
    case "expose": {
      noFlags(); needArg("EXPOSE");
      return { ...base, kind: "expose", values: node.rest.trim().split(/\s+/) };
    }
    case "volume": {
      noFlags();
      const values = parseJsonOrWords(node.rest);
      if (values.length === 0) throw errInvalidArgument("VOLUME requires at least one argument");
      return { ...base, kind: "volume", values };
    }
    case "healthcheck":
      return { ...base, kind: "healthcheck", healthcheck: parseHealthcheck(node, escape) };
    case "onbuild": {
      noFlags();
      const sub = /^(\S+)/.exec(node.rest.trim())?.[1]?.toLowerCase();
      if (!sub) throw errInvalidArgument("ONBUILD requires at least one argument");
      if (sub === "onbuild") throw errInvalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (ONBUILD_FORBIDDEN.has(sub)) throw errInvalidArgument(`${sub.toUpperCase()} isn't allowed as an ONBUILD trigger`);
      const expression = node.rest.trim();
      // The trigger must itself be a valid instruction.
      const inner = parseDockerfile(expression).nodes[0];
      if (inner) toInstruction(inner, escape);
      return { ...base, kind: "onbuild", expression };
    }
    default:
      throw errInvalidArgument(`unknown instruction: ${node.cmd.toUpperCase()}`);
  }
}

function toStage(node: DockerfileNode): Stage {
  const flags = flagMap(node, ["platform"]);
  const words = node.rest.trim() === "" ? [] : node.rest.trim().split(/\s+/);
  if (words.length !== 1 && words.length !== 3) throw errInvalidArgument("FROM requires either one or three arguments");
  let name: string | undefined;
  if (words.length === 3) {
    if (words[1]!.toLowerCase() !== "as") throw errInvalidArgument("When using FROM with 3 arguments, the second argument must be \"AS\"");
    name = words[2]!.toLowerCase();
    if (!STAGE_NAME.test(name)) throw errInvalidArgument(`invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
  }
  return { name, base: words[0]!, platform: flags.get("platform") || undefined, original: node.original, line: node.startLine, commands: [] };
}

/** Parses a Dockerfile into meta args and stages; every error names its line. */
export function parseStages(text: string): Dockerfile {
  const parsed = parseDockerfile(text);
  const metaArgs: Dockerfile["metaArgs"] = [];
  const metaArgSteps: string[] = [];
  const stages: Stage[] = [];
  for (const node of parsed.nodes) {
    try {
      if (node.cmd === "from") { stages.push(toStage(node)); continue; }
      const ins = toInstruction(node, parsed.escape);
      const stage = stages.at(-1);
      if (stage) stage.commands.push(ins);
      else if (ins.kind === "arg") { metaArgs.push(...ins.args); metaArgSteps.push(ins.original); }
      else throw errInvalidArgument(`${node.cmd.toUpperCase()} cannot be used before the first FROM`);
    } catch (e) {
      throw parseErrorAt(node.startLine, (e as Error).message);
    }
  }
  if (stages.length === 0) throw errInvalidArgument("the Dockerfile (Dockerfile) cannot be empty");
  const seen = new Set<string>();
  for (const s of stages) {
    if (!s.name) continue;
    if (seen.has(s.name)) throw parseErrorAt(s.line, `duplicate name ${s.name}`);
    seen.add(s.name);
  }
  return { metaArgs, metaArgSteps, stages, escape: parsed.escape, warnings: parsed.warnings };
}
