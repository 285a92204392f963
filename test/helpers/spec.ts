// A minimal, valid runc spec for containerd-layer tests (the engine builds its own, with
// dockerd's defaults, in src/daemon/oci).
import type { Spec } from "../../src/containerd/oci/spec-types.js";

export function minimalSpec(o: { namespace: string; id: string; rootfs: string; args: string[]; terminal?: boolean; env?: string[] }): Spec {
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: o.terminal ?? false,
      user: { uid: 0, gid: 0 },
      args: o.args,
      env: o.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
      cwd: "/",
      noNewPrivileges: true,
    },
    root: { path: o.rootfs, readonly: false },
    hostname: o.id.slice(0, 12),
    mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"] },
    ],
    linux: {
      namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network" }],
      cgroupsPath: `/${o.namespace}/${o.id}`,
      resources: { devices: [{ allow: false, access: "rwm" }] },
      maskedPaths: ["/proc/kcore", "/proc/keys"],
      readonlyPaths: ["/proc/sys"],
    },
  };
}
