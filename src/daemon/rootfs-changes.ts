/**
 * `docker diff`: what changed in a container's filesystem against its image, read from the
 * overlay snapshot's directories without mounting anything (works on running and stopped
 * containers alike, no RPC).
 *
 * The contract is dockerd 20.10 with overlay2, which compares the container's whole filesystem
 * with its image's (moby's "naive" ChangesDirs): a path only in the container is Added (1), and
 * so is everything below an added directory; a path in both whose type/mode, owner, device or
 * (for non-directories) size or mtime differs, or whose file capabilities differ, is Modified
 * (0); an image path the container lacks is Deleted (2), listed once (not its contents); a
 * directory with changes inside is Modified too, listed before them. Only the upperdir can hold
 * changes, so it is the one tree walked: a whiteout (a 0:0 character device) is a deletion, an
 * opaque directory hides every image entry below it that the upperdir does not have again, and
 * everything else is looked up through the lowerdirs (honouring their own whiteouts and opaque
 * directories) to tell Added from Modified.
 *
 * Order: dockerd walks a Go map, so its order varies from call to call; what it always keeps is
 * a directory before its contents, and a directory's deletions after its other changes. berth
 * keeps that and sorts siblings by name, so the answer is one of dockerd's, always the same.
 */
import fs from "node:fs/promises";
import type { BigIntStats } from "node:fs";
import path from "node:path/posix";

import { lgetxattr } from "../base/native-fs.js";

export const ChangeKind = { modified: 0, added: 1, deleted: 2 } as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

export interface FilesystemChange {
  /** Absolute in the container ("/etc/passwd"). */
  path: string;
  kind: ChangeKind;
}

export interface OverlayLayers {
  /** The container's writable layer. */
  upper: string;
  /** The image's layers, top first (an image without layers has none). */
  lowers: readonly string[];
}

export const OPAQUE_XATTR = "trusted.overlay.opaque";
const CAPABILITY_XATTR = "security.capability";

const isWhiteout = (st: BigIntStats) => st.isCharacterDevice() && st.rdev === 0n;

