// The main job until berthd exists: run a container through berth's own layers, on a private
// containerd that this process starts and stops, from a rootfs made of the host's busybox.
//   npm run demo -- [command...]      (default: echo hello from berth)
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startContainerdProcess } from "../src/daemon/containerd-process.js";
import { createClient, type ProcessStreams } from "../src/libcontainerd/index.js";
import { makeBusyboxRootfs } from "../src/images/busybox-rootfs.js";
import { totalCalls } from "../src/containerd/index.js";

const args = process.argv.slice(2);
const command = args.length > 0 ? args : ["echo", "hello from berth"];
const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-demo-"));
const ctd = await startContainerdProcess({ dir: path.join(dir, "containerd") });
const client = await createClient({ containerd: { address: ctd.address, namespace: "berth" }, stateDir: path.join(dir, "fifos") });
let code = 1;
try {
  const rootfs = await makeBusyboxRootfs(path.join(dir, "rootfs"));
  const id = "demo-" + process.pid;
  const v = await client.version();
  console.error(`berth demo: containerd ${v.version} (pid ${ctd.pid}), running: ${command.join(" ")}`);
  const container = await client.newContainer(id, {
    spec: {
      ociVersion: "1.0.2",
      process: { user: { uid: 0, gid: 0 }, args: command, cwd: "/", env: ["PATH=/bin", "HOME=/root"], noNewPrivileges: true },
      root: { path: rootfs },
      hostname: "berth",
      mounts: [
        { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
        { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      ],
      linux: { namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network" }], cgroupsPath: `/berth/${id}` },
    },
  });
  const attach = (io: ProcessStreams) => {
    io.stdout?.pipe(process.stdout, { end: false });
    io.stderr?.pipe(process.stderr, { end: false });
  };
  const task = await container.start({ attachStdio: attach });
  const exit = await client.containerd.tasks.wait(id);
  await task.delete();
  await container.delete();
  code = exit.exitCode;
  const calls = client.containerd.counter.snapshot().started;
  console.error(`berth demo: exit code ${code}; containerd calls: ${totalCalls(calls)} ${JSON.stringify(calls)}`);
} finally {
  await client.close();
  await ctd.stop();
  await fs.rm(dir, { recursive: true, force: true });
}
process.exitCode = code;
