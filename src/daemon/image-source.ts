import fs from "node:fs/promises";
import path from "node:path";
import { createHash } from "node:crypto";
import { errNotFound } from "../base/errors.js";
import type { HealthcheckConfig } from "../container/index.js";
import type { RpcOptions } from "../containerd/index.js";
import type { RootfsMount } from "../libcontainerd/index.js";
import { shiftTree, type ShiftMaps } from "./userns-shift.js";

/** What an image contributes to a container's defaults (engine vocabulary, not Docker JSON). */
export interface ImageConfig {
  cmd?: string[];
  entrypoint?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  exposedPorts?: string[];
  volumes?: string[];
  labels?: Record<string, string>;
  healthcheck?: HealthcheckConfig;
  stopSignal?: string;
}

export interface ResolvedImage {
  /** "sha256:<hex>" (the config digest for real images). */
  id: string;
  /** The reference as the user wrote it, normalized ("busybox:latest"). */
  name: string;
  config: ImageConfig;
}

export type PreparedRootfs =
  | { kind: "snapshot"; snapshotter: string; key: string; mounts: RootfsMount[] }
  | { kind: "path"; path: string };

/** `docker commit` as the engine asks for it. */
/** What a commit records besides the layer: the image config's inputs and the new name. */
export interface CommitMetadata {
  /** The container's config in the image config's form (Docker's keys): `container_config`. */
  containerConfig: Record<string, unknown>;
  /** The client's config (same form), merged over the container's. */
  config?: Record<string, unknown>;
  /** Dockerfile-like instructions applied to `config`. */
  changes?: string[];
  author?: string;
  comment?: string;
  /** "repo:tag" to name the image; untagged when absent. */
  reference?: string;
}

export interface CommitRequest extends CommitMetadata {
  containerId: string;
  /** The container's image ID. */
  imageId: string;
  rootfs: PreparedRootfs;
}

/** The engine's view of images: resolve a reference, make and remove a container's rootfs. */
export interface ImageSource {
  resolve(ref: string, o?: RpcOptions): Promise<ResolvedImage>;
  /**
   * One Snapshots/Prepare for a snapshot-based image. With `remap` (--userns-remap) the files
   * are owned by the mapped host ids (more RPCs: the shifted image snapshot is made once).
   */
  prepareRootfs(containerId: string, image: ResolvedImage, o?: RpcOptions & { remap?: ShiftMaps }): Promise<PreparedRootfs>;
  /** One Snapshots/Remove for a snapshot; idempotent. */
  removeRootfs(containerId: string, rootfs: PreparedRootfs, o?: RpcOptions): Promise<void>;
  /**
   * Removes whatever prepareRootfs(containerId) may have made, without knowing its result (a
   * create interrupted by a crash); idempotent.
   */
  removeRootfsOf(containerId: string, o?: RpcOptions): Promise<void>;
  /** A new image from the container's snapshot changes; absent where there is no image store. */
  commit?(req: CommitRequest, o?: RpcOptions): Promise<{ id: string }>;
}

/**
 * Images that are plain directories (name → rootfs dir), for tests and for a berth without an
 * image store: each container gets its own copy, so containers never share a writable root.
 */
export function createDirectoryImageSource(o: { images: Record<string, { dir: string; config?: ImageConfig }>; workDir: string }): ImageSource {
  const idOf = (name: string) => "sha256:" + createHash("sha256").update("dir:" + o.images[name]!.dir).digest("hex");
  const find = (ref: string) => {
    const candidates = [ref, ref.includes(":") ? ref : `${ref}:latest`, ref.replace(/:latest$/, "")];
    for (const c of candidates) if (o.images[c]) return c;
    for (const name of Object.keys(o.images)) if (idOf(name) === ref || idOf(name).slice(7).startsWith(ref.replace(/^sha256:/, ""))) return name;
    return undefined;
  };
  return {
    async resolve(ref) {
      const name = find(ref);
      if (!name) throw errNotFound(`No such image: ${ref}`);
      return { id: idOf(name), name: name.includes(":") ? name : `${name}:latest`, config: o.images[name]!.config ?? {} };
    },
    async prepareRootfs(containerId, image, opts) {
      const name = find(image.name) ?? find(image.id);
      if (!name) throw errNotFound(`No such image: ${image.name}`);
      const dest = path.join(o.workDir, containerId);
      await fs.rm(dest, { recursive: true, force: true });
      await fs.cp(o.images[name]!.dir, dest, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
      if (opts?.remap) await shiftTree(dest, opts.remap);
      return { kind: "path", path: dest };
    },
    async removeRootfs(_id, rootfs) {
      if (rootfs.kind === "path") await fs.rm(rootfs.path, { recursive: true, force: true });
    },
    async removeRootfsOf(containerId) {
      await fs.rm(path.join(o.workDir, containerId), { recursive: true, force: true });
    },
  };
}

/**
 * Reads a file of the image's filesystem without mounting it: a path rootfs directly; an
 * overlay snapshot through its upperdir, then lowerdirs in order; a bind snapshot at its source.
 * (Whiteouts are not interpreted: enough for /etc/passwd and /etc/group.)
 */
export async function readRootfsFile(rootfs: PreparedRootfs, file: string): Promise<string | undefined> {
  const dirs: string[] = [];
  if (rootfs.kind === "path") dirs.push(rootfs.path);
  else {
    for (const m of rootfs.mounts) {
      if (m.type === "bind") dirs.push(m.source);
      else if (m.type === "overlay") {
        const opt = (k: string) => m.options.find((x) => x.startsWith(k + "="))?.slice(k.length + 1);
        const upper = opt("upperdir");
        if (upper) dirs.push(upper);
        dirs.push(...(opt("lowerdir") ?? "").split(":").filter(Boolean));
      }
    }
  }
  for (const d of dirs) {
    try {
      return await fs.readFile(path.join(d, file), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
  return undefined;
}
