// COPY and ADD: sources from the context (or another stage's or image's filesystem, mounted
// read-only), wildcards matched as filepath.Match, directories copied by their contents, the
// destination resolved inside the target rootfs with its symlinks followed but never out of it,
// ownership 0:0 unless --chown, modes and mtimes kept. ADD extracts local tar archives (plain
// or gzip) and refuses URLs. The checksum of what is copied names the step in history and keys
// the cache, so a changed file invalidates the step and everything after it.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { errInvalidArgument, errNotFound } from "../base/errors.js";

export interface CopySource {
  /** Path relative to the source root ("" for the root itself). */
  rel: string;
  /** Host path (inside the source root, symlinks resolved in scope). */
  host: string;
  isDir: boolean;
}

const MAX_SYMLINKS = 255;

/**
 * `p` (absolute inside the rootfs) as a host path under `root`, symlinks of the existing
 * components followed within the root (an absolute link target is relative to the root, `..`
 * stops at it), as dockerd's FollowSymlinkInScope. The last component is followed too unless
 * `keepLast`.
 */
export async function scopedPath(root: string, p: string, keepLast = false): Promise<string> {
  const todo = p.split("/").filter((x) => x !== "" && x !== ".");
  const parts: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === "..") { parts.pop(); continue; }
    const host = path.join(root, ...parts, part);
    if (keepLast && todo.length === 0) { parts.push(part); break; }
    let st;
    try { st = await fs.lstat(host); } catch { parts.push(part); continue; }
    if (!st.isSymbolicLink()) { parts.push(part); continue; }
    if (++links > MAX_SYMLINKS) throw errInvalidArgument(`too many symlinks in ${p}`);
    const target = await fs.readlink(host);
    if (target.startsWith("/")) parts.length = 0;
    todo.unshift(...target.split("/").filter((x) => x !== "" && x !== "."));
  }
  return path.join(root, ...parts);
}

const hasWildcard = (s: string) => /[*?[]/.test(s);

/** filepath.Match over whole relative paths: `*` and `?` stay within a segment. */
function globRegex(pattern: string): RegExp {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) throw errInvalidArgument(`syntax error in pattern: ${pattern}`);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith("^") || body.startsWith("!")) body = "^" + body.slice(1);
      re += `[${body}]`;
      i = end;
    } else if (ch === "\\" && i + 1 < pattern.length) re += "\\" + pattern[++i];
    else re += ch.replace(/[.$^+(){}|\\]/g, "\\$&");
  }
  return new RegExp(re + "$");
}

async function walk(root: string, rel = ""): Promise<{ rel: string; isDir: boolean }[]> {
  const out: { rel: string; isDir: boolean }[] = [];
  const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    out.push({ rel: r, isDir: e.isDirectory() });
    if (e.isDirectory()) out.push(...await walk(root, r));
  }
  return out;
}

/** The sources a COPY names, in order; `cmd` is "COPY" or "ADD" for the messages. */
export async function resolveSources(root: string, srcs: readonly string[], cmd: string): Promise<CopySource[]> {
  const out: CopySource[] = [];
  for (const src of srcs) {
    const clean = path.posix.normalize("/" + src).slice(1).replace(/\/$/, "");
    if (hasWildcard(clean)) {
      const re = globRegex(clean);
      const all = await walk(root);
      for (const e of all) {
        if (re.test(e.rel)) out.push({ rel: e.rel, host: await scopedPath(root, e.rel), isDir: e.isDir });
      }
      continue;
    }
    const host = await scopedPath(root, clean);
    let st;
    try { st = await fs.stat(host); } catch {
      throw errNotFound(`${cmd} failed: file not found in build context or excluded by .dockerignore: stat ${src}: file does not exist`);
    }
    out.push({ rel: clean, host, isDir: st.isDirectory() });
  }
  if (out.length === 0) throw errInvalidArgument(`${cmd} failed: no source files were specified`);
  return out;
}

async function hashTree(h: ReturnType<typeof createHash>, host: string, rel: string): Promise<void> {
  const st = await fs.lstat(host);
  h.update(`${rel}\0${st.mode}\0`);
  if (st.isSymbolicLink()) { h.update(`l${await fs.readlink(host)}\0`); return; }
  if (st.isDirectory()) {
    for (const name of (await fs.readdir(host)).sort()) await hashTree(h, path.join(host, name), `${rel}/${name}`);
    return;
  }
  if (!st.isFile()) return;
  h.update(`f${st.size}\0`);
  if (st.size <= 1 << 20) h.update(await fs.readFile(host));
  else for await (const chunk of createReadStream(host)) h.update(chunk as Buffer);
}

