/**
 * Shifting a tree's ownership into a user namespace's host ids (`--userns-remap`), as
 * containerd's remapped snapshots do: every entry's uid and gid go from the container's ids to
 * the host's. Run on a mounted overlay, each chown copies the entry up, so the lower layers (the
 * image, shared with unremapped use) stay as they are.
 *
 * chown clears set-user-ID and set-group-ID bits, so they are set again. File capabilities
 * (security.capability) are cleared by the kernel too and are not restored: a limit berth
 * documents (docs/security.md).
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { LinuxIdMapping } from "../containerd/index.js";
import { toHost } from "./userns.js";

export interface ShiftMaps {
  uids: readonly LinuxIdMapping[];
  gids: readonly LinuxIdMapping[];
}

/**
 * Shifts `root` and everything under it (symlinks themselves, never followed). Ids outside the
 * mappings are left alone. Returns the number of entries changed.
 */
export async function shiftTree(root: string, maps: ShiftMaps): Promise<number> {
  // Hard links: an inode shifted once must not be shifted again when it shows the ids given to
  // it; an alias overlayfs copied up separately (index=off) still shows the old ids and is shifted.
  const done = new Map<string, string>();
  let changed = 0;
  const visit = async (p: string): Promise<void> => {
    const st = await fs.lstat(p, { bigint: false });
    const key = `${st.dev}:${st.ino}`;
    const now = `${st.uid}:${st.gid}`;
    if (done.get(key) !== now) {
      const uid = toHost(maps.uids, st.uid);
      const gid = toHost(maps.gids, st.gid);
      if (uid >= 0 && gid >= 0 && (uid !== st.uid || gid !== st.gid)) {
        await fs.lchown(p, uid, gid);
        if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) await fs.chmod(p, st.mode & 0o7777);
        done.set(key, `${uid}:${gid}`);
        changed++;
      }
    }
    if (st.isDirectory()) {
      for (const child of await fs.readdir(p)) await visit(path.join(p, child));
    }
  };
  await visit(root);
  return changed;
}
