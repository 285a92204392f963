// Writes the busybox fixture image (a docker-archive built from the host's busybox-static) to
// the file given, or to stdout: `tsx scripts/busybox-image.ts busybox.tar`, then `docker load -i`.
import fs from "node:fs/promises";
import { buildBusyboxImage } from "../src/images/index.js";

const out = process.argv[2];
const tar = await buildBusyboxImage({ tags: (process.env.TAGS ?? "busybox:latest").split(",") });
if (out && out !== "-") await fs.writeFile(out, tar);
else process.stdout.write(tar);
