/** Process options: args, env, cwd, hostname, domain name, tty. */
import { posix } from "node:path";

import { errInvalidArgument } from "../../base/errors.js";
import { cleanPath } from "../../base/go-parse.js";
import { type SpecOpt, processOf, pruneSysctl, sysctlOf } from "./spec-opt.js";

/** The command to run. dockerd refuses a container with neither Entrypoint nor Cmd. */
export function withArgs(args: readonly string[]): SpecOpt {
  if (args.length === 0) throw errInvalidArgument("No command specified");
  const copy = [...args];
  return (spec) => {
    processOf(spec).args = [...copy];
  };
}

function envKey(entry: string): string {
  const i = entry.indexOf("=");
  return i < 0 ? entry : entry.slice(0, i);
}

/**
 * docker's env merge (moby `ReplaceOrAppendEnvValues`): "KEY=value" replaces KEY where it is,
 * or is appended; a bare "KEY" (no "=") removes KEY. Unlike dockerd, a key given twice in
 * `overrides` keeps only its last value instead of appearing twice.
 */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  // A Map keeps first-insertion order, so a replaced key stays where the base had it; null marks
  // a removal but keeps the slot, so "A" then "A=1" restores A in place, as dockerd does.
  const byKey = new Map<string, string | null>();
  for (const entry of base) if (!byKey.has(envKey(entry))) byKey.set(envKey(entry), entry);
  for (const entry of overrides) byKey.set(envKey(entry), entry.includes("=") ? entry : null);
  return [...byKey.values()].filter((e): e is string => e !== null);
}

/**
 * Environment entries merged over what the spec has (the default PATH, HOSTNAME, TERM), so an
 * image or user PATH replaces the default one and the default stays when none is given.
 */
export function withEnv(env: readonly string[]): SpecOpt {
  const copy = [...env];
  return (spec) => {
    const proc = processOf(spec);
    proc.env = mergeEnv(proc.env ?? [], copy);
  };
}

/** The working directory; "" means "/". dockerd requires it absolute and cleans it. */
export function withCwd(cwd: string): SpecOpt {
  if (cwd !== "" && !posix.isAbsolute(cwd)) {
    throw errInvalidArgument(`the working directory '${cwd}' is invalid, it needs to be an absolute path`);
  }
  const clean = cwd === "" ? "/" : cleanPath(cwd);
  return (spec) => {
    processOf(spec).cwd = clean;
  };
}

/**
 * The UTS hostname, and HOSTNAME in the environment as dockerd sets it. A HOSTNAME the caller
 * set through withEnv wins whatever the order: only a missing HOSTNAME, or one equal to the
 * previous hostname (i.e. set by this option), is rewritten.
 */
export function withHostname(hostname: string): SpecOpt {
  return (spec) => {
    const previous = spec.hostname ?? "";
    spec.hostname = hostname;
    const proc = processOf(spec);
    const env = proc.env ?? [];
    const current = env.find((e) => envKey(e) === "HOSTNAME");
    if (current === undefined || current === `HOSTNAME=${previous}`) {
      proc.env = mergeEnv(env, [`HOSTNAME=${hostname}`]);
    }
  };
}

/**
 * The NIS domain name. runc 1.1 ignores the spec's `domainname` field, so, like dockerd, this
 * sets the `kernel.domainname` sysctl, which has the same effect inside the UTS namespace.
 */
export function withDomainname(domainname: string): SpecOpt {
  return (spec) => {
    const sysctl = sysctlOf(spec);
    if (domainname === "") delete sysctl["kernel.domainname"];
    else sysctl["kernel.domainname"] = domainname;
    pruneSysctl(spec);
  };
}

/** Allocate a pseudo-terminal; as dockerd, a TTY container gets TERM=xterm unless TERM is set. */
export function withTty(tty: boolean): SpecOpt {
  return (spec) => {
    const proc = processOf(spec);
    proc.terminal = tty;
    const env = proc.env ?? [];
    if (tty && !env.some((e) => envKey(e) === "TERM")) proc.env = [...env, "TERM=xterm"];
  };
}

/** The resource limits docker's `--ulimit` knows (go-units), by name. */
const ULIMIT_NAMES = new Set([
  "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
  "rtprio", "rttime", "sigpending", "stack",
]);

export interface UlimitSetting {
  name: string;
  soft: number;
  hard: number;
}

/**
 * docker `--ulimit name=soft[:hard]` / HostConfig.Ulimits: process.rlimits as RLIMIT_<NAME>,
 * replacing one of the same type. Validated as go-units parses them.
 */
export function withUlimits(ulimits: readonly UlimitSetting[]): SpecOpt {
  const rlimits = ulimits.map(({ name, soft, hard }) => {
    if (!ULIMIT_NAMES.has(name)) throw errInvalidArgument(`invalid ulimit type: ${name}`);
    for (const v of [soft, hard]) {
      // -1 is RLIM_INFINITY to dockerd (2^64-1 as runc's uint64): a JSON number cannot carry it.
      if (v === -1) throw errInvalidArgument(`unlimited (-1) ulimit for ${name} is not supported by berth`);
      if (!Number.isSafeInteger(v) || v < 0) throw errInvalidArgument(`invalid ulimit value for ${name}: ${v}`);
    }
    if (soft > hard) {
      throw errInvalidArgument(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    }
    return { type: `RLIMIT_${name.toUpperCase()}`, soft, hard };
  });
  return (spec) => {
    const proc = processOf(spec);
    const types = new Set(rlimits.map((r) => r.type));
    proc.rlimits = [...(proc.rlimits ?? []).filter((r) => !types.has(r.type)), ...rlimits.map((r) => ({ ...r }))];
  };
}

/** `--oom-score-adj`: written even when 0, as dockerd does, so the container does not inherit the shim's. */
export function withOomScoreAdj(score: number): SpecOpt {
  if (!Number.isSafeInteger(score) || score < -1000 || score > 1000) {
    throw errInvalidArgument(`Invalid value ${score}, range for oom score adj is [-1000, 1000]`);
  }
  return (spec) => {
    processOf(spec).oomScoreAdj = score;
  };
}