async function lstatOrUndefined(p: string): Promise<BigIntStats | undefined> {
  try {
    return await fs.lstat(p, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw e;
  }
}

function xattr(p: string, name: string): Buffer | undefined {
  try {
    return lgetxattr(p, name);
  } catch (e) {
    // A filesystem without xattrs has no opaque directories and no capabilities.
    if ((e as NodeJS.ErrnoException).code === "EOPNOTSUPP") return undefined;
    throw e;
  }
}

const isOpaque = (p: string) => xattr(p, OPAQUE_XATTR)?.toString() === "y";

/** Go's sameFsTime: equal, or the same second with one side lacking nanoseconds (tar). */
function sameTime(a: bigint, b: bigint): boolean {
  if (a === b) return true;
  const NS = 1_000_000_000n;
  return a / NS === b / NS && (a % NS === 0n || b % NS === 0n);
}

/** moby's statDifferent: mode (type and permissions), owner, device; size and mtime for non-directories. */
export function statDifferent(old: BigIntStats, cur: BigIntStats): boolean {
  if (old.mode !== cur.mode || old.uid !== cur.uid || old.gid !== cur.gid || old.rdev !== cur.rdev) return true;
  if (old.isDirectory()) return false;
  return old.size !== cur.size || !sameTime(old.mtimeNs, cur.mtimeNs);
}

/** The image's view of `rel` ("a/b"): the lstat of the topmost layer that has it, or undefined. */
async function lowerStat(lowers: readonly string[], rel: string): Promise<{ st: BigIntStats; at: string } | undefined> {
  const parts = rel.split("/");
  for (const layer of lowers) {
    let opaqueAbove = false;
    for (let k = 1; k <= parts.length; k++) {
      const here = path.join(layer, ...parts.slice(0, k));
      const st = await lstatOrUndefined(here);
      if (!st) break;
      if (isWhiteout(st)) return undefined;
      if (k === parts.length) return { st, at: here };
      if (!st.isDirectory()) return undefined;
      if (isOpaque(here)) opaqueAbove = true;
    }
    if (opaqueAbove) return undefined;
  }
  return undefined;
}

/** The names the image has in directory `rel` ("" for the root). */
async function lowerNames(lowers: readonly string[], rel: string): Promise<string[]> {
  const names = new Set<string>();
  for (const layer of lowers) {
    let entries: string[];
    try {
      entries = await fs.readdir(path.join(layer, rel));
    } catch {
      continue;
    }
    for (const n of entries) names.add(n);
  }
  const out: string[] = [];
  for (const n of [...names].sort()) if (await lowerStat(lowers, rel === "" ? n : `${rel}/${n}`)) out.push(n);
  return out;
}

const sortedNames = async (dir: string) => (await fs.readdir(dir)).sort();

export interface ChangesOptions {
  /**
   * Paths ("/etc/hostname") the runtime creates as mount points when the image lacks them;
   * dockerd creates them in the container's init layer, so they never show as Added.
   */
  runtimeMountPoints?: ReadonlySet<string>;
}

/** The changes of an overlay container filesystem against its image, in dockerd's form. */
export async function overlayChanges(layers: OverlayLayers, o: ChangesOptions = {}): Promise<FilesystemChange[]> {
  const out: FilesystemChange[] = [];
  const skipAdded = o.runtimeMountPoints ?? new Set<string>();

  /** Everything below an added directory is added. */
  async function addTree(rel: string): Promise<void> {
    for (const name of await sortedNames(path.join(layers.upper, rel))) {
      const child = `${rel}/${name}`;
      const st = await fs.lstat(path.join(layers.upper, child), { bigint: true });
      if (isWhiteout(st)) continue; // nothing below to hide
      out.push({ path: "/" + child, kind: ChangeKind.added });
      if (st.isDirectory()) await addTree(child);
    }
  }

  /** Changes inside directory `rel` of the upperdir, which the image has as a directory too. */
  async function walkDir(rel: string): Promise<void> {
    const dir = path.join(layers.upper, rel);
    const deleted: string[] = [];
    const present = new Set<string>();
    for (const name of await sortedNames(dir)) {
      const child = rel === "" ? name : `${rel}/${name}`;
      const abs = path.join(layers.upper, child);
      const st = await fs.lstat(abs, { bigint: true });
      const below = await lowerStat(layers.lowers, child);
      if (isWhiteout(st)) {
        if (below) deleted.push(child);
        continue;
      }
      present.add(name);
      if (!below) {
        if (skipAdded.has("/" + child)) continue;
        out.push({ path: "/" + child, kind: ChangeKind.added });
        if (st.isDirectory()) await addTree(child);
        continue;
      }
      const at = out.length;
      let reported = false;
      if (statDifferent(below.st, st) || !sameCapability(below.at, abs, st)) {
        out.push({ path: "/" + child, kind: ChangeKind.modified });
        reported = true;
      }
      if (!st.isDirectory()) continue;
      if (below.st.isDirectory()) await walkDir(child);
      else await addTree(child);
      // A directory with changes inside is listed (before them) even if it is unchanged itself.
      if (!reported && out.length > at) out.splice(at, 0, { path: "/" + child, kind: ChangeKind.modified });
    }
    if (isOpaque(dir)) {
      for (const name of await lowerNames(layers.lowers, rel)) if (!present.has(name)) deleted.push(rel === "" ? name : `${rel}/${name}`);
    }
    for (const d of [...new Set(deleted)].sort()) out.push({ path: "/" + d, kind: ChangeKind.deleted });
  }

  await walkDir("");
  return out;
}

function sameCapability(lowerPath: string, upperPath: string, st: BigIntStats): boolean {
  if (st.isSymbolicLink()) return true;
  const a = xattr(lowerPath, CAPABILITY_XATTR);
  const b = xattr(upperPath, CAPABILITY_XATTR);
  return a === undefined ? b === undefined : b !== undefined && a.equals(b);
}

/** Every path of a filesystem without an image below it (a snapshot without parent): all added. */
export async function allAdded(root: string): Promise<FilesystemChange[]> {
  return overlayChanges({ upper: root, lowers: [] });
}
