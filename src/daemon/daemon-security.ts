/**
 * The daemon-wide security defaults dockerd takes as flags, in one place for the engine and the
 * spec: `--no-new-privileges`, `--default-ulimit`, AppArmor (probed), `--userns-remap` (the
 * mappings), and what `docker info` lists as SecurityOptions.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { errInvalidArgument } from "../base/errors.js";
import { ensureDefaultAppArmorProfile } from "./apparmor-host.js";
import type { AppArmorHost } from "./oci/apparmor.js";
import type { UlimitSetting } from "./oci/index.js";
import { seccompSecurityOption, type DaemonSeccomp } from "./oci/seccomp.js";
import { remappedRoot, resolveRemap, type IdMappings } from "./userns.js";

export interface DaemonSecurity {
  /** dockerd's --no-new-privileges: the default of every container; `no-new-privileges=false` opts out. */
  noNewPrivileges?: boolean;
  /** dockerd's --default-ulimit: a container's own ulimit of the same name wins. */
  defaultUlimits?: readonly UlimitSetting[];
  /** Whether AppArmor is enabled here (and which profiles are loaded). */
  apparmor?: AppArmorHost;
  /** dockerd's --userns-remap: containers not in `--userns host` get these mappings. */
  remap?: IdMappings;
}

const ULIMIT_NAMES = new Set([
  "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
  "rtprio", "rttime", "sigpending", "stack",
]);

/** `--default-ulimit name=soft[:hard]`, parsed as go-units' ParseUlimit (hard defaults to soft). */
export function parseUlimitFlag(value: string): UlimitSetting {
  const parts = value.split("=");
  if (parts.length !== 2) throw errInvalidArgument(`invalid ulimit argument: ${value}`);
  const [name, limits] = parts as [string, string];
  if (!ULIMIT_NAMES.has(name)) throw errInvalidArgument(`invalid ulimit type: ${name}`);
  const nums = limits.split(":");
  if (nums.length > 2) throw errInvalidArgument(`too many limit value arguments - ${limits}, can only have up to two, \`soft[:hard]\``);
  const parse = (s: string) => {
    if (!/^-?\d+$/.test(s)) throw errInvalidArgument(`invalid ulimit value for ${name}: ${s}`);
    return Number(s);
  };
  const soft = parse(nums[0]!);
  const hard = nums[1] === undefined ? soft : parse(nums[1]);
  if (soft > hard) throw errInvalidArgument(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { name, soft, hard };
}

/** dockerd's mergeUlimits: the container's ulimits, then each default whose name it does not set. */
export function mergeUlimits(own: readonly UlimitSetting[], defaults: readonly UlimitSetting[]): UlimitSetting[] {
  const names = new Set(own.map((u) => u.name));
  return [...own, ...defaults.filter((d) => !names.has(d.name))];
}

/** docker info's SecurityOptions, in dockerd's order: apparmor, seccomp, userns. */
export function securityOptions(seccomp: DaemonSeccomp, s: DaemonSecurity): string[] {
  return [
    ...(s.apparmor?.enabled ? ["name=apparmor"] : []),
    seccompSecurityOption(seccomp),
    ...(s.remap ? ["name=userns"] : []),
  ];
}

export interface DaemonSecurityFlags {
  noNewPrivileges?: boolean;
  /** `name=soft[:hard]` values of --default-ulimit. */
  defaultUlimits?: readonly string[];
  /** --userns-remap: default, USER or USER:GROUP. */
  usernsRemap?: string;
}

/**
 * The daemon's security settings from its flags, checked before anything starts: ulimits
 * parsed, the remap user resolved (dockremap created for `default`), berth's AppArmor profile
 * loaded where AppArmor is enabled.
 */
export async function loadDaemonSecurity(f: DaemonSecurityFlags): Promise<DaemonSecurity> {
  const defaultUlimits = (f.defaultUlimits ?? []).map(parseUlimitFlag);
  // Later flags of the same name win, as dockerd's map of them does.
  const byName = new Map(defaultUlimits.map((u) => [u.name, u]));
  const remap = f.usernsRemap ? await resolveRemap(f.usernsRemap) : undefined;
  const apparmor = await ensureDefaultAppArmorProfile();
  return {
    ...(f.noNewPrivileges ? { noNewPrivileges: true } : {}),
    ...(byName.size > 0 ? { defaultUlimits: [...byName.values()] } : {}),
    apparmor,
    ...(remap ? { remap: { uids: remap.uids, gids: remap.gids } } : {}),
  };
}

/**
 * dockerd's layout under --userns-remap: the daemon's state for remapped containers lives in
 * `<root>/<uid>.<gid>` (mode 0710, group the remapped root's, so runc — running as that root —
 * can reach the files it mounts), and `<root>` becomes 0711 so it can be traversed.
 */
export async function remappedStateRoot(root: string, remap: IdMappings): Promise<string> {
  const { uid, gid } = remappedRoot(remap);
  const dir = path.join(root, `${uid}.${gid}`);
  // As dockerd: a directory above the root that others cannot search blocks the remapped root.
  for (let d = path.dirname(path.resolve(root)); ; d = path.dirname(d)) {
    const st = await fs.stat(d);
    if ((st.mode & 0o001) === 0) {
      throw errInvalidArgument(`a directory above the daemon root (${d}) restricts access to the remapped root uid/gid; allow 'o+x' on it to use --userns-remap`);
    }
    if (d === "/") break;
  }
  await fs.chmod(root, 0o711);
  await fs.mkdir(dir, { recursive: true, mode: 0o710 });
  await fs.chown(dir, 0, gid);
  await fs.chmod(dir, 0o710);
  return dir;
}
