// The daemon's own views for the API: version, info and disk usage (docker version, docker
// info, docker system df), over the engine, the image list and the volumes. The CLI only
// assembles; what these answer is decided here.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import type { Engine } from "./types.js";
import { hostCgroups, type CgroupHost } from "./cgroups.js";
import type { VolumeStore } from "../volumes/index.js";
import { hostInfoFields } from "./host-info.js";

const run = promisify(execFile);

export interface SystemOptions<I extends { id: string; size: number }> {
  /** berthd's version (package.json). */
  version: string;
  root: string;
  daemonId: string;
  containerd: { version: string; revision: string };
  engine: Pick<Engine, "counts" | "list" | "events">;
  images: { list(): Promise<I[]> };
  volumes: Pick<VolumeStore, "list">;
  /** docker info's SecurityOptions: exactly what is applied ("name=seccomp,profile=default", ...). */
  securityOptions: string[];
  /** The host's cgroup version and the daemon's driver (cgroups.ts); probed when absent. */
  cgroups?: Pick<CgroupHost, "version" | "driver">;
  /** /info fields from the daemon's configuration (labels, debug, registries, proxies), read at each call. */
  configured?: () => object;
  /** The classic builder's cache records (docker system df's Build Cache), if there is a builder. */
  buildCache?: () => Promise<{ id: string; image: string; created: Date }[]>;
}

/** One line of docker version's components. */
export interface SystemComponent {
  name: string;
  version: string;
  details?: Record<string, string>;
}

export function systemBackend<I extends { id: string; size: number }>(o: SystemOptions<I>) {
  const { engine } = o;
  const cgroups = o.cgroups ?? hostCgroups();
  return {
    version: async (): Promise<{ version: string; components: SystemComponent[] }> => ({
      version: o.version,
      components: [
        { name: "Engine", version: o.version, details: { ApiVersion: "1.43", MinAPIVersion: "1.24", Os: "linux", Arch: os.arch() } },
        { name: "containerd", version: o.containerd.version, details: { GitCommit: o.containerd.revision } },
        { name: "runc", version: await runcVersion() },
      ],
    }),
    info: async () => ({
      id: o.daemonId,
      containers: engine.counts(),
      images: (await o.images.list()).length,
      rootDir: o.root,
      liveRestoreEnabled: true,
      containerdCommit: o.containerd.revision,
      securityOptions: o.securityOptions,
      // The host as it is now (a sysctl may change while berthd runs): host-info.ts.
      ...(await hostInfoFields()),
      // The probe that shapes the containers' specs (cgroups.ts) is what /info reports.
      cgroupDriver: cgroups.driver,
      cgroupVersion: String(cgroups.version),
      ...o.configured?.(),
    }),
    events: engine.events.bind(engine),
    df: async () => {
      const list = await o.images.list();
      const containers = engine.list({ all: true });
      return {
        layersSize: list.reduce((a, i) => a + i.size, 0),
        images: list.map((i) => ({ ...i, containers: containers.filter((c) => c.imageId === i.id).length })),
        containers,
        volumes: await o.volumes.list({ usage: true }),
        // A record names an image counted above: its size is that image's (shared).
        buildCache: (await o.buildCache?.() ?? []).filter((e) => list.some((i) => i.id === e.image))
          .map((e) => ({ ...e, size: list.find((i) => i.id === e.image)!.size })),
      };
    },
  };
}

/** The daemon's ID (docker info's ID): made once, kept in `<root>/daemon-id`. */
export async function daemonIdOf(root: string): Promise<string> {
  const f = path.join(root, "daemon-id");
  const have = await fs.readFile(f, "utf8").catch(() => "");
  if (have.trim()) return have.trim();
  const id = randomBytes(16).toString("hex").toUpperCase().match(/.{4}/g)!.join(":");
  await fs.writeFile(f, id + "\n");
  return id;
}

async function runcVersion(): Promise<string> {
  try {
    const { stdout } = await run("runc", ["--version"]);
    return /runc version (\S+)/.exec(stdout)?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}
