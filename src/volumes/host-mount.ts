/**
 * Mounting on the host, for volumes with driver options and for the read-only overlay of
 * copy-up. mount(8) and umount(8) from util-linux do the work (berthd runs as root): they parse
 * "o=" options into flags and data the way moby's `mount.Mount` does, and give readable errors.
 * Whether a path is a mount point is read from /proc/self/mountinfo.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { posix } from "node:path";

import { errInternal } from "../base/errors.js";

export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  /** The mount point, unescaped. */
  mountPoint: string;
  fsType: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash as 3-digit octal ("\040"). */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/<pid>/mountinfo (proc(5)). Pure. */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const head = line.slice(0, sep).split(" ");
    const tail = line.slice(sep + 3).split(" ");
    out.push({
      mountId: Number(head[0]),
      parentId: Number(head[1]),
      mountPoint: unescapeOctal(head[4] ?? ""),
      fsType: tail[0] ?? "",
      source: unescapeOctal(tail[1] ?? ""),
    });
  }
  return out;
}

export async function readMountInfo(): Promise<MountInfoEntry[]> {
  return parseMountInfo(await readFile("/proc/self/mountinfo", "utf8"));
}

/** Mount points at `path` or below it (deepest first), from a mountinfo snapshot. */
export function mountsAtOrUnder(entries: readonly MountInfoEntry[], path: string): string[] {
  const p = posix.normalize(path).replace(/\/+$/, "") || "/";
  const hits = new Set<string>();
  for (const e of entries) if (e.mountPoint === p || e.mountPoint.startsWith(p + "/")) hits.add(e.mountPoint);
  return [...hits].sort((a, b) => b.length - a.length);
}

export async function isMountPoint(path: string): Promise<boolean> {
  const p = posix.normalize(path).replace(/\/+$/, "") || "/";
  return (await readMountInfo()).some((e) => e.mountPoint === p);
}

interface RunResult {
  code: number;
  stderr: string;
}

/** mount(8)'s message on one line (it can add a hint about dmesg on the next). */
const oneLine = (s: string): string => s.trim().replace(/\s*\n\s*/g, " ");

function run(cmd: string, args: readonly string[], o: { cwd?: string; signal?: AbortSignal } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { cwd: o.cwd, signal: o.signal, encoding: "utf8" }, (err, _stdout, stderr) => {
      if (err === null) return resolve({ code: 0, stderr });
      if ((err as NodeJS.ErrnoException).name === "AbortError") return reject(err);
      const code = (err as { code?: unknown }).code;
      if (typeof code === "number") return resolve({ code, stderr });
      reject(err);
    });
  });
}

export interface MountRequest {
  type: string;
  device: string;
  target: string;
  /** Comma-separated options; "" for none. */
  options: string;
  /** Directory to run mount(8) in, for relative paths in the options (long overlay lowerdirs). */
  cwd?: string;
  signal?: AbortSignal;
}

/** mount -t type [-o options] device target; an Error with mount(8)'s message on failure. */
export async function mountFilesystem(r: MountRequest): Promise<void> {
  const args = ["-t", r.type, ...(r.options === "" ? [] : ["-o", r.options]), r.device, r.target];
  const res = await run("mount", args, { ...(r.cwd ? { cwd: r.cwd } : {}), ...(r.signal ? { signal: r.signal } : {}) });
  if (res.code !== 0) {
    throw errInternal(`mount ${r.device}:${r.target}, data: ${r.options}: ${oneLine(res.stderr) || `mount exited with ${res.code}`}`);
  }
}

/**
 * Detaches the mount at `target` (MNT_DETACH, as moby's `mount.Unmount`): processes that still
 * hold files keep them, the path is free at once. Not mounted is not an error.
 */
export async function unmountFilesystem(target: string): Promise<void> {
  // Mounts stacked on one path come off one per umount; a few rounds clear them.
  for (let round = 0; round < 8; round++) {
    const res = await run("umount", ["-l", target]);
    const stillMounted = await isMountPoint(target);
    if (!stillMounted) return;
    if (res.code !== 0) {
      throw errInternal(`unmount ${target}: ${oneLine(res.stderr) || `umount exited with ${res.code}`}`);
    }
  }
  throw errInternal(`unmount ${target}: still mounted`);
}
