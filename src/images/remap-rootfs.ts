// A container's rootfs under `--userns-remap`, as containerd's `WithRemappedSnapshot` makes it:
// the image's top snapshot is shifted once per (image, mappings) into a committed snapshot
// "<chainID>-userns-<hash>" (prepared on the image, mounted, every entry chowned to the host ids,
// committed), and each container's writable snapshot is prepared on that. The chown copies the
// files up into the shifted snapshot, so the image's own layers are untouched and unremapped use
// is unaffected. Costs (remapped path only): Snapshots/Stat, plus Prepare + Commit the first time.
import { createHash, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { errInternal, errInvalidArgument, isAlreadyExists, isNotFound } from "../containerd/index.js";
import { shiftTree, type ShiftMaps } from "../daemon/userns-shift.js";
import { chainIds } from "./digest.js";
import type { ResolvedImage } from "./image-store.js";
import { withLease } from "./lease.js";
import type { PreparedRootfs } from "./types.js";
import { rfc3339, unpackImage, type UnpackContext } from "./unpack.js";

const run = promisify(execFile);

/** The name of an image's shifted snapshot for these mappings. */
export function remappedSnapshotName(chainId: string, maps: ShiftMaps): string {
  const h = createHash("sha256").update(JSON.stringify([maps.uids, maps.gids])).digest("hex").slice(0, 12);
  return `${chainId}-userns-${h}`;
}

type SnapshotMount = { type: string; source: string; options: readonly string[] };

/** Mounts a snapshot's mounts at a temporary directory, shifts it, unmounts. */
async function shiftMounted(mounts: readonly SnapshotMount[], maps: ShiftMaps): Promise<void> {
  if (mounts.length !== 1) throw errInternal(`remapping a snapshot: expected one mount, got ${mounts.length}`);
  const m = mounts[0]!;
  if (m.type === "bind") {
    await shiftTree(m.source, maps);
    return;
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-remap-"));
  try {
    await run("mount", ["-t", m.type, m.source, "-o", m.options.join(","), dir]);
    try {
      await shiftTree(dir, maps);
    } finally {
      await run("umount", [dir]);
    }
  } finally {
    await fs.rmdir(dir).catch(() => {});
  }
}

export async function prepareRemappedRootfs(
  ctx: UnpackContext, containerId: string, image: ResolvedImage, maps: ShiftMaps, signal?: AbortSignal,
): Promise<PreparedRootfs> {
  const top = chainIds(image.diffIds).at(-1);
  if (!top) throw errInvalidArgument("an image without layers cannot be used with --userns-remap");
  await unpackImage(ctx, image, signal ? { signal } : {});
  const name = remappedSnapshotName(top, maps);
  const sn = ctx.snapshotter;
  return withLease(ctx.client, { expiryMs: ctx.leaseExpiryMs, now: ctx.now, prefix: "remap", ...(signal ? { signal } : {}) }, async (lease) => {
    const o = { headers: lease.headers, ...(signal ? { signal } : {}) };
    const shifted = async (): Promise<boolean> => {
      try {
        await ctx.client.snapshots.rpc.stat({ snapshotter: sn, key: name }, o);
        return true;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        return false;
      }
    };
    const makeShifted = async (): Promise<void> => {
      const tmp = `${name}-prep-${randomBytes(4).toString("hex")}`;
      const r = await ctx.client.snapshots.rpc.prepare({ snapshotter: sn, key: tmp, parent: top }, o);
      try {
        await shiftMounted(r.mounts, maps);
        await ctx.client.snapshots.rpc.commit({ snapshotter: sn, name, key: tmp }, o).catch((e: unknown) => {
          // A create racing this one committed it first: theirs is as good.
          if (!isAlreadyExists(e)) throw e;
          return ctx.client.snapshots.rpc.remove({ snapshotter: sn, key: tmp }, { headers: lease.headers });
        });
      } catch (e) {
        await ctx.client.snapshots.rpc.remove({ snapshotter: sn, key: tmp }, { headers: lease.headers }).catch(() => {});
        throw e;
      }
    };
    const prepareOnShifted = () => ctx.client.snapshots.rpc.prepare(
      { snapshotter: sn, key: containerId, parent: name, labels: { "containerd.io/gc.root": rfc3339(ctx.now()) } }, o,
    );
    if (!(await shifted())) await makeShifted();
    let r;
    try {
      r = await prepareOnShifted();
    } catch (e) {
      // The shifted snapshot that existed at the Stat holds no lease of ours: once the last
      // container on it is gone, containerd's GC may take it between the Stat and this Prepare.
      // Make it again (now under our lease) and prepare once more.
      if (!isNotFound(e)) throw e;
      await makeShifted();
      r = await prepareOnShifted();
    }
    return {
      snapshotter: sn,
      key: containerId,
      mounts: r.mounts.map((m) => ({ type: m.type, source: m.source, ...(m.target ? { target: m.target } : {}), options: [...m.options] })),
    };
  });
}
