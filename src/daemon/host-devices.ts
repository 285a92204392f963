// The host's device nodes, for `--device` and `--privileged`: the stat calls the pure spec
// options (oci/devices.ts) leave to the daemon. Read as runc's devices.DeviceFromPath and
// moby's oci.DevicesFromPath do.
import { type BigIntStats, lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import path from "node:path";

import { errInvalidArgument } from "../base/errors.js";
import type { DeviceMapping } from "../container/index.js";
import type { LinuxDevice } from "../containerd/index.js";
import type { ResolvedDevice } from "./oci/devices.js";

/** glibc's major()/minor() of a dev_t. */
export function splitDevNumber(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/** A device node's spec entry, or undefined when `st` is not a character or block device. */
function deviceOf(st: BigIntStats, containerPath: string): LinuxDevice | undefined {
  const type = st.isCharacterDevice() ? "c" : st.isBlockDevice() ? "b" : undefined;
  if (type === undefined) return undefined;
  return {
    path: containerPath,
    type,
    ...splitDevNumber(st.rdev),
    fileMode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
  };
}

/**
 * One `--device` mapping: the node (symlinks followed) at its container path, or, for a
 * directory, every device node under it at the same relative path. Errors are dockerd's.
 */
export function resolveDeviceMapping(m: DeviceMapping): ResolvedDevice[] {
  const inContainer = m.pathInContainer || m.pathOnHost;
  const fail = (why: string) =>
    errInvalidArgument(`error gathering device information while adding custom device ${JSON.stringify(m.pathOnHost)}: ${why}`);
  let resolved: string;
  let st: BigIntStats;
  try {
    resolved = realpathSync(m.pathOnHost);
    st = statSync(resolved, { bigint: true });
  } catch {
    throw fail("no such file or directory");
  }
  const device = deviceOf(st, inContainer);
  if (device) return [{ device, access: m.cgroupPermissions }];
  if (!st.isDirectory()) throw fail("not a device node");
  return walkDevices(resolved, new Set()).map(([hostPath, d]) => ({
    device: { ...d, path: path.posix.join(inContainer, path.posix.relative(resolved, hostPath)) },
    access: m.cgroupPermissions,
  }));
}

/** Directories of /dev runc leaves out of a privileged container's devices (mounted separately or not devices). */
const SKIPPED_DIRS = new Set(["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]);

/** [host path, device] under `dir`, symlinks not followed. */
function walkDevices(dir: string, skip: ReadonlySet<string>): [string, LinuxDevice][] {
  const out: [string, LinuxDevice][] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const p = path.join(dir, name);
    let st: BigIntStats;
    try {
      st = lstatSync(p, { bigint: true });
    } catch {
      continue; // Gone since the listing.
    }
    if (st.isDirectory()) {
      if (!skip.has(name)) out.push(...walkDevices(p, skip));
      continue;
    }
    // /dev/console is the container's own terminal, set up by runc.
    if (name === "console" && dir === "/dev") continue;
    const d = deviceOf(st, p);
    if (d) out.push([p, d]);
  }
  return out;
}

/** Every device node of the host's /dev, at the same path: what `--privileged` gives. */
export function hostDevices(root = "/dev"): LinuxDevice[] {
  return walkDevices(root, SKIPPED_DIRS).map(([, d]) => d);
}

/** The major:minor of a block device path, for --blkio-weight-device. */
export function blockDeviceNumbers(devicePath: string): { major: number; minor: number } {
  let st: BigIntStats;
  try {
    st = statSync(devicePath, { bigint: true });
  } catch {
    throw errInvalidArgument(`error getting device ${JSON.stringify(devicePath)}: no such file or directory`);
  }
  if (!st.isBlockDevice()) throw errInvalidArgument(`${devicePath} is not a block device`);
  return splitDevNumber(st.rdev);
}
