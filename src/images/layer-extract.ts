// Extracts a layer's tar, as it streams by, into an empty directory laid out as an overlayfs
// upper directory: whiteouts become 0/0 character devices, opaque directories get the
// trusted.overlay.opaque xattr (what containerd's overlay applier writes). It runs beside the
// layer's Content/Write so the unpack does not have to read the blob back afterwards (see
// docs/images.md, "Unpacking while loading").
//
// It handles what image builders write: files, directories, symlinks, hard links within the
// layer, device nodes, FIFOs, whiteouts, ownership, modes and times. Anything else (extended
// attributes, an entry under a symlink or a file of the same layer, a hard link to another
// layer, unknown entry types) throws UnsupportedEntry, and the caller unpacks that layer with
// containerd's Diff/Apply instead. Paths are those LayerChecker already accepted (no "..", not
// absolute); every parent is a directory this extractor made, so nothing it writes can follow a
// symlink out of its root.
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path/posix";
import type { Header as Headers } from "tar-stream";
import { cleanTarPath } from "./layer-check.js";
import { lsetxattr, makedev, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from "../base/native-fs.js";

export class UnsupportedEntry extends Error {}

// Owner of what this process creates (berthd runs as root: 0/0), to skip lchown when it matches.
const EUID = process.geteuid?.() ?? -1;
const EGID = process.getegid?.() ?? -1;

export const OPAQUE_XATTR = "trusted.overlay.opaque";
const WHITEOUT_PREFIX = ".wh.";
const OPAQUE_MARKER = ".wh..wh..opq";

/** What the caller needs once the layer is in place, to move it under its parent. */
export interface ExtractedLayer {
  /** Directories made for entries whose parents the layer does not list, parents first. */
  implicitDirs: string[];
  /** Whiteout nodes written (meaningless in a base layer, which has nothing to hide). */
  whiteouts: string[];
  /** Opaque directories ("" is the root). */
  opaqueDirs: string[];
}

export interface EntryAttrs {
  mode: number;
  uid: number;
  gid: number;
  atime: Date;
  mtime: Date;
}

/** The entry body as tar-stream gives it (a streamx Readable). */
export interface EntryBody {
  on(event: "data", fn: (chunk: Buffer) => void): unknown;
  on(event: "end", fn: () => void): unknown;
  on(event: "error", fn: (e: Error) => void): unknown;
  on(event: "close", fn: () => void): unknown;
  resume(): unknown;
}

type Kind = "dir" | "file" | "symlink" | "other";

function paxOf(h: Headers): Record<string, string> {
  return (h.pax ?? {}) as Record<string, string>;
}

function attrsOf(h: Headers): EntryAttrs {
  const pax = paxOf(h);
  const num = (v: string | undefined, d: number) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : d);
  const time = (v: string | undefined, d: Date) => (v !== undefined && /^-?\d+(\.\d+)?$/.test(v) ? new Date(Number(v) * 1000) : d);
  const mtime = time(pax.mtime, h.mtime ?? new Date(0));
  return { mode: (h.mode ?? 0o644) & 0o7777, uid: num(pax.uid, h.uid ?? 0), gid: num(pax.gid, h.gid ?? 0), mtime, atime: time(pax.atime, mtime) };
}

export class LayerExtractor {
  readonly #root: string;
  /** What this layer made, by path: the only things an entry may be created under. */
  readonly #kinds = new Map<string, Kind>([["", "dir"]]);
  readonly #implicit = new Set<string>();
  readonly #dirTimes = new Map<string, EntryAttrs>();
  readonly #whiteouts: string[] = [];
  readonly #opaque: string[] = [];

  constructor(root: string) {
    this.#root = root;
  }

