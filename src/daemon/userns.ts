/**
 * dockerd's `--userns-remap`: containers run in a user namespace whose root is an unprivileged
 * host uid taken from the subordinate ranges of a user (/etc/subuid, /etc/subgid).
 *
 * - `default` is the user and group `dockremap` (dockerd's name, so a host set up for dockerd
 *   works unchanged); berth creates it with useradd and gives it a free 65536-id range with
 *   usermod when it is missing, as dockerd does.
 * - `USER[:GROUP]` (names or numeric ids) uses that user's ranges; GROUP defaults to USER.
 *
 * Pure apart from the functions that read the files or run useradd/usermod (injectable).
 */
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import { promisify } from "node:util";
import { errInvalidArgument } from "../base/errors.js";
import type { LinuxIdMapping } from "../containerd/index.js";

export const DEFAULT_REMAP_USER = "dockremap";

export interface IdMappings {
  uids: LinuxIdMapping[];
  gids: LinuxIdMapping[];
}

export interface SubIdRange {
  name: string;
  start: number;
  length: number;
}

/** /etc/subuid or /etc/subgid lines "name:start:length" (comments and bad lines skipped). */
export function parseSubIds(text: string): SubIdRange[] {
  const out: SubIdRange[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const [name, start, length] = t.split(":");
    if (name === undefined || !/^\d+$/.test(start ?? "") || !/^\d+$/.test(length ?? "")) continue;
    out.push({ name, start: Number(start), length: Number(length) });
  }
  return out;
}

/** The mappings of a user's ranges: container ids from 0, one mapping per range in file order. */
export function mappingsOf(ranges: readonly SubIdRange[]): LinuxIdMapping[] {
  let next = 0;
  return ranges.map((r) => {
    const m = { containerID: next, hostID: r.start, size: r.length };
    next += r.length;
    return m;
  });
}

/** A container id → the host id, or -1 when outside the mappings (the kernel's overflow id then). */
export function toHost(maps: readonly LinuxIdMapping[], id: number): number {
  for (const m of maps) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return -1;
}

/** A host id → the container's id, or -1 when outside the mappings. */
export function toContainer(maps: readonly LinuxIdMapping[], id: number): number {
  for (const m of maps) if (id >= m.hostID && id < m.hostID + m.size) return m.containerID + (id - m.hostID);
  return -1;
}

/** The host uid and gid of the container's root. */
export function remappedRoot(m: IdMappings): { uid: number; gid: number } {
  return { uid: toHost(m.uids, 0), gid: toHost(m.gids, 0) };
}

/** `--userns-remap VALUE` → user and group (names or ids). */
export function parseRemapFlag(value: string): { user: string; group: string } {
  if (value === "default") return { user: DEFAULT_REMAP_USER, group: DEFAULT_REMAP_USER };
  const [user, group, extra] = value.split(":");
  if (!user || extra !== undefined || group === "") throw errInvalidArgument(`invalid --userns-remap ${JSON.stringify(value)}: expected default, USER or USER:GROUP`);
  return { user, group: group ?? user };
}

/** The first free start ≥ 100000 for `length` ids, given ranges already handed out (dockerd's search). */
export function freeRangeStart(taken: readonly SubIdRange[], length = 65536): number {
  const sorted = [...taken].sort((a, b) => a.start - b.start);
  let start = 100000;
  for (const r of sorted) {
    if (r.start + r.length <= start) continue;
    if (r.start >= start + length) break;
    start = r.start + r.length;
  }
  return start;
}

/** Name of an /etc/passwd or /etc/group entry by name or numeric id, undefined when absent. */
export function lookupName(file: string, who: string): string | undefined {
  for (const line of file.split("\n")) {
    const f = line.split(":");
    if (f.length < 3) continue;
    if (f[0] === who || (/^\d+$/.test(who) && f[2] === who)) return f[0];
  }
  return undefined;
}

export interface RemapHost {
  readFile(file: string): Promise<string>;
  run(cmd: string, args: string[]): Promise<unknown>;
}

const realHost: RemapHost = {
  readFile: (f) => fs.readFile(f, "utf8").catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? "" : Promise.reject(e))),
  run: (cmd, args) => promisify(execFile)(cmd, args),
};

/**
 * The mappings for `--userns-remap VALUE`, creating dockremap and its ranges for `default`
 * when missing. Errors name what is missing, before the daemon starts.
 */
export async function resolveRemap(value: string, host: RemapHost = realHost): Promise<IdMappings & { user: string; group: string }> {
  const want = parseRemapFlag(value);
  let user = lookupName(await host.readFile("/etc/passwd"), want.user);
  if (!user && value === "default") {
    await host.run("useradd", ["-r", "-s", "/bin/false", DEFAULT_REMAP_USER]).catch((e: Error) => {
      throw errInvalidArgument(`cannot create the user ${DEFAULT_REMAP_USER} for --userns-remap default: ${e.message}`);
    });
    user = lookupName(await host.readFile("/etc/passwd"), want.user);
  }
  if (!user) throw errInvalidArgument(`--userns-remap: no user ${JSON.stringify(want.user)} in /etc/passwd`);
  const group = lookupName(await host.readFile("/etc/group"), want.group === want.user ? user : want.group);
  if (!group) throw errInvalidArgument(`--userns-remap: no group ${JSON.stringify(want.group)} in /etc/group`);
  let subuid = parseSubIds(await host.readFile("/etc/subuid"));
  let subgid = parseSubIds(await host.readFile("/etc/subgid"));
  if (value === "default" && (!subuid.some((r) => r.name === user) || !subgid.some((r) => r.name === group))) {
    const args: string[] = [];
    if (!subuid.some((r) => r.name === user)) {
      const s = freeRangeStart(subuid);
      args.push("-v", `${s}-${s + 65535}`);
    }
    if (!subgid.some((r) => r.name === group)) {
      const s = freeRangeStart(subgid);
      args.push("-w", `${s}-${s + 65535}`);
    }
    await host.run("usermod", [...args, user]).catch((e: Error) => {
      throw errInvalidArgument(`cannot add subordinate ids for ${user} (usermod ${args.join(" ")}): ${e.message}`);
    });
    subuid = parseSubIds(await host.readFile("/etc/subuid"));
    subgid = parseSubIds(await host.readFile("/etc/subgid"));
  }
  const uids = mappingsOf(subuid.filter((r) => r.name === user));
  const gids = mappingsOf(subgid.filter((r) => r.name === group));
  if (uids.length === 0) throw errInvalidArgument(`--userns-remap: no subuid ranges found for user ${JSON.stringify(user)} in /etc/subuid`);
  if (gids.length === 0) throw errInvalidArgument(`--userns-remap: no subgid ranges found for group ${JSON.stringify(group)} in /etc/subgid`);
  return { uids, gids, user, group };
}
