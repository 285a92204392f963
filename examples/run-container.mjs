// Run one container with the library alone: a private containerd that this process starts and
// stops, berth's libcontainerd client over it, and a rootfs made of the host's static busybox.
// No daemon, no image, no network. As root, after `npm run build`:
//   node examples/run-container.mjs [command...]      (default: echo hello from berth)
// CONTAINERD_ADDRESS (and CONTAINERD_NAMESPACE) use an existing containerd instead.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createLibcontainerdClient, startContainerdProcess } from "@berth-engine/berth";
import { totalCalls } from "@berth-engine/berth/containerd";

const command = process.argv.length > 2 ? process.argv.slice(2) : ["echo", "hello from berth"];
const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-example-"));
const containerd = process.env.CONTAINERD_ADDRESS ? undefined : await startContainerdProcess({ dir: path.join(dir, "containerd") });
const namespace = process.env.CONTAINERD_NAMESPACE ?? "example";
const client = await createLibcontainerdClient({
  containerd: { address: process.env.CONTAINERD_ADDRESS ?? containerd.address, namespace },
  stateDir: path.join(dir, "fifos"),
});
let exitCode = 1;
try {
  // A directory rootfs: /bin/busybox and `sh`; runc needs only a root path.
  const rootfs = path.join(dir, "rootfs");
  await fs.mkdir(path.join(rootfs, "bin"), { recursive: true });
  await fs.copyFile("/bin/busybox", path.join(rootfs, "bin", "busybox"));
  for (const applet of ["sh", "echo", "cat", "id", "hostname"]) await fs.symlink("busybox", path.join(rootfs, "bin", applet));

  const id = `example-${process.pid}`;
  const container = await client.newContainer(id, {
    spec: {
      ociVersion: "1.0.2",
      process: { user: { uid: 0, gid: 0 }, args: command, cwd: "/", env: ["PATH=/bin"], noNewPrivileges: true },
      root: { path: rootfs },
      hostname: "berth",
      mounts: [
        { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
        { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      ],
      linux: {
        namespaces: [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }, { type: "network" }],
        cgroupsPath: `/${namespace}/${id}`,
      },
    },
  });
  const before = client.containerd.counter.snapshot();
  // The process's stdio, handed over before it runs; its output is drained before the exit is read.
  const drained = [];
  const task = await container.start({
    attachStdio: (io) => {
      for (const [from, to] of [[io.stdout, process.stdout], [io.stderr, process.stderr]]) {
        if (!from) continue;
        drained.push(new Promise((resolve) => from.once("end", resolve)));
        from.pipe(to, { end: false });
      }
    },
  });
  // Tasks/Wait: a long poll that answers with the exit status.
  const exit = await client.containerd.tasks.wait(id);
  await Promise.all(drained);
  await task.delete();
  await container.delete();
  exitCode = exit.exitCode;
  const calls = client.containerd.counter.since(before);
  console.error(`exit code ${exit.exitCode}; ${totalCalls(calls)} containerd calls: ${JSON.stringify(calls)}`);
} finally {
  await client.close();
  await containerd?.stop();
  await fs.rm(dir, { recursive: true, force: true });
}
process.exitCode = exitCode;
