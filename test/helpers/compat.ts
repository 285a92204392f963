// The daemon a compat test file drives when COMPAT_DOCKER_HOST names none: a private berthd with
// the busybox fixture loaded, as every compat file needs it.
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { buildBusyboxImage } from "../../src/images/index.js";
import { startBerthd, type Berthd } from "./berthd.js";
import { DOCKER, runDocker } from "./docker-cli.js";

/** Starts berthd and loads busybox:latest through the docker CLI (when it exists); the tar goes in `tmp`. */
export async function startCompatBerthd(label: string, tmp: string, o: { args?: string[] } = {}): Promise<{ berthd: Berthd; host: string }> {
  const berthd = await startBerthd({ label, ...(o.args ? { args: o.args } : {}) });
  const tar = path.join(tmp, "busybox.tar");
  await fs.writeFile(tar, await buildBusyboxImage({ tags: ["busybox:latest"] }));
  if (existsSync(DOCKER)) {
    const r = await runDocker(berthd.dockerHost, ["load", "-i", tar]);
    if (r.code !== 0) throw new Error(`docker load of the busybox fixture failed: ${r.stderr}`);
  }
  return { berthd, host: berthd.dockerHost };
}
