/** Security options: no-new-privileges, `--security-opt`, masked and read-only paths. */
import { errInvalidArgument } from "../../base/errors.js";
import { goQuote as quote, parseGoBool } from "../../base/go-parse.js";
import { type SpecOpt, linuxOf, processOf } from "./spec-opt.js";

export function withNoNewPrivileges(enabled = true): SpecOpt {
  return (spec) => {
    const proc = processOf(spec);
    if (enabled) proc.noNewPrivileges = true;
    else delete proc.noNewPrivileges;
  };
}

function unsupportedSecurityOpt(key: "label"): Error {
  return errInvalidArgument(`invalid --security-opt: ${key} is not supported: SELinux labels are not applied by berth (only label=disable is accepted)`);
}

/**
 * docker `--security-opt` values, parsed as dockerd's `parseSecurityOpt` (KEY=VALUE, or the
 * deprecated KEY:VALUE). no-new-privileges is applied; seccomp values are withSeccomp's
 * (seccomp.ts), apparmor values withAppArmor's (apparmor.ts). SELinux: label=disable and disable
 * are accepted as already satisfied; a label berth cannot apply is rejected as "not supported"
 * rather than silently ignored.
 */
export function withSecurityOpts(opts: readonly string[]): SpecOpt {
  let noNewPrivileges: boolean | undefined;
  for (const opt of opts) {
    if (opt === "no-new-privileges") {
      noNewPrivileges = true;
      continue;
    }
    if (opt === "disable") continue; // label disable: no SELinux labels are applied anyway.
    const sep = opt.includes("=") ? "=" : opt.includes(":") ? ":" : undefined;
    if (sep === undefined) throw errInvalidArgument(`invalid --security-opt 1: ${quote(opt)}`);
    const i = opt.indexOf(sep);
    const key = opt.slice(0, i);
    const value = opt.slice(i + 1);
    switch (key) {
      case "no-new-privileges": {
        const b = parseGoBool(value);
        if (b === undefined) throw errInvalidArgument(`invalid --security-opt 2: ${quote(opt)}`);
        noNewPrivileges = b;
        break;
      }
      case "label":
        if (value !== "disable") throw unsupportedSecurityOpt(key);
        break;
      case "apparmor":
        break; // a profile name or unconfined: withAppArmor (apparmor.ts) checks and applies it
      case "seccomp":
        break; // unconfined, builtin or a profile's JSON: withSeccomp (seccomp.ts) decodes and applies it
      default:
        throw errInvalidArgument(`invalid --security-opt 2: ${quote(opt)}`);
    }
  }
  return (spec) => {
    if (noNewPrivileges !== undefined) withNoNewPrivileges(noNewPrivileges)(spec);
  };
}

/** HostConfig.MaskedPaths: replaces the default list (the CLI sends [] for systempaths=unconfined). */
export function withMaskedPaths(paths: readonly string[]): SpecOpt {
  const copy = [...paths];
  return (spec) => {
    linuxOf(spec).maskedPaths = [...copy];
  };
}

/** HostConfig.ReadonlyPaths: replaces the default list. */
export function withReadonlyPaths(paths: readonly string[]): SpecOpt {
  const copy = [...paths];
  return (spec) => {
    linuxOf(spec).readonlyPaths = [...copy];
  };
}
