/**
 * Container mounts laid out as dockerd does: --tmpfs, resolved binds and volumes, and the
 * generated /etc files. (-v/--mount parsing lives in src/volumes/mount-spec.ts.)
 */
import { posix } from "node:path";

import { errInvalidArgument } from "../../base/errors.js";
import { cleanPath, goQuote as quote } from "../../base/go-parse.js";
import type { Mount, Spec } from "../../containerd/oci/spec-types.js";
import { isDefaultMount } from "./default-spec.js";
import { type SpecOpt, linuxOf } from "./spec-opt.js";

/** dockerd counts path separators to order container mounts: parents before children. */
const mountDepth = (m: Mount): number => (cleanPath(m.destination).match(/\//g) ?? []).length;

/**
 * Adds container mounts the way dockerd lays out the list: default mounts first (minus those a
 * container mount replaces at the same destination, and minus the default mounts under /dev
 * when the container mounts /dev itself), then the container's mounts, parents before children.
 * A later container mount at the same destination replaces an earlier one.
 */
function placeMounts(spec: Spec, added: readonly Mount[]): void {
  const destinations = new Set(added.map((m) => cleanPath(m.destination)));
  const mountsDev = destinations.has("/dev");
  const kept = (spec.mounts ?? []).filter(
    (m) =>
      !destinations.has(cleanPath(m.destination)) &&
      !(mountsDev && isDefaultMount(m) && m.destination.startsWith("/dev/")),
  );
  const defaults = kept.filter((m) => isDefaultMount(m));
  // Array#sort is stable, so mounts of equal depth keep the order they were given in.
  const own = [...kept.filter((m) => !isDefaultMount(m)), ...added].sort((a, b) => mountDepth(a) - mountDepth(b));
  spec.mounts = [...defaults, ...own];
}

function validateMountDestination(dest: string): string | undefined {
  if (cleanPath(dest) === "/") return "invalid specification: destination can't be '/'";
  if (!posix.isAbsolute(dest)) return `invalid mount path: '${dest}' mount path must be absolute`;
  return undefined;
}

/** The flag group of each mount flag option; options of one group override each other. */
const tmpfsFlagGroups: Record<string, string> = {
  ro: "rdonly", rw: "rdonly",
  suid: "nosuid", nosuid: "nosuid",
  dev: "nodev", nodev: "nodev",
  exec: "noexec", noexec: "noexec",
  sync: "sync", async: "sync",
  dirsync: "dirsync",
  remount: "remount",
  mand: "mand", nomand: "mand",
  atime: "noatime", noatime: "noatime",
  diratime: "nodiratime", nodiratime: "nodiratime",
  relatime: "relatime", norelatime: "relatime",
  strictatime: "strictatime", nostrictatime: "strictatime",
  // There is only one propagation mode.
  bind: "propagation", rbind: "propagation", unbindable: "propagation", runbindable: "propagation",
  private: "propagation", rprivate: "propagation", shared: "propagation", rshared: "propagation",
  slave: "propagation", rslave: "propagation",
};

const tmpfsDataKeys = new Set(["", "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"]);

/**
 * moby/sys `MergeTmpfsOptions`: later options win over earlier ones of the same kind ("exec"
 * after the default "noexec"), duplicates are dropped, and anything that is neither a mount flag
 * nor a known tmpfs data option is an error.
 */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const seenFlags = new Set<string>();
  const seenData = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const option = options[i] as string;
    if (option === "defaults") continue;
    const group = tmpfsFlagGroups[option];
    if (group !== undefined) {
      if (!seenFlags.has(group)) {
        seenFlags.add(group);
        out.unshift(option);
      }
      continue;
    }
    const eq = option.indexOf("=");
    const parts = eq < 0 ? [option] : [option.slice(0, eq), option.slice(eq + 1)];
    const key = parts[0] as string;
    if (parts.length !== 2 || !tmpfsDataKeys.has(key)) {
      // Go's %q of a []string: ["a" "b"].
      throw errInvalidArgument(`Invalid tmpfs option [${parts.map(quote).join(" ")}]`);
    }
    if (!seenData.has(key)) {
      seenData.add(key);
      out.unshift(option);
    }
  }
  return out;
}

