// docker cp into a container (PUT /containers/{id}/archive): extracts a client's tar under a
// directory of the container's root, with dockerd 20.10's rules (moby pkg/archive Unpack run
// chrooted at the container's root):
// - names are cleaned; a leading "/" is dropped; a name that climbs out of the destination
//   ("../x", a PAX path or GNU long name with "..") is refused;
// - a symlink whose target, taken relative to its directory (an absolute one is appended, as
//   Go's filepath.Join does), leaves the destination is refused; other symlinks are kept as they
//   are and resolved inside the container's root when a later entry goes under them;
// - a hard link's target is taken inside the destination and must stay there;
// - device nodes and FIFOs are created (berthd runs as root, as dockerd does); setuid/setgid
//   bits are kept (the mode is set after the owner, which clears them);
// - an entry replaces what is at its path, except a directory onto a directory (merged).
// Nothing here follows a symlink on the host: the owner is set with lchown, and mode and times
// only on what is not a symlink (a hard link may name a symlink's inode).
// Under --userns-remap (`maps`) the archive speaks the container's ids: owners are shifted onto
// the host's, and directories the archive implies belong to the container's root.
import fs from "node:fs/promises";
import { constants as C } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import tarStream from "tar-stream";
import { errConflict, errInvalidArgument, errNotFound, isBerthError } from "../base/errors.js";
import { makedev, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from "../base/native-fs.js";
import { ownersOf, resolveInRoot, type Owners } from "./archive.js";
import type { ShiftMaps } from "./userns-shift.js";

/** True when `p` (posix, absolute, normalized) is `dir` or under it. */
function within(dir: string, p: string): boolean {
  return dir === "/" || p === dir || p.startsWith(dir + "/");
}

/** errno codes an archive's content can cause (a missing link target, a name clash): the client's error. */
const ENTRY_ERRORS = new Set(["ENOENT", "EEXIST", "ENOTDIR", "EISDIR", "ENOTEMPTY", "ENAMETOOLONG", "ELOOP", "EINVAL", "EMLINK", "EXDEV"]);

export interface PutOptions {
  noOverwriteDirNonDir?: boolean;
  signal?: AbortSignal;
  /** The container's user-namespace mappings (--userns-remap), when it has them. */
  maps?: ShiftMaps;
}

export async function putArchive(root: string, p: string, tar: Readable, o: PutOptions = {}): Promise<void> {
  const dest = await resolveInRoot(root, p);
  const st = await fs.stat(dest).catch(() => undefined);
  if (!st) throw errNotFound(`Could not find the file ${p} in container`);
  if (!st.isDirectory()) throw errInvalidArgument(`extraction point is not a directory: ${p}`);
  const destInRoot = "/" + path.relative(root, dest);
  const extract = tarStream.extract();
  const owners = ownersOf(o.maps);
  let entryError: unknown;
  extract.on("entry", (header, stream, next) => {
    // A truncated upload errors the entry's stream, maybe while this entry waits on the
    // filesystem: the error reaches the pipeline through the extractor, never as an unhandled
    // 'error' event (which ended berthd).
    stream.on("error", () => {});
    void putEntry(root, destInRoot, p, header, stream as unknown as Readable, o, owners).then(() => next(), (e: unknown) => {
      const code = (e as NodeJS.ErrnoException).code;
      entryError = isBerthError(e) ? e
        : code && ENTRY_ERRORS.has(code) ? errInvalidArgument(`archive entry ${JSON.stringify(header.name)}: ${(e as Error).message.replaceAll(root, "")}`, { cause: e })
        : e;
      extract.destroy(entryError as Error);
    });
  });
  try {
    // A client that leaves mid-upload ends the extraction (the pipeline destroys both ends).
    await pipeline(tar, extract, { ...(o.signal ? { signal: o.signal } : {}) });
  } catch (e) {
    if (entryError !== undefined) throw entryError;
    if (o.signal?.aborted || isBerthError(e)) throw e;
    // tar-stream's parse errors: the upload is not a (complete) tar archive.
    throw errInvalidArgument(`Error processing tar file: the archive is truncated or not a tar archive: ${(e as Error).message}`, { cause: e });
  }
}

async function putEntry(
  root: string, destInRoot: string, p: string, header: tarStream.Header, stream: Readable, o: PutOptions, owners: Owners,
): Promise<void> {
  const name = path.posix.normalize(header.name).replace(/^\/+/, "").replace(/\/+$/, "");
  if (name === "" || name === ".") { stream.resume(); return; }
  if (name.split("/").includes("..")) throw errInvalidArgument(`Error processing tar file: ${JSON.stringify(header.name)} is outside of ${JSON.stringify(p)}`);
  const inRoot = path.posix.join(destInRoot, name);
  if (header.type === "symlink") {
    if (!header.linkname) throw errInvalidArgument(`Error processing tar file: symlink ${JSON.stringify(name)} has no target`);
    // Go's filepath.Join appends an absolute target: only a relative one can climb out.
    const t = path.posix.normalize(path.posix.dirname(inRoot) + "/" + (header.linkname ?? ""));
    if (!within(destInRoot, t)) throw errInvalidArgument(`Error processing tar file: invalid symlink ${JSON.stringify(path.posix.join(p, name))} -> ${JSON.stringify(header.linkname)}`);
  }
  let linkTarget: string | undefined;
  if (header.type === "link") {
    const t = path.posix.normalize(destInRoot + "/" + (header.linkname ?? ""));
    if (!within(destInRoot, t)) throw errInvalidArgument(`Error processing tar file: invalid hard link ${JSON.stringify(name)} -> ${JSON.stringify(header.linkname)}`);
    linkTarget = await resolveInRoot(root, t, { followFinal: false });
    const lt = await fs.lstat(linkTarget).catch(() => undefined);
    if (!lt) throw errInvalidArgument(`Error processing tar file: hard link ${JSON.stringify(name)}: its target ${JSON.stringify(header.linkname)} does not exist`);
    if (lt.isDirectory()) throw errInvalidArgument(`Error processing tar file: hard link ${JSON.stringify(name)}: its target ${JSON.stringify(header.linkname)} is a directory`);
  }
  const parent = await resolveInRoot(root, path.posix.dirname(inRoot));
  const made = await fs.mkdir(parent, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST" && e.code !== "ENOTDIR") throw e;
    throw errInvalidArgument(`Error processing tar file: ${JSON.stringify(header.name)}: a parent directory is not a directory`);
  });
  // Directories the archive implies but does not list belong to the container's root.
  if (made !== undefined && o.maps) {
    const [u, g] = owners.toDisk(0, 0);
    for (let d = parent; d.length >= made.length; d = path.dirname(d)) await fs.lchown(d, u, g);
  }
  const [uid, gid] = ownerOnDisk(owners, header);
  const target = path.join(parent, path.posix.basename(name));
  if (!within(root, target)) throw errInvalidArgument(`Error processing tar file: ${JSON.stringify(header.name)} is outside of ${JSON.stringify(p)}`);
  const existing = await fs.lstat(target).catch(() => undefined);
  const isDir = header.type === "directory";
  if (o.noOverwriteDirNonDir && existing && existing.isDirectory() !== isDir) {
    throw errConflict(`cannot overwrite ${existing.isDirectory() ? "directory" : "non-directory"} ${path.posix.join(p, name)} with ${isDir ? "directory" : "non-directory"}`);
  }
  if (existing && !(existing.isDirectory() && isDir)) await fs.rm(target, { recursive: true, force: true });
  const mode = (header.mode ?? 0o644) & 0o7777;
  let fh: fs.FileHandle | undefined;
  switch (header.type) {
    case "directory":
      if (!existing?.isDirectory()) await fs.mkdir(target, { mode: 0o700 });
      break;
    case "file":
    case "contiguous-file":
      // O_EXCL | O_NOFOLLOW: a new file, never one reached through a symlink planted meanwhile.
      fh = await fs.open(target, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) await fh.write(chunk);
        await fh.chown(uid, gid);
        await fh.chmod(mode); // after the owner: chown clears setuid/setgid
        if (header.mtime) await fh.utimes(header.mtime, header.mtime);
      } finally {
        await fh.close().catch(() => {});
      }
      return;
    case "symlink":
      await fs.symlink(header.linkname ?? "", target);
      break;
    case "link":
      await fs.link(linkTarget!, target);
      break;
    case "character-device":
    case "block-device":
    case "fifo": {
      const type = header.type === "fifo" ? S_IFIFO : header.type === "block-device" ? S_IFBLK : S_IFCHR;
      const dev = header.type === "fifo" ? 0n : makedev(header.devmajor ?? 0, header.devminor ?? 0);
      try {
        mknod(target, type | 0o600, dev);
      } catch (e) {
        // The kernel refuses some device numbers (and every device in a user namespace).
        throw errInvalidArgument(`Error processing tar file: ${header.type} ${JSON.stringify(name)} (${header.devmajor ?? 0}, ${header.devminor ?? 0}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
      }
      break;
    }
    default:
      // PAX globals, GNU sparse/volume headers and the like: dockerd skips what it cannot make.
      stream.resume();
      return;
  }
  stream.resume();
  await fs.lchown(target, uid, gid);
  // A hard link can name a symlink's inode: its mode and times are never set through it.
  const now = await fs.lstat(target);
  if (now.isSymbolicLink()) {
    if (header.mtime) await fs.lutimes(target, header.mtime, header.mtime);
    return;
  }
  await fs.chmod(target, mode);
  if (header.mtime) await fs.utimes(target, header.mtime, header.mtime);
}

/** The entry's owner on the disk; an id outside the mappings cannot be written: the container's root keeps it. */
function ownerOnDisk(owners: Owners, header: tarStream.Header): [number, number] {
  const [uid, gid] = owners.toDisk(header.uid ?? 0, header.gid ?? 0);
  return uid < 0 || gid < 0 ? owners.toDisk(0, 0) : [uid, gid];
}
