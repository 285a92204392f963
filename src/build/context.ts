// The build context: the request body (a tar, plain or gzipped) extracted into a private
// directory under berth's root. The tar is hostile input: no entry may land outside the
// directory (`..`, absolute names, hard links out), no entry is written through a symlink
// (an existing one is replaced, a parent that is one is refused), device nodes are skipped.
// Then the Dockerfile is read from it, and .dockerignore removes itself and the Dockerfile
// when it lists them, as dockerd does (the clients apply the rest of .dockerignore).
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { BerthError, errInvalidArgument } from "../base/errors.js";
import { cleanPath } from "../base/go-parse.js";
import { compilePatterns, isExcluded, readDockerignore } from "./dockerignore.js";

export interface BuildContext {
  dir: string;
  /** The Dockerfile's path in the context, as found ("Dockerfile", or "dockerfile" as fallback). */
  dockerfilePath: string;
  dockerfile: string;
  /** Removes the directory. */
  close(): Promise<void>;
}

/** A context-relative clean path (no leading slash), or an error when it leaves the context. */
export function contextPath(name: string): string {
  const c = cleanPath(name.replace(/^\.\/+/, "") || ".");
  const rel = c.startsWith("/") ? c.slice(1) : c;
  if (rel === ".." || rel.startsWith("../")) throw errInvalidArgument(`"${name}" is outside of the build context`);
  return rel === "." ? "" : rel;
}

/** Stream → the same bytes, gunzipped when they start with gzip's magic. */
async function decompressed(source: AsyncIterable<Uint8Array>): Promise<Readable> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < 6) {
    const r = await it.next();
    if (r.done) { done = true; break; }
    head.push(Buffer.from(r.value));
    len += r.value.length;
  }
  const first = Buffer.concat(head);
  async function* all() {
    yield first;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield Buffer.from(r.value);
  }
  const raw = Readable.from(all(), { objectMode: false });
  if (first[0] === 0x1f && first[1] === 0x8b) {
    const gunzip = createGunzip();
    const out = new PassThrough();
    pipeline(raw, gunzip, out).catch((e: Error) => out.destroy(errInvalidArgument(`build context: invalid gzip data: ${e.message}`)));
    return out;
  }
  if (first.subarray(0, 3).toString("latin1") === "BZh" || first.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
    throw errInvalidArgument("build context: only plain and gzip-compressed tar archives are supported (not bzip2 or xz)");
  }
  return raw;
}

async function lstatOrUndefined(p: string) {
  try { return await fs.lstat(p); } catch { return undefined; }
}

/**
 * Refuses a path whose existing parents include a symlink; creates missing parents. `safe`
 * holds directories already checked (or made) by this extraction and still directories: a tar
 * lists many files per directory, and each check is an lstat per component.
 */
async function safeParent(root: string, rel: string, safe?: Set<string>): Promise<void> {
  const parts = rel.split("/").slice(0, -1);
  let cur = root;
  for (const part of parts) {
    cur = path.join(cur, part);
    if (safe?.has(cur)) continue;
    const st = await lstatOrUndefined(cur);
    if (!st) { await fs.mkdir(cur, { mode: 0o755 }); safe?.add(cur); continue; }
    if (st.isSymbolicLink()) throw errInvalidArgument(`build context: "${rel}" would be written through the symlink "${path.relative(root, cur)}"`);
    if (!st.isDirectory()) throw errInvalidArgument(`build context: "${rel}": "${path.relative(root, cur)}" is not a directory`);
    safe?.add(cur);
  }
}

/** Entries up to this size are written from memory in one call (no stream per file). */
const SMALL_FILE = 1 << 20;
const UMASK = process.umask();

async function readAll(entry: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of entry) chunks.push(c);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Removes whatever is at `p` unless it is a directory and a directory is wanted. */
async function clearFor(p: string, wantDir: boolean): Promise<boolean> {
  const st = await lstatOrUndefined(p);
  if (!st) return false;
  if (wantDir && st.isDirectory()) return true;
  await fs.rm(p, { recursive: true, force: true });
  return false;
}

