/**
 * The spec every container starts from: dockerd 20.10's secure Linux defaults (moby
 * `oci/defaults.go`, `oci/caps/defaults.go`, v20.10.27), before any container setting is applied.
 * docs/oci-defaults.md lists each value and where it comes from.
 *
 * Pure data: every call returns a fresh object, so spec options may mutate it freely.
 */
import type {
  LinuxDevice,
  LinuxDeviceCgroup,
  LinuxNamespaceType,
  Mount,
  Spec,
} from "../../containerd/oci/spec-types.js";

/** What dockerd 20.10 writes (its vendored runtime-spec is 1.0.2-dev); runc 1.1 accepts it. */
export const OCI_VERSION = "1.0.2-dev";

/** PATH given to every container whose image and config set none (moby `DefaultPathEnv`). */
export const DEFAULT_PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * docker's default capability set, in docker's order. A non-root process gets these in its
 * bounding set only (see user.ts `withUser`); inheritable and ambient stay empty, as in dockerd
 * since 20.10.14 (moby dd38613d0c: the kernel never sets inheritable, so neither should we).
 */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
]);

/**
 * Paths runc hides (bind of /dev/null, or an empty read-only tmpfs for directories): kernel
 * interfaces that leak host information or allow side channels. `/sys/devices/virtual/powercap`
 * arrived in 20.10.27 (moby 4b242784ca; CVE-2020-8694, RAPL power readings as a side channel).
 */
export const DEFAULT_MASKED_PATHS: readonly string[] = Object.freeze([
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
]);

/** Paths runc remounts read-only: host-wide knobs a container must not turn. */
export const DEFAULT_READONLY_PATHS: readonly string[] = Object.freeze([
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
]);

/** dockerd's default --shm-size (64 MiB), written as bytes on the /dev/shm mount. */
export const DEFAULT_SHM_SIZE = 67_108_864;

/** dockerd's order; runc creates them in this order (mount first so later ones see it). */
export const DEFAULT_NAMESPACES: readonly LinuxNamespaceType[] = Object.freeze([
  "mount",
  "network",
  "uts",
  "pid",
  "ipc",
] as const);

/**
 * The mounts every container gets before its own. Options are dockerd's; /dev/shm carries its
 * size in bytes, as dockerd appends `size=<ShmSize>` for the default (private) IPC mode.
 */
function defaultMounts(): Mount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    // cgroup v1 host, cgroupns "host" (dockerd's default there): runc bind-mounts the container's
    // own cgroup directories read-only under a tmpfs.
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["ro", "nosuid", "noexec", "nodev"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${DEFAULT_SHM_SIZE}`],
    },
  ];
}

const defaultMountKeys = new Set(defaultMounts().map((m) => `${m.destination}\0${m.type}\0${m.source}`));

/**
 * Whether a mount is one of the defaults above rather than a container's own. dockerd keeps the
 * two apart (defaults first, then the container's sorted by depth; a container mount replaces
 * the default at its destination); spec options use this to do the same on a plain spec.
 */
export function isDefaultMount(m: Mount): boolean {
  return defaultMountKeys.has(`${m.destination}\0${m.type}\0${m.source}`);
}

/**
 * Device cgroup rules, dockerd's exactly: deny everything, then allow zero, null, urandom,
 * random, tty and console, and deny fuse explicitly. runc 1.1.5 appends its own allow rules after
 * these (mknod of any c/b device, null, random, full, tty, zero, urandom, /dev/pts/*, ptmx and
 * tun), which is why full, pts and ptmx work although they are not listed here.
 */
function defaultDeviceRules(): LinuxDeviceCgroup[] {
  const allowChar = (major: number, minor: number): LinuxDeviceCgroup => ({
    allow: true,
    type: "c",
    major,
    minor,
    access: "rwm",
  });
  return [
    { allow: false, access: "rwm" },
    allowChar(1, 5), // /dev/zero
    allowChar(1, 3), // /dev/null
    allowChar(1, 9), // /dev/urandom
    allowChar(1, 8), // /dev/random
    allowChar(5, 0), // /dev/tty
    allowChar(5, 1), // /dev/console
    { allow: false, type: "c", major: 10, minor: 229, access: "rwm" }, // /dev/fuse
  ];
}

/**
 * The device nodes runc 1.1 creates in every container by itself (its `AllowedDevices` with a
 * path). dockerd leaves `linux.devices` empty and relies on that, and so does `defaultSpec()`;
 * this list documents what a container sees and lets callers avoid duplicating a node.
 * /dev/console, /dev/ptmx (→ pts/ptmx) and /dev/fd, stdin, stdout, stderr are set up separately.
 */
export const RUNC_DEFAULT_DEVICES: readonly Readonly<LinuxDevice>[] = Object.freeze(
  (
    [
      ["/dev/null", 1, 3],
      ["/dev/random", 1, 8],
      ["/dev/full", 1, 7],
      ["/dev/tty", 5, 0],
      ["/dev/zero", 1, 5],
      ["/dev/urandom", 1, 9],
    ] as const
  ).map(([path, major, minor]) =>
    Object.freeze({ path, type: "c", major, minor, fileMode: 0o666, uid: 0, gid: 0 }),
  ),
);

/**
 * dockerd 20.10's default Linux spec. The seccomp filter depends on the container's
 * capabilities, so `withSeccomp` (seccomp.ts) adds it. Not applied yet, on purpose and
 * documented: the docker-default AppArmor profile, SELinux labels, user namespaces.
 */
export function defaultSpec(): Spec {
  return {
    ociVersion: OCI_VERSION,
    process: {
      user: { uid: 0, gid: 0 },
      env: [`PATH=${DEFAULT_PATH_ENV}`],
      cwd: "/",
      capabilities: {
        bounding: [...DEFAULT_CAPABILITIES],
        effective: [...DEFAULT_CAPABILITIES],
        permitted: [...DEFAULT_CAPABILITIES],
      },
    },
    // containerd's bundle layout: the snapshot is mounted at <bundle>/rootfs.
    root: { path: "rootfs" },
    mounts: defaultMounts(),
    linux: {
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
      namespaces: DEFAULT_NAMESPACES.map((type) => ({ type })),
      devices: [],
      resources: { devices: defaultDeviceRules() },
    },
  };
}
