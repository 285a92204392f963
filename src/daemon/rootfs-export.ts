/**
 * `docker export`: the container's filesystem as one tar, streamed. dockerd tars its rootfs
 * mount (the layer mount, so volumes and bind mounts are not in it) in Go's walk order: names
 * relative to the root without "./" and without an entry for the root itself, sorted by byte
 * order per directory, directories with a trailing "/", hard links as links to the first path
 * seen, devices and FIFOs as such, sockets left out (Go's tar has no type for them). Whatever
 * is mounted inside the root (a view's volumes, for docker cp) is left out with its mount point.
 */
import fs from "node:fs/promises";
import { createReadStream, type BigIntStats } from "node:fs";
import path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import tarStream from "tar-stream";
import { ownersOf } from "./archive.js";
import type { ShiftMaps } from "./userns-shift.js";

type Header = Parameters<tarStream.Pack["entry"]>[0];

/** Linux's major/minor split of a device number (glibc's gnu_dev_major/minor). */
function devParts(rdev: bigint): { devmajor: number; devminor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { devmajor: Number(major), devminor: Number(minor) };
}

/** Byte-order sort, as Go's sort.Strings (JS's default sort compares UTF-16 units). */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Streams a tar of everything under `root`; the stream errors if reading fails midway. With
 * `maps` (--userns-remap) owners are the ids the container sees, as dockerd's export maps them.
 */
export function exportRootfs(root: string, o: { signal?: AbortSignal; maps?: ShiftMaps } = {}): Readable {
  const pack = tarStream.pack();
  const owners = ownersOf(o.maps);
  const out = new PassThrough();
  const links = new Map<string, string>();

  const entry = (h: Header) => new Promise<void>((resolve, reject) => pack.entry(h, (err) => (err ? reject(err) : resolve())));

  let rootDev: bigint | undefined;

  async function add(abs: string, name: string): Promise<void> {
    o.signal?.throwIfAborted();
    const st: BigIntStats = await fs.lstat(abs, { bigint: true });
    // A directory on another device is a mount point (overlay directories always carry the
    // overlay's device; files may carry their layer's when the layers span filesystems).
    if (st.isDirectory() && st.dev !== rootDev) return;
    const [uid, gid] = owners.toArchive(Number(st.uid), Number(st.gid));
    const base: Header = {
      name, mode: Number(st.mode & 0o7777n), uid, gid,
      mtime: new Date(Number(st.mtimeMs)),
    };
    if (!st.isDirectory() && st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) return entry({ ...base, type: "link", linkname: first });
      links.set(key, name);
    }
    if (st.isDirectory()) {
      await entry({ ...base, name: name + "/", type: "directory" });
      for (const child of (await fs.readdir(abs)).sort(byteOrder)) await add(path.join(abs, child), `${name}/${child}`);
    } else if (st.isFile()) {
      await new Promise<void>((resolve, reject) => {
        const w = pack.entry({ ...base, type: "file", size: Number(st.size) }, (err) => (err ? reject(err) : resolve()));
        // A reader that goes away destroys the pack and this entry: handled, never unhandled.
        const rs = createReadStream(abs).on("error", reject);
        w.on("error", (e) => { rs.destroy(); reject(e); });
        rs.pipe(w);
      });
    } else if (st.isSymbolicLink()) {
      await entry({ ...base, type: "symlink", linkname: await fs.readlink(abs) });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      await entry({ ...base, type: st.isCharacterDevice() ? "character-device" : "block-device", ...devParts(st.rdev) });
    } else if (st.isFIFO()) {
      await entry({ ...base, type: "fifo" });
    }
  }

  void (async () => {
    try {
      rootDev = (await fs.lstat(root, { bigint: true })).dev;
      for (const child of (await fs.readdir(root)).sort(byteOrder)) await add(path.join(root, child), child);
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
    }
  })();
  pack.on("error", (e) => out.destroy(e));
  pack.pipe(out);
  return out;
}