export async function extractTar(source: AsyncIterable<Uint8Array>, dir: string, signal?: AbortSignal): Promise<void> {
  const input = await decompressed(source);
  const extract = tar.extract();
  const dirTimes: [string, Date][] = [];
  const safe = new Set<string>();
  const done = signal ? pipeline(input, extract, { signal }) : pipeline(input, extract);
  // Awaited below; this keeps an early failure (a bad gzip) from being an unhandled rejection.
  done.catch(() => {});
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const rel = contextPath(h.name);
      const target = path.join(dir, rel);
      if (rel === "") { entry.resume(); continue; }
      await safeParent(dir, rel, safe);
      const mode = (h.mode ?? 0o644) & 0o7777;
      switch (h.type) {
        case "directory": {
          if (!(await clearFor(target, true))) await fs.mkdir(target, { mode });
          await fs.chmod(target, mode);
          safe.add(target);
          if (h.mtime) dirTimes.push([target, h.mtime]);
          entry.resume();
          break;
        }
        case "file": case "contiguous-file": {
          await clearFor(target, false);
          safe.delete(target);
          if ((h.size ?? 0) <= SMALL_FILE) await fs.writeFile(target, await readAll(entry as unknown as AsyncIterable<Buffer>), { flag: "wx", mode });
          else await pipeline(entry, createWriteStream(target, { flags: "wx", mode }));
          // The umask took bits the tar asked for (group/other write, setuid...): put them back.
          if ((mode & UMASK) !== 0 || mode > 0o777) await fs.chmod(target, mode);
          if (h.mtime) await fs.utimes(target, h.mtime, h.mtime);
          break;
        }
        case "symlink": {
          await clearFor(target, false);
          for (const d of safe) if (d === target || d.startsWith(target + "/")) safe.delete(d);
          await fs.symlink(h.linkname ?? "", target);
          if (h.mtime) await fs.lutimes(target, h.mtime, h.mtime).catch(() => {});
          entry.resume();
          break;
        }
        case "link": {
          const from = contextPath(h.linkname ?? "");
          const fromPath = path.join(dir, from);
          const st = await lstatOrUndefined(fromPath);
          if (!st || st.isDirectory()) throw errInvalidArgument(`build context: invalid hard link "${h.name}" -> "${h.linkname}"`);
          await safeParent(dir, from, safe);
          await clearFor(target, false);
          for (const d of safe) if (d === target || d.startsWith(target + "/")) safe.delete(d);
          await fs.link(fromPath, target);
          entry.resume();
          break;
        }
        default:
          // Devices, fifos, pax/GNU metadata: nothing a build can copy (dockerd would need
          // privileges berth does not assume here).
          entry.resume();
      }
    }
    await done;
  } catch (e) {
    input.destroy();
    if (e instanceof BerthError) throw e;
    throw errInvalidArgument(`build context: ${(e as Error).message}`, { cause: e });
  }
  for (const [d, t] of dirTimes.reverse()) await fs.utimes(d, t, t).catch(() => {});
}

/**
 * Extracts the context into `<tmpRoot>/build-<random>` and reads the Dockerfile. On any
 * failure the directory is removed.
 */
export async function openBuildContext(
  source: AsyncIterable<Uint8Array>,
  o: { tmpRoot: string; dockerfile?: string; signal?: AbortSignal },
): Promise<BuildContext> {
  await fs.mkdir(o.tmpRoot, { recursive: true, mode: 0o700 });
  const dir = path.join(o.tmpRoot, `build-${randomBytes(8).toString("hex")}`);
  await fs.mkdir(dir, { mode: 0o755 });
  const close = () => fs.rm(dir, { recursive: true, force: true });
  try {
    await extractTar(source, dir, o.signal);
    const wanted = o.dockerfile || "Dockerfile";
    let dockerfilePath = contextPath(wanted);
    let text = await readRegular(dir, dockerfilePath);
    if (text === undefined && wanted === "Dockerfile") {
      dockerfilePath = "dockerfile";
      text = await readRegular(dir, dockerfilePath);
    }
    if (text === undefined) throw new BerthError("unknown", `Cannot locate specified Dockerfile: ${wanted}`);
    const ignore = await readRegular(dir, ".dockerignore");
    if (ignore !== undefined) {
      const patterns = compilePatterns(readDockerignore(ignore));
      for (const f of [".dockerignore", dockerfilePath]) {
        if (isExcluded(f, patterns)) await fs.rm(path.join(dir, f), { force: true });
      }
    }
    return { dir, dockerfilePath, dockerfile: text, close };
  } catch (e) {
    await close();
    throw e;
  }
}

async function readRegular(dir: string, rel: string): Promise<string | undefined> {
  if (rel === "") return undefined;
  const p = path.join(dir, rel);
  // The Dockerfile may be a symlink inside the context; its target must stay inside too.
  let real: string;
  try { real = await fs.realpath(p); } catch { return undefined; }
  const realDir = await fs.realpath(dir);
  if (real !== realDir && !real.startsWith(realDir + "/")) return undefined;
  const st = await fs.stat(real);
  if (!st.isFile()) return undefined;
  return fs.readFile(real, "utf8");
}
