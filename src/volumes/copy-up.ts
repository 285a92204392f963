/**
 * Copy-up: a new, empty volume mounted where the image has content starts with a copy of that
 * content, as dockerd's `copyExistingContents` does (moby `container/container_unix.go`): only
 * when the volume directory is empty, and with ownership, modes, timestamps, hard links,
 * symlinks, devices and xattrs kept (containerd continuity `fs.CopyDir`). The volume's root
 * directory takes the owner and mode of the image's directory, so an image's
 * `chown postgres /var/lib/postgresql/data` holds in the volume.
 *
 * The image's filesystem is read through a view:
 *  - a plain directory rootfs is read in place;
 *  - a bind snapshot (a single layer) is read at its source;
 *  - an overlay snapshot is mounted read-only in a temporary directory, with its upperdir on top
 *    of its lowerdirs (`mount -t overlay -o ro,lowerdir=upper:lower1:...`). The kernel then
 *    applies every overlay rule — whiteouts (0:0 character devices), opaque directories
 *    (trusted.overlay.opaque), redirects — exactly as the container will see them, which a
 *    userspace layer merge would have to re-implement. It needs root (berthd is root) and must
 *    run while the container's own overlay is not mounted (before Tasks/Create).
 *
 * The copy itself is GNU `cp -a`, which preserves all of the above.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, readlink, rmdir } from "node:fs/promises";
import { join, posix } from "node:path";

import { errInternal, errInvalidArgument } from "../base/errors.js";
import { errnoOf } from "../base/durable-fs.js";
import { commonDir, MAX_MOUNT_DATA, overlayDirs } from "../base/overlay-mount.js";
import { mountFilesystem, unmountFilesystem } from "./host-mount.js";

/** The mounts of a snapshot, as containerd's Snapshots/Prepare returns them. */
export interface RootfsMountLike {
  type: string;
  source: string;
  options: readonly string[];
}

/** The container's image filesystem, as the engine has it (PreparedRootfs / RootfsRecord fit). */
export type RootfsSource = { kind: "path"; path: string } | { kind: "snapshot"; mounts: readonly RootfsMountLike[] };

