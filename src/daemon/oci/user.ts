/** The process user: ids, and docker's `--user` / `--group-add` resolved against the image. */
import { errInvalidArgument } from "../../base/errors.js";
import { atoi } from "../../base/go-parse.js";
import { syncCapabilitySets } from "./capabilities.js";
import { type SpecOpt, dedupe, processOf } from "./spec-opt.js";

const MAX_ID = 2 ** 31 - 1;
const ERR_RANGE = `uids and gids must be in range 0-${MAX_ID}`;

function checkIdRange(id: number): void {
  if (!Number.isSafeInteger(id) || id < 0 || id > MAX_ID) throw errInvalidArgument(ERR_RANGE);
}

export interface UserIds {
  uid: number;
  gid: number;
  /** Supplementary groups; dockerd puts the primary gid first. */
  additionalGids?: readonly number[];
  umask?: number;
}

/**
 * The process user. As dockerd (20.10.14+), a non-root user gets the capability set in its
 * bounding set only, with effective and permitted empty, as execve would leave them; applied
 * in either order with withCapabilities, the result is the same.
 */
export function withUser(user: UserIds): SpecOpt {
  checkIdRange(user.uid);
  checkIdRange(user.gid);
  for (const g of user.additionalGids ?? []) checkIdRange(g);
  const additionalGids = user.additionalGids ? [...user.additionalGids] : [];
  return (spec) => {
    const proc = processOf(spec);
    proc.user = {
      uid: user.uid,
      gid: user.gid,
      ...(additionalGids.length > 0 ? { additionalGids: [...additionalGids] } : {}),
      ...(user.umask !== undefined ? { umask: user.umask } : {}),
    };
    syncCapabilitySets(spec);
  };
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The primary gid, then the groups that list the user as a member, then `groupAdd`. */
  additionalGids: number[];
  /** The passwd entry's home directory, when the user was found there. */
  home?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** Lines as Go's bufio.ScanLines yields them (a trailing "\r" dropped). */
function lines(text: string | undefined): string[] {
  return text === undefined ? [] : text.split("\n").map((l) => l.replace(/\r$/, ""));
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of lines(text)) {
    const line = raw.trim();
    if (line === "") continue;
    // name:password:uid:gid:gecos:home:shell; runc reads unparsable numbers as 0.
    const f = line.split(":");
    out.push({ name: f[0] ?? "", uid: atoi(f[2] ?? "") ?? 0, gid: atoi(f[3] ?? "") ?? 0, home: f[5] ?? "" });
  }
  return out;
}

function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of lines(text)) {
    if (line === "") continue;
    // name:password:gid:member,member
    const f = line.split(":");
    const list = f[3] ?? "";
    out.push({ name: f[0] ?? "", gid: atoi(f[2] ?? "") ?? 0, members: list === "" ? [] : list.split(",") });
  }
  return out;
}

/**
 * Resolves a docker `--user` value against the image's /etc/passwd and /etc/group contents
 * (undefined when the file is absent), as runc's `user.GetExecUser` does for dockerd:
 *  - "" means uid 0; "name" or "uid", optionally ":group" or ":gid";
 *  - a numeric uid or gid need not exist in the files; an unknown name is an error;
 *  - without an explicit group, the user's passwd gid is used and every group that lists the
 *    user as a member becomes a supplementary group;
 *  - `groupAdd` (docker `--group-add`) names or numbers more groups.
 */
export function resolveUser(
  userSpec: string,
  passwd: string | undefined,
  group: string | undefined,
  groupAdd: readonly string[] = [],
): ResolvedUser {
  const [userArg = "", groupArg = ""] = userSpec.split(":");
  const uidArg = atoi(userArg);
  const gidArg = atoi(groupArg);

  // A numeric user is always a uid, never a name, as in runc.
  const users = parsePasswd(passwd).filter((u) =>
    userArg === "" ? u.uid === 0 : uidArg !== undefined ? u.uid === uidArg : u.name === userArg,
  );

  let uid = 0;
  let gid = 0;
  let home: string | undefined;
  let matchedName: string | undefined;
  const first = users[0];
  if (first !== undefined) {
    // First match wins, even when several entries match.
    ({ uid, gid, home } = first);
    matchedName = first.name;
  } else if (userArg !== "") {
    if (uidArg === undefined) {
      throw errInvalidArgument(`unable to find user ${userArg}: no matching entries in passwd file`);
    }
    checkIdRange(uidArg);
    uid = uidArg;
  }

  let sgids: number[] = [];
  const groups = parseGroup(group);
  if (groupArg !== "") {
    const match = groups.find((g) => (gidArg !== undefined ? g.gid === gidArg : g.name === groupArg));
    if (match !== undefined) {
      gid = match.gid;
    } else {
      if (gidArg === undefined) {
        throw errInvalidArgument(`unable to find group ${groupArg}: no matching entries in group file`);
      }
      checkIdRange(gidArg);
      gid = gidArg;
    }
  } else if (matchedName) {
    // Supplementary groups only in the implicit form: "user:group" means exactly that group.
    sgids = groups.filter((g) => g.members.includes(matchedName)).map((g) => g.gid);
  }

  const added: number[] = [];
  for (const name of groupAdd) {
    const match = groups.find((g) => g.name === name || String(g.gid) === name);
    if (match !== undefined) {
      added.push(match.gid);
      continue;
    }
    const n = atoi(name);
    if (n === undefined) throw errInvalidArgument(`Unable to find group ${name}`);
    checkIdRange(n);
    added.push(n);
  }

  return {
    uid,
    gid,
    additionalGids: dedupe([gid, ...sgids, ...added]),
    ...(home !== undefined ? { home } : {}),
  };
}