/** dockerd's options for every --tmpfs before the user's own. */
export const DEFAULT_TMPFS_OPTIONS: readonly string[] = Object.freeze(["noexec", "nosuid", "nodev", "rprivate"]);

/**
 * --tmpfs / HostConfig.Tmpfs: destination → "opt,opt". Each gets docker's defaults
 * (noexec,nosuid,nodev,rprivate) with the given options merged over them.
 */
export function withTmpfs(tmpfs: Readonly<Record<string, string>>): SpecOpt {
  const mounts: Mount[] = [];
  for (const [destination, data] of Object.entries(tmpfs)) {
    const bad = validateMountDestination(destination);
    if (bad !== undefined) throw errInvalidArgument(bad);
    const options = mergeTmpfsOptions([...DEFAULT_TMPFS_OPTIONS, ...(data === "" ? [] : data.split(","))]);
    mounts.push({ destination, type: "tmpfs", source: "tmpfs", options });
  }
  return (spec) => placeMounts(spec, mounts.map((m) => ({ ...m, options: [...(m.options ?? [])] })));
}

const propagationModes = new Set(["private", "rprivate", "shared", "rshared", "slave", "rslave"]);

/** The shared/slave propagation of a bind's options, if any. */
function propagationOf(m: Mount): string | undefined {
  return (m.options ?? []).find((o) => propagationModes.has(o));
}

/**
 * Host-path bind mounts already resolved (volumes, binds): placed after the defaults as dockerd
 * does, and a shared or slave bind makes the rootfs propagation shared / rslave.
 */
export function withMounts(mounts: readonly Mount[]): SpecOpt {
  return (spec) => {
    placeMounts(spec, mounts.map((m) => ({ ...m, options: [...(m.options ?? [])] })));
    for (const m of mounts) {
      const propagation = propagationOf(m);
      const linux = linuxOf(spec);
      const root = linux.rootfsPropagation ?? "";
      if (propagation === "shared" || propagation === "rshared") {
        if (root !== "shared" && root !== "rshared") linux.rootfsPropagation = "shared";
      } else if (propagation === "slave" || propagation === "rslave") {
        if (!["shared", "rshared", "slave", "rslave"].includes(root)) linux.rootfsPropagation = "rslave";
      }
    }
  };
}

export interface NetworkFiles {
  resolvConf?: string;
  hostname?: string;
  hosts?: string;
}

/**
 * Binds the container's generated /etc/resolv.conf, /etc/hostname and /etc/hosts (host paths,
 * absolute) in dockerd's order. They are writable, as in dockerd, unless the rootfs is
 * read-only: `readonly` defaults to the spec's root.readonly at the time this option runs.
 */
export function withHostsAndResolvConf(files: NetworkFiles, opts: { readonly?: boolean } = {}): SpecOpt {
  const entries: Array<[string, string]> = [];
  for (const [destination, source] of [
    ["/etc/resolv.conf", files.resolvConf],
    ["/etc/hostname", files.hostname],
    ["/etc/hosts", files.hosts],
  ] as const) {
    if (source === undefined) continue;
    if (!posix.isAbsolute(source)) {
      throw errInvalidArgument(`${destination} source must be an absolute host path, got ${quote(source)}`);
    }
    entries.push([destination, source]);
  }
  return (spec) => {
    const readonly = opts.readonly ?? spec.root?.readonly ?? false;
    placeMounts(
      spec,
      entries.map(([destination, source]) => ({
        destination,
        type: "bind",
        source,
        options: ["rbind", ...(readonly ? ["ro"] : []), "rprivate"],
      })),
    );
  };
}
