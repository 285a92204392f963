/**
 * Persistent network namespaces, one per container, as files in one directory per berth instance
 * (default `<network state>/netns/<container id>`). A new namespace is bind-mounted on the file, so
 * it outlives the thread that made it and the container's OCI spec can join it by path
 * (linux.namespaces[type=network].path), and its loopback interface is brought up (what the CNI
 * loopback plugin would do: runc configures no loopback in a namespace it joins by path). Both are
 * system calls from berthd's thread (netns-sys.ts); without libc through koffi, the commands
 * `unshare --net=<file> ip link set lo up` and `umount -l` do the same.
 *
 * Removal is a lazy unmount (MNT_DETACH, as dockerd does) and an unlink. Unlike iproute2 for
 * /run/netns, the directory is not made a shared mount: a mount namespace cloned from the host
 * while a namespace file was mounted keeps a copy that pins the (by then empty: CNI DEL deleted
 * its interfaces) namespace until that mount namespace ends; in exchange berth leaves no mount
 * behind on the directory, and a berth root can always be deleted.
 */
import { mkdir, open, readdir, readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { errInvalidArgument } from "./errors.js";
import { unlinkIfExists } from "../base/durable-fs.js";
import { runCommand } from "./exec.js";
import { netnsSyscalls } from "./netns-sys.js";

export interface NetnsEntry {
  id: string;
  path: string;
  /** false: a plain file (after a reboot, or a create that died half-way). */
  mounted: boolean;
}

export interface NetnsDir {
  readonly dir: string;
  pathOf(id: string): string;
  /** Creates the namespace file for `id` (replacing a stale one), its loopback up, and returns its path. */
  create(id: string, signal?: AbortSignal): Promise<string>;
  /** Unmounts and removes the namespace file; no error when it is already gone. */
  remove(id: string): Promise<void>;
  list(): Promise<NetnsEntry[]>;
  /** Whether a namespace is mounted on `p` (its device is nsfs's, not its directory's). */
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
  #made = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(id: string): string {
    if (!ID.test(id)) throw errInvalidArgument(`invalid network namespace name ${JSON.stringify(id)}`);
    return path.join(this.dir, id);
  }

  async create(id: string, signal?: AbortSignal): Promise<string> {
    const p = this.pathOf(id);
    if (!this.#made) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.#made = true;
    }
    const sys = netnsSyscalls();
    // A stale namespace of the same name (a crashed attach) goes first.
    if (sys) sys.unmount(p);
    else if (await this.isMounted(p)) await this.remove(id);
    // A bind mount goes onto an existing file only.
    await (await open(p, "w", 0o444).catch(async (e: unknown) => {
      if ((e as { code?: string }).code !== "ENOENT") throw e;
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      return open(p, "w", 0o444);
    })).close();
    try {
      signal?.throwIfAborted();
      if (sys) sys.makeNetnsFile(p);
      else await runCommand("unshare", [`--net=${p}`, "ip", "link", "set", "lo", "up"], signal);
    } catch (e) {
      await rm(p, { force: true });
      throw e;
    }
    return p;
  }

  async remove(id: string): Promise<void> {
    const p = this.pathOf(id);
    // The kernel frees the namespace when its last user (a process, another mount) lets go.
    const sys = netnsSyscalls();
    if (sys) sys.unmount(p);
    else if (await this.isMounted(p)) await runCommand("umount", ["-l", p]);
    await unlinkIfExists(p);
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
    // Two stats instead of reading /proc/self/mountinfo, which holds every container's mounts.
    try {
      const [f, d] = await Promise.all([stat(p), stat(path.dirname(p))]);
      return f.dev !== d.dev;
    } catch {
      return false;
    }
  }
}