/** `file:<hex>`, `dir:<hex>` or `multi:<hex>`, as dockerd names copied content in history. */
export async function sourcesChecksum(sources: readonly CopySource[], extra = ""): Promise<string> {
  const hashes: string[] = [];
  for (const s of sources) {
    const h = createHash("sha256");
    h.update(extra);
    await hashTree(h, s.host, "");
    hashes.push(h.digest("hex"));
  }
  if (sources.length === 1) return `${sources[0]!.isDir ? "dir" : "file"}:${hashes[0]}`;
  return `multi:${createHash("sha256").update(hashes.join(",")).digest("hex")}`;
}

export interface Owner { uid: number; gid: number }

function lookupId(file: string | undefined, name: string, what: "uid" | "gid"): number {
  if (/^\d+$/.test(name)) return Number(name);
  for (const line of (file ?? "").split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  throw errInvalidArgument(`unable to convert uid/gid chown string to host mapping: can't find ${what} for ${what === "uid" ? "user" : "group"} ${name}: no such ${what === "uid" ? "user" : "group"}: ${name}`);
}

/** --chown user[:group] (names from the target's /etc/passwd and /etc/group; no group: the user spec again). */
export async function parseChown(spec: string, rootfs: string): Promise<Owner> {
  const parts = spec.split(":");
  if (parts.length > 2) throw errInvalidArgument(`invalid chown string format: ${spec}`);
  const [user, group = parts[0]!] = parts as [string, string?];
  const read = async (f: string) => fs.readFile(await scopedPath(rootfs, f), "utf8").catch(() => undefined);
  const passwd = /^\d+$/.test(user) ? undefined : await read("/etc/passwd");
  const groups = /^\d+$/.test(group) ? undefined : await read("/etc/group");
  return { uid: lookupId(passwd, user, "uid"), gid: lookupId(groups, group, "gid") };
}

/** mkdir -p inside the rootfs; new directories get `owner` and 0755. */
export async function mkdirAll(rootfs: string, dir: string, owner: Owner): Promise<string> {
  const host = await scopedPath(rootfs, dir);
  const rel = path.relative(rootfs, host);
  let cur = rootfs;
  for (const part of rel.split("/").filter(Boolean)) {
    cur = path.join(cur, part);
    try {
      const st = await fs.stat(cur);
      if (!st.isDirectory()) throw errInvalidArgument(`${path.relative(rootfs, cur)} is not a directory`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      await fs.mkdir(cur, { mode: 0o755 });
      await fs.chown(cur, owner.uid, owner.gid);
    }
  }
  return host;
}

async function copyTree(src: string, dst: string, owner: Owner): Promise<void> {
  const st = await fs.lstat(src);
  const existing = await fs.lstat(dst).catch(() => undefined);
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory()) await fs.rm(dst, { force: true });
    if (!existing || !existing.isDirectory()) await fs.mkdir(dst, { mode: st.mode & 0o7777 });
    await fs.chmod(dst, st.mode & 0o7777);
    for (const name of await fs.readdir(src)) await copyTree(path.join(src, name), path.join(dst, name), owner);
    await fs.lchown(dst, owner.uid, owner.gid);
    await fs.utimes(dst, st.atime, st.mtime);
    return;
  }
  if (existing?.isDirectory()) throw errInvalidArgument(`cannot overwrite directory ${dst} with non-directory`);
  if (existing) await fs.rm(dst, { force: true });
  if (st.isSymbolicLink()) {
    await fs.symlink(await fs.readlink(src), dst);
    await fs.lchown(dst, owner.uid, owner.gid);
    return;
  }
  if (!st.isFile()) return;
  await fs.copyFile(src, dst);
  await fs.chmod(dst, st.mode & 0o7777);
  await fs.lchown(dst, owner.uid, owner.gid);
  await fs.utimes(dst, st.atime, st.mtime);
}

