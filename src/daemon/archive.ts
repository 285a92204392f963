// docker cp inside a container's root filesystem, confined to it: every path is resolved
// component by component with symlinks interpreted relative to the root (as a chroot would),
// so a link such as /etc -> /host/etc can never reach outside.
import fs from "node:fs/promises";
import { constants as C, createReadStream } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { PassThrough, type Readable } from "node:stream";
import tarStream from "tar-stream";
type TarHeaders = Parameters<tarStream.Pack["entry"]>[0];
import { errConflict, errInvalidArgument, errNotFound } from "../base/errors.js";
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
  return m;
}

/**
 * Owners between the archive (container ids) and the disk (host ids): identity, or the
 * --userns-remap mappings, so `docker cp` shows and writes the ids the container sees.
 */
interface Owners {
  toDisk(uid: number, gid: number): [number, number];
  toArchive(uid: number, gid: number): [number, number];
}

/** The kernel's overflow id: what a host id outside the mappings looks like inside. */
const OVERFLOW_ID = 65534;

function ownersOf(maps: ShiftMaps | undefined): Owners {
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

  async function put(p: string, tar: Readable, o: { noOverwriteDirNonDir?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const dest = await resolveInRoot(root, p);
    const st = await fs.stat(dest).catch(() => undefined);
    if (!st) throw errNotFound(`Could not find the file ${p} in container`);
    if (!st.isDirectory()) throw errInvalidArgument(`extraction point is not a directory: ${p}`);
    const destInRoot = "/" + path.relative(root, dest);
    const extract = tarStream.extract();
    extract.on("entry", (header, stream, next) => {
      void (async () => {
        const name = path.posix.normalize(header.name).replace(/^\/+/, "");
        if (name === "" || name === "." ) { stream.resume(); return next(); }
        if (name.split("/").includes("..")) throw errInvalidArgument(`invalid path in archive: ${header.name}`);
        const parentIn = path.posix.join(destInRoot, path.posix.dirname(name));
        const parent = await resolveInRoot(root, parentIn);
        const made = await fs.mkdir(parent, { recursive: true });
        // Directories the archive implies but does not list belong to the container's root.
        if (made !== undefined && maps) {
          const [u, g] = owners.toDisk(0, 0);
          for (let d = parent; d.length >= made.length; d = path.dirname(d)) await fs.lchown(d, u, g);
        }
        const target = path.join(parent, path.posix.basename(name));
        const existing = await fs.lstat(target).catch(() => undefined);
        const isDir = header.type === "directory";
        if (o.noOverwriteDirNonDir && existing && existing.isDirectory() !== isDir) {
          throw errConflict(`cannot overwrite ${existing.isDirectory() ? "directory" : "non-directory"} ${path.posix.join(p, name)} with ${isDir ? "directory" : "non-directory"}`);
        }
        const mode = (header.mode ?? 0o644) & 0o7777;
        switch (header.type) {
          case "directory":
            if (!existing?.isDirectory()) { if (existing) await fs.rm(target, { recursive: true }); await fs.mkdir(target, { mode }); }
            stream.resume();
            break;
          case "file":
          case "contiguous-file": {
            if (existing && !existing.isFile()) await fs.rm(target, { recursive: true });
            // O_NOFOLLOW: never write through a symlink planted at the target.
            const fh = await fs.open(target, C.O_WRONLY | C.O_CREAT | C.O_TRUNC | C.O_NOFOLLOW, mode);
            try {
              await pipeline(stream, fh.createWriteStream());
            } finally {
              await fh.close().catch(() => {});
            }
            await fs.chmod(target, mode);
            break;
          }
          case "symlink":
            if (existing) await fs.rm(target, { recursive: true });
            await fs.symlink(header.linkname ?? "", target);
            stream.resume();
            break;
          case "link": {
            const src = await resolveInRoot(root, path.posix.join(destInRoot, path.posix.normalize(header.linkname ?? "").replace(/^\/+/, "")), { followFinal: false });
            if (existing) await fs.rm(target, { recursive: true });
            await fs.link(src, target);
            stream.resume();
            break;
          }
          default:
            stream.resume();
        }
        if (header.uid !== undefined && header.gid !== undefined) {
          const [uid, gid] = owners.toDisk(header.uid, header.gid);
          // An id outside the mappings cannot be written: the remapped root keeps the file.
          const [u, g] = uid < 0 || gid < 0 ? owners.toDisk(0, 0) : [uid, gid];
          if (u !== undefined && g !== undefined && u >= 0 && g >= 0) await fs.lchown(target, u, g).catch(() => {});
        }
        if (header.mtime && header.type !== "symlink") await fs.utimes(target, header.mtime, header.mtime).catch(() => {});
        next();
      })().catch((e) => extract.destroy(e as Error));
    });
    // A client that leaves mid-upload ends the extraction (the pipeline destroys both ends).
    await pipeline(tar, extract, { ...(o.signal ? { signal: o.signal } : {}) });
  }

  return { stat, get, put };
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
      createReadStream(host).on("error", reject).pipe(w);
    });
  }
}

function entry(pack: tarStream.Pack, header: TarHeaders): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
}
