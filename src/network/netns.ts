/**
 * Persistent network namespaces, one per container, as files in one directory per berth instance
 * (default `<network state>/netns/<container id>`). A namespace is made by `unshare --net=<file>
 * true`: unshare bind-mounts the new namespace on the file, so it outlives the helper process and
 * the container's OCI spec can join it by path (linux.namespaces[type=network].path).
 *
 * Removal is a lazy unmount (MNT_DETACH, as dockerd does) and an unlink. Unlike iproute2 for
 * /run/netns, the directory is not made a shared mount: a mount namespace cloned from the host
 * while a namespace file was mounted keeps a copy that pins the (by then empty: CNI DEL deleted
 * its interfaces) namespace until that mount namespace ends; in exchange berth leaves no mount
 * behind on the directory, and a berth root can always be deleted.
 */
import { mkdir, open, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { errInvalidArgument } from "./errors.js";
import { runCommand } from "./exec.js";

export interface NetnsEntry {
  id: string;
  path: string;
  /** false: a plain file (after a reboot, or a create that died half-way). */
  mounted: boolean;
}

export interface NetnsDir {
  readonly dir: string;
  pathOf(id: string): string;
  /** Creates the namespace file for `id` (replacing a stale one) and returns its path. */
  create(id: string, signal?: AbortSignal): Promise<string>;
  /** Unmounts and removes the namespace file; no error when it is already gone. */
  remove(id: string): Promise<void>;
  list(): Promise<NetnsEntry[]>;
  isMounted(p: string): Promise<boolean>;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Mount points of this mount namespace, decoded from /proc/self/mountinfo. */
export async function mountPoints(): Promise<Map<string, string>> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const out = new Map<string, string>();
  for (const l of text.split("\n")) {
    const f = l.split(" ");
    if (f.length < 5) continue;
    const mp = f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    // The optional fields (shared:N, master:N) sit between field 6 and the "-" separator.
    out.set(mp, f.slice(6, f.indexOf("-")).join(" "));
  }
  return out;
}

export function createNetnsDir(dir: string): NetnsDir {
  return new Dir(path.resolve(dir));
}

class Dir implements NetnsDir {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(id: string): string {
    if (!ID.test(id)) throw errInvalidArgument(`invalid network namespace name ${JSON.stringify(id)}`);
    return path.join(this.dir, id);
  }

  async create(id: string, signal?: AbortSignal): Promise<string> {
    const p = this.pathOf(id);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (await this.isMounted(p)) await this.remove(id);
    // unshare bind-mounts onto an existing file only.
    await (await open(p, "w", 0o444)).close();
    try {
      await runCommand("unshare", [`--net=${p}`, "true"], signal);
    } catch (e) {
      await rm(p, { force: true });
      throw e;
    }
    return p;
  }

  async remove(id: string): Promise<void> {
    const p = this.pathOf(id);
    // The kernel frees the namespace when its last user (a process, another mount) lets go.
    if (await this.isMounted(p)) await runCommand("umount", ["-l", p]);
    await rm(p, { force: true });
  }

  async list(): Promise<NetnsEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return [];
      throw e;
    }
    const mounts = await mountPoints();
    return names
      .filter((n) => ID.test(n))
      .sort()
      .map((id) => {
        const p = path.join(this.dir, id);
        return { id, path: p, mounted: mounts.has(p) };
      });
  }

  async isMounted(p: string): Promise<boolean> {
    return (await mountPoints()).has(p);
  }
}