  #abs(p: string): string {
    return p === "" ? this.#root : path.join(this.#root, p);
  }

  /** Parents of `p` as directories of this layer, made (0755 root, as containerd does) if missing. */
  async #ensureParents(p: string): Promise<void> {
    const parts = p.split("/");
    let cur = "";
    for (let i = 0; i < parts.length - 1; i++) {
      cur = cur === "" ? parts[i]! : `${cur}/${parts[i]}`;
      const k = this.#kinds.get(cur);
      if (k === "dir") continue;
      if (k !== undefined) throw new UnsupportedEntry(`${p}: a parent is a ${k} of the same layer`);
      const abs = this.#abs(cur);
      await fsp.mkdir(abs, { mode: 0o755 });
      this.#later(() => fsp.chmod(abs, 0o755)); // past the umask
      this.#kinds.set(cur, "dir");
      this.#implicit.add(cur);
    }
  }

  /** Removes what the layer wrote at `p` before, and everything it made below it. */
  async #replace(p: string): Promise<void> {
    await this.#settle(); // nothing still in flight on what goes
    await fsp.rm(this.#abs(p), { recursive: true, force: true });
    const prefix = p + "/";
    for (const k of [...this.#kinds.keys()]) if (k === p || k.startsWith(prefix)) { this.#kinds.delete(k); this.#implicit.delete(k); this.#dirTimes.delete(k); }
  }

  /** `fresh`: this extractor just made the node, so it is owned by berthd's uid and gid already. */
  async #setOwnerAndMode(abs: string, a: EntryAttrs, fresh = true): Promise<void> {
    if (!fresh || a.uid !== EUID || a.gid !== EGID) await fsp.lchown(abs, a.uid, a.gid);
    await fsp.chmod(abs, a.mode); // after chown, which clears setuid/setgid
  }

  /**
   * Calls no later entry depends on (owner, mode and times of what exists, a symlink no entry
   * may go under) run in the background: one entry after another, each waiting for its thread-
   * pool round trips, made the busybox layer's 280 entries take ~200 ms behind its Content/Write.
   * finish(), a replace and abandon() wait for them; a failure fails the extraction.
   */
  #later(op: () => Promise<void>): void {
    this.#pending.push(op().catch((e: unknown) => { this.#pendingError ??= e; }));
  }

  async #settle(): Promise<void> {
    while (this.#pending.length > 0) await Promise.all(this.#pending.splice(0));
    if (this.#pendingError !== undefined) throw this.#pendingError;
  }

  #pending: Promise<void>[] = [];
  #pendingError: unknown;
  /** Bounds the calls in flight (and the memory they hold). */
  static readonly MAX_PENDING = 512;

  /**
   * Writes one entry. The body is read to its end whenever this resolves; when it throws, the
   * caller drains what is left (nothing of it is read after a throw).
   */
  entry(h: Headers, body: EntryBody): Promise<void> {
    if (this.#abandoned) return Promise.reject(new UnsupportedEntry("extraction abandoned"));
    const p = (this.#pending.length >= LayerExtractor.MAX_PENDING ? this.#settle() : Promise.resolve()).then(() => this.#entry(h, body));
    this.#inflight = p.catch(() => {});
    return p;
  }

  #inflight: Promise<void> = Promise.resolve();
  #abandoned = false;

  /**
   * Refuses further entries and waits (at most `maxWaitMs`) for the one being written, so that
   * its directory can be removed without racing it.
   */
  async abandon(maxWaitMs = 10_000): Promise<void> {
    this.#abandoned = true;
    let timer: NodeJS.Timeout | undefined;
    const idle = this.#inflight.then(() => this.#settle()).catch(() => {});
    await Promise.race([idle, new Promise<void>((r) => { timer = setTimeout(r, maxWaitMs); })]);
    clearTimeout(timer);
  }

  async #entry(h: Headers, body: EntryBody): Promise<void> {
    const pax = paxOf(h);
    if (Object.keys(pax).some((k) => k.startsWith("SCHILY.xattr.") || k.startsWith("LIBARCHIVE.xattr."))) {
      throw new UnsupportedEntry(`${h.name}: extended attributes`);
    }
    const name = cleanTarPath(h.name);
    const a = attrsOf(h);
    // containerd's applier skips the root entry ("./"): the snapshot's root keeps its attributes.
    if (name === "") return;
    const base = path.basename(name);
    const dir = name.includes("/") ? path.dirname(name) : "";
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await this.#ensureParents(name);
      if (base === OPAQUE_MARKER) {
        lsetxattr(this.#abs(dir), OPAQUE_XATTR, "y");
        this.#opaque.push(dir);
        return;
      }
      const target = dir === "" ? base.slice(WHITEOUT_PREFIX.length) : `${dir}/${base.slice(WHITEOUT_PREFIX.length)}`;
      // A whiteout hides lower layers only; one for an entry of this same layer depends on order.
      if (this.#kinds.has(target)) throw new UnsupportedEntry(`${name}: whiteout of an entry of the same layer`);
      mknod(this.#abs(target), S_IFCHR, 0n);
      const wabs = this.#abs(target);
      if (a.uid !== EUID || a.gid !== EGID) this.#later(() => fsp.lchown(wabs, a.uid, a.gid));
      this.#kinds.set(target, "other");
      this.#whiteouts.push(target);
      return;
    }
    await this.#ensureParents(name);
    const existing = this.#kinds.get(name);
    if (existing !== undefined && !(existing === "dir" && h.type === "directory")) await this.#replace(name);
    const abs = this.#abs(name);
    switch (h.type) {
      case "directory":
        if (existing !== "dir") await fsp.mkdir(abs, { mode: 0o700 });
        this.#implicit.delete(name);
        this.#kinds.set(name, "dir");
        this.#later(() => this.#setOwnerAndMode(abs, a, existing !== "dir"));
        this.#dirTimes.set(name, a);
        return;
      case "file":
      case "contiguous-file":
        this.#kinds.set(name, "file");
        await writeBody(abs, body);
        this.#later(async () => { await this.#setOwnerAndMode(abs, a); await fsp.utimes(abs, a.atime, a.mtime); });
        return;
      case "symlink": {
        const target = h.linkname ?? "";
        this.#kinds.set(name, "symlink");
        this.#later(async () => {
          await fsp.symlink(target, abs);
          if (a.uid !== EUID || a.gid !== EGID) await fsp.lchown(abs, a.uid, a.gid);
          await fsp.lutimes(abs, a.atime, a.mtime);
        });
        return;
      }
      case "link": {
        const target = cleanTarPath(h.linkname ?? "");
        const k = this.#kinds.get(target);
        if (k !== "file" && k !== "other") throw new UnsupportedEntry(`${name}: hard link to ${target}, which is not a file of this layer`);
        // The target's own attributes first: the link's header, applied after them, wins.
        await this.#settle();
        await fsp.link(this.#abs(target), abs);
        this.#kinds.set(name, k);
        // The link's header speaks for the inode it shares (containerd's applier does the same).
        await this.#setOwnerAndMode(abs, a, false);
        await fsp.utimes(abs, a.atime, a.mtime);
        return;
      }
      case "character-device":
      case "block-device":
      case "fifo": {
        const type = h.type === "fifo" ? S_IFIFO : h.type === "block-device" ? S_IFBLK : S_IFCHR;
        mknod(abs, type | a.mode, h.type === "fifo" ? 0n : makedev(h.devmajor ?? 0, h.devminor ?? 0));
        this.#kinds.set(name, "other");
        this.#later(async () => { await this.#setOwnerAndMode(abs, a); await fsp.utimes(abs, a.atime, a.mtime); });
        return;
      }
      default:
        throw new UnsupportedEntry(`${name}: entry type ${h.type}`);
    }
  }

  /** Sets directory times (deepest first: writing into a directory changes its mtime). */
  async finish(): Promise<ExtractedLayer> {
    await this.#settle(); // entries made in the background change their directories' mtimes
    const dirs = [...this.#dirTimes.entries()].sort((x, y) => y[0].split("/").length - x[0].split("/").length);
    for (const [p, a] of dirs) await fsp.utimes(this.#abs(p), a.atime, a.mtime);
    return { implicitDirs: [...this.#implicit], whiteouts: [...this.#whiteouts], opaqueDirs: [...this.#opaque] };
  }
}

/**
 * Writes the body into a new file, reading it to its end even when a write fails. Metadata
 * calls go through the thread pool (a mkdir can wait hundreds of ms on the filesystem journal
 * while containerd fsyncs a blob), but data is written synchronously: into the page cache a
 * 64 KiB write takes ~17 µs, and the thread-pool round trip of an asynchronous one cost 4x the
 * CPU (docs/performance.md, "Unpacking while loading").
 */
async function writeBody(abs: string, body: EntryBody): Promise<void> {
  const fh = await fsp.open(abs, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  let failure: unknown;
  try {
    await new Promise<void>((resolve, reject) => {
      let ended = false;
      body.on("data", (chunk: Buffer) => {
        if (failure !== undefined) return;
        try {
          for (let off = 0; off < chunk.length;) off += fs.writeSync(fh.fd, chunk, off, chunk.length - off);
        } catch (e) {
          failure = e;
        }
      });
      body.on("end", () => { ended = true; resolve(); });
      body.on("error", (e) => reject(e));
      body.on("close", () => { if (!ended) reject(new Error("the entry ended early")); });
    });
  } finally {
    await fh.close();
  }
  if (failure !== undefined) throw failure;
}