/** A readable view of a rootfs; close() unmounts what opening mounted. */
export interface RootfsView {
  readonly root: string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Overlay options that change how layers are read, so the read-only view must keep them. */
const CARRIED_OVERLAY_OPTIONS = /^(userxattr|redirect_dir=.*|metacopy=.*)$/;

/** The layers of an overlay mount, top first: upperdir, then lowerdirs in order. */
export function overlayLayers(m: RootfsMountLike): string[] {
  const { upper, lowers } = overlayDirs(m);
  return [...(upper ? [upper] : []), ...lowers];
}

/**
 * The mount(8) arguments of a read-only overlay over `layers` (top first): options, and the
 * directory to run in when the paths had to be made relative to fit in one page.
 */
export function readonlyOverlayOptions(
  layers: readonly string[],
  carried: readonly string[],
  maxData = MAX_MOUNT_DATA,
): { options: string; cwd?: string } {
  const make = (dirs: readonly string[]) => ["ro", `lowerdir=${dirs.join(":")}`, ...carried].join(",");
  const options = make(layers);
  if (options.length <= maxData) return { options };
  const cwd = commonDir(layers);
  const relative = make(layers.map((l) => posix.relative(cwd, l) || "."));
  if (relative.length > maxData) throw errInvalidArgument(`too many image layers to mount for copy-up (${layers.length})`);
  return { options: relative, cwd };
}

function view(root: string, close: () => Promise<void>): RootfsView {
  let closed = false;
  const once = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  return { root, close: once, [Symbol.asyncDispose]: once };
}

export interface OpenRootfsOptions {
  /** Where to create the temporary mount point (the store uses `<root>/volumes/.copyup-*`). */
  tempDir: (suffix: string) => string;
  signal?: AbortSignal;
  /** Test hook: the one-page limit of mount data. */
  maxMountData?: number;
}

/** Opens the image filesystem for reading (mounting an overlay read-only when there is one). */
export async function openRootfsView(rootfs: RootfsSource, o: OpenRootfsOptions): Promise<RootfsView> {
  if (rootfs.kind === "path") return view(rootfs.path, async () => {});
  if (rootfs.mounts.length !== 1) {
    throw errInvalidArgument(`copy-up: cannot read a rootfs of ${rootfs.mounts.length} mounts`);
  }
  const m = rootfs.mounts[0] as RootfsMountLike;
  const isBind = m.type === "bind" || m.type === "rbind" || m.options.includes("bind") || m.options.includes("rbind");
  if (isBind) return view(m.source, async () => {});
  if (m.type !== "overlay") throw errInvalidArgument(`copy-up: cannot read a rootfs mount of type ${JSON.stringify(m.type)}`);
  const layers = overlayLayers(m);
  if (layers.length === 0) throw errInvalidArgument("copy-up: overlay rootfs without layers");
  // One layer: nothing to merge. (Overlay needs two lowerdirs without an upperdir anyway.)
  if (layers.length === 1) return view(layers[0] as string, async () => {});

  const { options, cwd } = readonlyOverlayOptions(layers, m.options.filter((x) => CARRIED_OVERLAY_OPTIONS.test(x)), o.maxMountData);
  const target = o.tempDir(randomBytes(8).toString("hex"));
  await mkdir(target, { mode: 0o700 });
  try {
    await mountFilesystem({ type: "overlay", device: "overlay", target, options, ...(cwd ? { cwd } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  } catch (e) {
    await rmdir(target).catch(() => {});
    throw e;
  }
  return view(target, async () => {
    await unmountFilesystem(target);
    // rmdir, never rm -r: if the unmount did not happen, the image's files stay untouched.
    await rmdir(target);
  });
}

/**
 * `path` (absolute, in the container) resolved inside `root` the way a container sees it:
 * symlinks are followed, with absolute targets and ".." kept within `root` (as moby's
 * GetResourcePath / filepath-securejoin). Components that do not exist are kept as written.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  let pending = path.split("/").filter((p) => p !== "" && p !== ".");
  let resolved: string[] = [];
  let links = 0;
  let missing = false;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    if (missing) {
      resolved.push(part);
      continue;
    }
    const candidate = join(root, ...resolved, part);
    let isLink = false;
    try {
      isLink = (await lstat(candidate)).isSymbolicLink();
    } catch (e) {
      if (errnoOf(e) !== "ENOENT" && errnoOf(e) !== "ENOTDIR") throw e;
      missing = true;
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++links > 255) throw errInvalidArgument(`too many levels of symbolic links: ${path}`);
    const target = await readlink(candidate);
    if (target.startsWith("/")) resolved = [];
    pending = [...target.split("/").filter((p) => p !== "" && p !== "."), ...pending];
  }
  return join(root, ...resolved);
}

export async function isEmptyDir(dir: string): Promise<boolean> {
  return (await readdir(dir)).length === 0;
}

function cpArchive(src: string, dst: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    // -a: recursive, symlinks as symlinks, owner, mode, timestamps, hard links, xattrs;
    // -T: dst is the directory itself (it takes src's attributes), not a parent to copy into.
    execFile("cp", ["-a", "-T", "--", src, dst], { encoding: "utf8", ...(signal ? { signal } : {}) }, (err, _out, stderr) => {
      if (err === null) resolve();
      else reject(errInternal(`copy-up ${src} → ${dst}: ${stderr.trim() || err.message}`, { cause: err }));
    });
  });
}

/**
 * Copies the image's content at `destination` into the volume directory `volumePath`, when the
 * volume is empty and the image has a directory there. Returns whether it copied. A file (not a
 * directory) at the destination is dockerd's "cannot mount volume over existing file".
 */
export async function copyImageContent(
  root: string,
  destination: string,
  volumePath: string,
  o: { signal?: AbortSignal } = {},
): Promise<boolean> {
  if (!(await isEmptyDir(volumePath))) return false;
  const src = await resolveInRoot(root, destination);
  let st;
  try {
    st = await lstat(src);
  } catch (e) {
    if (errnoOf(e) === "ENOENT" || errnoOf(e) === "ENOTDIR") return false;
    throw e;
  }
  if (!st.isDirectory()) throw errInvalidArgument(`cannot mount volume over existing file, file exists ${destination}`);
  await cpArchive(src, volumePath, o.signal);
  return true;
}
