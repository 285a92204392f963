// The engine's ImageSource (src/daemon/image-source.ts) over the image service: what a container
// create needs from an image, at the RPC floor (resolve: none once cached; prepareRootfs: one
// Snapshots/Prepare; removeRootfs: one Snapshots/Remove).
import type { RpcOptions } from "../containerd/index.js";
import type { ShiftMaps } from "../daemon/userns-shift.js";
import { errNotImplemented } from "../base/errors.js";
import type { CommitRequest, ImageSource, PreparedRootfs, ResolvedImage } from "../daemon/image-source.js";
import { familiarReference, parseReference, formatReference } from "./reference.js";
import type { ImageInspect, ImageService } from "./types.js";

const nsToMs = (ns: number) => Math.round(ns / 1e6);

function imageConfigOf(i: ImageInspect): ResolvedImage["config"] {
  const c = i.config;
  return {
    ...(c.cmd ? { cmd: c.cmd } : {}),
    ...(c.entrypoint ? { entrypoint: c.entrypoint } : {}),
    env: c.env,
    workingDir: c.workingDir,
    user: c.user,
    exposedPorts: c.exposedPorts,
    volumes: c.volumes,
    labels: c.labels,
    ...(c.healthcheck ? {
      healthcheck: {
        test: c.healthcheck.test, interval: nsToMs(c.healthcheck.intervalNs), timeout: nsToMs(c.healthcheck.timeoutNs),
        startPeriod: nsToMs(c.healthcheck.startPeriodNs), retries: c.healthcheck.retries,
      },
    } : {}),
    ...(c.stopSignal ? { stopSignal: c.stopSignal } : {}),
  };
}

export function createImageSource(images: ImageService): ImageSource {
  const signal = (o?: RpcOptions) => (o?.signal ? { signal: o.signal } : {});
  return {
    async resolve(ref: string, o?: RpcOptions): Promise<ResolvedImage> {
      const i = await images.inspect(ref, signal(o));
      let name: string;
      try {
        const r = parseReference(ref);
        name = i.repoTags.includes(formatReference(r)) || r.digest ? familiarReference(r) : i.repoTags[0] ? familiarReference(i.repoTags[0]) : i.id;
      } catch {
        name = i.repoTags[0] ? familiarReference(i.repoTags[0]) : i.id;
      }
      return { id: i.id, name, config: imageConfigOf(i) };
    },
    async prepareRootfs(containerId: string, image: ResolvedImage, o?: RpcOptions & { remap?: ShiftMaps }): Promise<PreparedRootfs> {
      const r = await images.prepareRootfs(containerId, image.id, { ...signal(o), ...(o?.remap ? { remap: o.remap } : {}) });
      return { kind: "snapshot", snapshotter: r.snapshotter, key: r.key, mounts: r.mounts };
    },
    async removeRootfs(_containerId: string, rootfs: PreparedRootfs, o?: RpcOptions): Promise<void> {
      if (rootfs.kind === "snapshot") await images.removeRootfs(rootfs.key, signal(o));
    },
    // prepareRootfs keys the snapshot by the container ID.
    async removeRootfsOf(containerId: string, o?: RpcOptions): Promise<void> {
      await images.removeRootfs(containerId, signal(o));
    },
    async commit(req: CommitRequest, o?: RpcOptions): Promise<{ id: string }> {
      if (req.rootfs.kind !== "snapshot") throw errNotImplemented(`container ${req.containerId} has no snapshot to commit`);
      const r = await images.commit({
        image: req.imageId, mounts: req.rootfs.mounts, containerId: req.containerId, containerConfig: req.containerConfig,
        ...(req.config ? { config: req.config } : {}), ...(req.changes ? { changes: req.changes } : {}),
        ...(req.author ? { author: req.author } : {}), ...(req.comment ? { comment: req.comment } : {}),
        ...(req.reference ? { reference: req.reference } : {}), ...signal(o),
      });
      return { id: r.id };
    },
  };
}