/** Whether the file is a tar archive ADD extracts (plain or gzip), by its first bytes. */
async function archiveKind(file: string): Promise<"tar" | "gzip" | undefined> {
  const fh = await fs.open(file, "r");
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return "gzip";
    if (bytesRead >= 262 && buf.subarray(257, 262).toString("latin1") === "ustar") return "tar";
    return undefined;
  } finally {
    await fh.close();
  }
}

async function extractArchive(file: string, kind: "tar" | "gzip", rootfs: string, destDir: string, owner: Owner): Promise<void> {
  const extract = tar.extract();
  const src = createReadStream(file);
  const done = kind === "gzip" ? pipeline(src, createGunzip(), extract) : pipeline(src, extract);
  done.catch(() => {});
  for await (const entry of extract) {
    const h = entry.header;
    const rel = path.posix.normalize("/" + h.name);
    const target = await scopedPath(rootfs, path.posix.join(destDir, rel), true);
    await mkdirAll(rootfs, path.posix.dirname(path.posix.join(destDir, rel)), owner);
    const mode = (h.mode ?? 0o644) & 0o7777;
    const existing = await fs.lstat(target).catch(() => undefined);
    if (h.type === "directory") {
      if (existing && !existing.isDirectory()) await fs.rm(target, { force: true });
      if (!existing?.isDirectory()) await fs.mkdir(target, { mode });
      await fs.chmod(target, mode);
      await fs.lchown(target, h.uid ?? 0, h.gid ?? 0);
      entry.resume();
    } else if (h.type === "file" || h.type === "contiguous-file") {
      if (existing) await fs.rm(target, { recursive: true, force: true });
      await pipeline(entry, (await import("node:fs")).createWriteStream(target, { mode, flags: "wx" }));
      await fs.chmod(target, mode);
      await fs.lchown(target, h.uid ?? 0, h.gid ?? 0);
      if (h.mtime) await fs.utimes(target, h.mtime, h.mtime);
    } else if (h.type === "symlink") {
      if (existing) await fs.rm(target, { recursive: true, force: true });
      await fs.symlink(h.linkname ?? "", target);
      await fs.lchown(target, h.uid ?? 0, h.gid ?? 0);
      entry.resume();
    } else if (h.type === "link") {
      const from = await scopedPath(rootfs, path.posix.join(destDir, path.posix.normalize("/" + (h.linkname ?? ""))), true);
      if (existing) await fs.rm(target, { recursive: true, force: true });
      await fs.link(from, target);
      entry.resume();
    } else {
      entry.resume();
    }
  }
  await done;
}

/**
 * Copies the sources into the mounted rootfs at `dest` (absolute, expanded). A destination
 * ending in "/" (or several sources) is a directory; a directory source copies its contents.
 */
export async function copyInto(o: {
  rootfs: string; sources: readonly CopySource[]; dest: string; owner: Owner; cmd: "COPY" | "ADD"; extractArchives: boolean;
}): Promise<void> {
  const destIsDir = o.dest.endsWith("/") || o.dest.endsWith("/.") || o.sources.length > 1;
  if (o.sources.length > 1 && !o.dest.endsWith("/")) {
    throw errInvalidArgument(`When using ${o.cmd} with more than one source file, the destination must be a directory and end with a /`);
  }
  for (const s of o.sources) {
    if (s.isDir) {
      const dir = await mkdirAll(o.rootfs, o.dest, o.owner);
      for (const name of await fs.readdir(s.host)) await copyTree(path.join(s.host, name), path.join(dir, name), o.owner);
      continue;
    }
    if (o.extractArchives) {
      const kind = await archiveKind(s.host);
      if (kind) {
        await mkdirAll(o.rootfs, o.dest, o.owner);
        await extractArchive(s.host, kind, o.rootfs, o.dest, o.owner);
        continue;
      }
    }
    let target: string;
    if (destIsDir) {
      const dir = await mkdirAll(o.rootfs, o.dest, o.owner);
      target = path.join(dir, path.basename(s.rel || s.host));
    } else {
      const existing = await scopedPath(o.rootfs, o.dest);
      const st = await fs.stat(existing).catch(() => undefined);
      if (st?.isDirectory()) target = path.join(existing, path.basename(s.rel || s.host));
      else {
        const dir = await mkdirAll(o.rootfs, path.posix.dirname(o.dest), o.owner);
        target = path.join(dir, path.posix.basename(o.dest));
      }
    }
    await copyTree(s.host, target, o.owner);
  }
}
