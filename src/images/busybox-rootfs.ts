// A plain-directory rootfs made from the host's static busybox: /bin/busybox plus a link per
// applet, and the few files a container expects. No image, no network. (The image fixture of
// the images layer is built from the same files.)
import fs from "node:fs/promises";
import { execFileSync } from "node:child_process";
import path from "node:path";

export const BUSYBOX = "/bin/busybox";

export function busyboxApplets(): string[] {
  const out = execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" });
  return out.split("\n").map((s) => s.trim()).filter((s) => /^[a-z0-9_.[-]+$/i.test(s) && s !== "busybox");
}

export async function makeBusyboxRootfs(dir: string): Promise<string> {
  for (const d of ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "var", "run"]) {
    await fs.mkdir(path.join(dir, d), { recursive: true });
  }
  await fs.chmod(path.join(dir, "tmp"), 0o1777);
  await fs.copyFile(BUSYBOX, path.join(dir, "bin", "busybox"));
  await fs.chmod(path.join(dir, "bin", "busybox"), 0o755);
  for (const a of busyboxApplets()) {
    await fs.symlink("busybox", path.join(dir, "bin", a)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") throw e;
    });
  }
  await fs.writeFile(path.join(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  await fs.writeFile(path.join(dir, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
  return dir;
}
