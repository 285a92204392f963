// docker cp inside a container's root filesystem (extraction: archive-put.ts), confined to it: every path is resolved
// component by component with symlinks interpreted relative to the root (as a chroot would),
// so a link such as /etc -> /host/etc can never reach outside.
import fs from "node:fs/promises";
import { constants as C, createReadStream } from "node:fs";
import path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import tarStream from "tar-stream";
type TarHeaders = Parameters<tarStream.Pack["entry"]>[0];
import { errInvalidArgument, errNotFound } from "../base/errors.js";
import type { PathStat } from "./types.js";
import { toContainer, toHost } from "./userns.js";
import type { ShiftMaps } from "./userns-shift.js";

const MAX_LINKS = 40;

/** Resolves `p` (absolute inside the container) to a host path under `root`, symlinks in scope. */
export async function resolveInRoot(root: string, p: string, o: { followFinal: boolean } = { followFinal: true }): Promise<string> {
  const parts = path.posix.normalize("/" + p).split("/").filter(Boolean);
  let cur = "/";
  let links = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === "..") { cur = path.posix.dirname(cur); continue; }
    const next = path.posix.join(cur, part);
    const isLast = i === parts.length - 1;
    let st;
    try {
      st = await fs.lstat(path.join(root, next));
    } catch {
      cur = next;
      continue;
    }
    if (st.isSymbolicLink() && (!isLast || o.followFinal)) {
      if (++links > MAX_LINKS) throw errInvalidArgument(`too many levels of symbolic links: ${p}`);
      const target = await fs.readlink(path.join(root, next));
      const rest = parts.slice(i + 1);
      const base = target.startsWith("/") ? "/" : cur;
      const joined = path.posix.normalize(path.posix.join(base, target, ...rest));
      // Re-resolve from the start with the link replaced (".." cannot climb above "/").
      parts.splice(0, parts.length, ...joined.split("/").filter(Boolean));
      cur = "/";
      i = -1;
      continue;
    }
    cur = next;
  }
  return path.join(root, cur);
}

/** Go's os.FileMode bits, as docker's X-Docker-Container-Path-Stat header carries them. */
export function goFileMode(st: { mode: number }): number {
  const perm = st.mode & 0o777;
  let m = perm;
  const type = st.mode & C.S_IFMT;
  if (type === C.S_IFDIR) m |= 2 ** 31;
  else if (type === C.S_IFLNK) m |= 2 ** 27;
  else if (type === C.S_IFIFO) m |= 2 ** 25;
  else if (type === C.S_IFSOCK) m |= 2 ** 24;
  else if (type === C.S_IFCHR) m |= 2 ** 26 + 2 ** 21;
  else if (type === C.S_IFBLK) m |= 2 ** 26;
  if (st.mode & 0o4000) m |= 2 ** 23;
  if (st.mode & 0o2000) m |= 2 ** 22;
  if (st.mode & 0o1000) m |= 2 ** 20;
  // JS bitwise operators work on signed 32 bits: ModeDir (1 << 31) came out negative, which
  // the docker CLI cannot decode. Go's FileMode is unsigned.
  return m >>> 0;
}

/**
 * Owners between the archive (container ids) and the disk (host ids): identity, or the
 * --userns-remap mappings, so `docker cp` shows and writes the ids the container sees.
 */
export interface Owners {
  toDisk(uid: number, gid: number): [number, number];
  toArchive(uid: number, gid: number): [number, number];
}

/** The kernel's overflow id: what a host id outside the mappings looks like inside. */
const OVERFLOW_ID = 65534;

export function ownersOf(maps: ShiftMaps | undefined): Owners {
  if (!maps) return { toDisk: (u, g) => [u, g], toArchive: (u, g) => [u, g] };
  const inside = (m: ShiftMaps["uids"], id: number) => {
    const c = toContainer(m, id);
    return c < 0 ? OVERFLOW_ID : c;
  };
  return {
    toDisk: (u, g) => [toHost(maps.uids, u), toHost(maps.gids, g)],
    toArchive: (u, g) => [inside(maps.uids, u), inside(maps.gids, g)],
  };
}

export function archiveOps(root: string, maps?: ShiftMaps) {
  const owners = ownersOf(maps);
  async function stat(p: string): Promise<PathStat> {
    const host = await resolveInRoot(root, p, { followFinal: false });
    let st;
    try {
      st = await fs.lstat(host);
    } catch {
      throw errNotFound(`Could not find the file ${p} in container`);
    }
    return {
      name: path.posix.basename(p) || "/",
      size: st.size,
      mode: goFileMode(st),
      mtime: st.mtime,
      linkTarget: st.isSymbolicLink() ? await fs.readlink(host) : "",
    };
  }

  async function get(p: string): Promise<{ stat: PathStat; tar: Readable }> {
    const s = await stat(p);
    const host = await resolveInRoot(root, p, { followFinal: false });
    const pack = tarStream.pack();
    const out = new PassThrough();
    const base = path.posix.basename(path.posix.normalize("/" + p)) || ".";
    void (async () => {
      try {
        await addEntry(pack, host, base, owners);
        pack.finalize();
      } catch (e) {
        pack.destroy(e as Error);
      }
    })();
    pack.pipe(out);
    pack.on("error", (e) => out.destroy(e));
    return { stat: s, tar: out };
  }

  return { stat, get };
}

async function addEntry(pack: tarStream.Pack, host: string, name: string, owners: Owners): Promise<void> {
  const st = await fs.lstat(host);
  const [uid, gid] = owners.toArchive(st.uid, st.gid);
  const common = { name, mode: st.mode & 0o7777, uid, gid, mtime: st.mtime };
  if (st.isSymbolicLink()) {
    await entry(pack, { ...common, type: "symlink", linkname: await fs.readlink(host) });
  } else if (st.isDirectory()) {
    await entry(pack, { ...common, type: "directory" });
    for (const child of (await fs.readdir(host)).sort()) await addEntry(pack, path.join(host, child), `${name}/${child}`, owners);
  } else if (st.isFile()) {
    await new Promise<void>((resolve, reject) => {
      const w = pack.entry({ ...common, type: "file", size: st.size }, (err) => (err ? reject(err) : resolve()));
      // A reader that goes away destroys the pack and this entry with it: an error to handle,
      // never an unhandled 'error' event (that ended berthd when a client read only the stat).
      const rs = createReadStream(host).on("error", reject);
      w.on("error", (e) => { rs.destroy(); reject(e); });
      rs.pipe(w);
    });
  }
}

function entry(pack: tarStream.Pack, header: TarHeaders): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
}
