import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createEngine } from "../../src/daemon/engine/index.js";
import { createDirectoryImageSource } from "../../src/daemon/image-source.js";
import { jsonFileLogs } from "../../src/daemon/json-file-logs.js";
import type { ImageSource } from "../../src/daemon/image-source.js";
import type { TestContainerd } from "./containerd.js";
import { makeBusyboxRootfs } from "./rootfs.js";
import { buildBusyboxImage, createImageService, createImageSource } from "../../src/images/index.js";
import { Readable } from "node:stream";
import { createVolumeStore } from "../../src/volumes/index.js";
import type { NetworkManager } from "../../src/network/index.js";

export type TestEngine = Awaited<ReturnType<typeof createEngine>>;

/** The busybox fixture image loaded into the harness's containerd (once per containerd). */
export async function busyboxImageSource(ctd: TestContainerd): Promise<ImageSource> {
  const service = createImageService({ containerd: ctd.client });
  const have = await service.list();
  if (!have.some((i) => i.repoTags.some((t) => t.endsWith("/busybox:latest")))) {
    await service.load(Readable.from([await buildBusyboxImage()]));
  }
  return createImageSource(service);
}

/**
 * An engine on the harness's containerd. Images: the busybox fixture image (snapshots), or with
 * `directory: true` a plain-directory "busybox" image (no snapshots), or the given source.
 */
export async function startTestEngine(ctd: TestContainerd, o: { root?: string; images?: ImageSource; directory?: boolean; network?: NetworkManager; shimGroupSize?: number } = {}): Promise<TestEngine> {
  let images = o.images;
  if (!images && !o.directory) images = await busyboxImageSource(ctd);
  if (!images) {
    const dir = path.join(ctd.dir, "busybox-rootfs");
    await makeBusyboxRootfs(dir);
    images = createDirectoryImageSource({
      images: { "busybox:latest": { dir, config: { cmd: ["sh"], env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] } } },
      workDir: path.join(ctd.dir, "rootfs"),
    });
  }
  const root = o.root ?? path.join(ctd.dir, "berth");
  const engine = await createEngine({
    root,
    volumes: await createVolumeStore({ root }),
    ...(o.network ? { network: o.network } : {}),
    ...(o.shimGroupSize ? { shimGroupSize: o.shimGroupSize } : {}),
    containerd: ctd.client,
    images,
    logs: jsonFileLogs(),
    containerdStateDir: ctd.proc.state,
  });
  // The event stream is subscribed asynchronously; operations need it for exits.
  for (let i = 0; i < 500 && !engine.libcontainerd.eventsLive; i++) await sleep(10);
  await sleep(50);
  return engine;
}

/** Collects an engine container's log into strings per stream. */
export async function logsOf(engine: TestEngine, ref: string): Promise<{ stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  for await (const r of engine.logs(ref, {})) {
    if (r.stream === "stdout") stdout += r.line.toString();
    else stderr += r.line.toString();
  }
  return { stdout, stderr };
}
