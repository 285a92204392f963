// A snapshot's mounts (as Snapshots/Prepare, /View or /Mounts return them) mounted on a private
// directory for the builder to read (COPY --from) or write (COPY, ADD, WORKDIR). The builder
// owns these snapshots: nothing else mounts them while it works.
import fs from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { errInvalidArgument } from "../base/errors.js";
import { mountFilesystem, mountsAtOrUnder, readMountInfo, unmountFilesystem } from "../volumes/host-mount.js";

/** Unmounts and removes what a crashed build left mounted under `dir`. */
export async function cleanupMounts(dir: string): Promise<void> {
  for (const m of mountsAtOrUnder(await readMountInfo(), dir)) {
    if (m !== dir) await unmountFilesystem(m).catch(() => {});
  }
  await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
}

export interface SnapshotMountLike {
  type: string;
  source: string;
  options: readonly string[];
}

/** mount(2) takes one page of option data. */
const MAX_MOUNT_DATA = 4095;

/**
 * Overlay options of an image with many layers outgrow a page; as containerd does, the layer
 * paths are then made relative to their common directory and mount(8) runs there.
 */
export function fitOptions(options: readonly string[]): { options: string; cwd?: string } {
  const joined = options.join(",");
  if (joined.length <= MAX_MOUNT_DATA) return { options: joined };
  const paths = options.flatMap((o) => /^(lowerdir|upperdir|workdir)=/.test(o) ? o.slice(o.indexOf("=") + 1).split(":") : []);
  let common = path.dirname(paths[0] ?? "/");
  while (!paths.every((p) => p.startsWith(common + "/")) && common !== "/") common = path.dirname(common);
  const rel = options.map((o) => {
    const m = /^(lowerdir|upperdir|workdir)=(.*)$/.exec(o);
    return m ? `${m[1]}=${m[2]!.split(":").map((p) => path.relative(common, p)).join(":")}` : o;
  });
  return { options: rel.join(","), cwd: common };
}

/** Mounts `mounts` (one mount, as the overlay snapshotter returns) on a new directory under `dir`. */
export async function mountSnapshot(mounts: readonly SnapshotMountLike[], dir: string): Promise<{ path: string; release(): Promise<void> }> {
  const target = path.join(dir, `mnt-${randomBytes(6).toString("hex")}`);
  await fs.mkdir(target, { recursive: true, mode: 0o700 });
  if (mounts.length === 0) {
    // A view of no layers (scratch): an empty directory is the whole filesystem.
    return { path: target, release: () => fs.rm(target, { recursive: true, force: true }) };
  }
  if (mounts.length !== 1) throw errInvalidArgument(`a snapshot with ${mounts.length} mounts cannot be mounted by the builder`);
  const m = mounts[0]!;
  const bind = m.type === "bind" || m.type === "rbind";
  // mount(8) knows bind mounts as an option, not a type.
  const options = bind ? [...new Set([...m.options.filter((o) => o !== "rbind"), "bind"])] : [...m.options];
  const fitted = fitOptions(options);
  await mountFilesystem({ type: bind ? "none" : m.type, device: m.source, target, options: fitted.options, ...(fitted.cwd ? { cwd: fitted.cwd } : {}) });
  return {
    path: target,
    release: async () => {
      await unmountFilesystem(target);
      await fs.rmdir(target).catch(() => {});
    },
  };
}
