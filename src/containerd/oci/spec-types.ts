/**
 * The OCI runtime-spec configuration (config.json), as the JSON that runc 1.1 reads.
 *
 * Field names are exactly the spec's JSON names, so a `Spec` is serialised with plain
 * `JSON.stringify` and travels to containerd as the `spec` Any of a container record. Only the
 * Linux parts are described: berth runs Linux containers only.
 *
 * Numbers: the spec has int64/uint64 fields (memory in bytes, CPU quota in µs, device numbers).
 * They are `number` here; every value berth produces is far below 2^53.
 *
 * Written against runtime-spec 1.0.2 plus the 1.1-dev fields that runc 1.1.5 (Debian 12's)
 * vendors and acts on: `resources.unified`, `resources.rdma`, seccomp `flags`, `listenerPath`,
 * `defaultErrnoRet` and `errnoRet`, `intelRdt.closID`/`memBwSchema`, `linux.personality`.
 */

/** The version string dockerd 20.10 writes; runc accepts any 1.0.x. */
export type OciVersion = string;

export interface Spec {
  ociVersion: OciVersion;
  process?: Process;
  root?: Root;
  hostname?: string;
  /**
   * runtime-spec 1.1 field. runc 1.1.5 does NOT read it (its vendored spec predates it), so set
   * the `kernel.domainname` sysctl instead, as dockerd does; kept here so a spec read back from
   * a newer runtime still type-checks.
   */
  domainname?: string;
  /** Mounted in order, after the rootfs; later entries may mount on top of earlier ones. */
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

export interface Process {
  terminal?: boolean;
  consoleSize?: Box;
  user: User;
  args?: string[];
  /** Windows only; runc ignores it. Present because the spec defines it on Process. */
  commandLine?: string;
  /** "KEY=value" strings, passed to execve as is. */
  env?: string[];
  /** Must be absolute. */
  cwd: string;
  capabilities?: LinuxCapabilities;
  rlimits?: PosixRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface Box {
  height: number;
  width: number;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  /** Windows only. */
  username?: string;
}

/** Capability names are the kernel's, with the prefix: "CAP_CHOWN". */
export interface LinuxCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface PosixRlimit {
  /** "RLIMIT_NOFILE", ... */
  type: string;
  hard: number;
  soft: number;
}

export interface Root {
  /** Absolute, or relative to the bundle directory (containerd uses "rootfs"). */
  path: string;
  readonly?: boolean;
}

export interface Mount {
  destination: string;
  /** "bind", "tmpfs", "proc", ...; for runc a bind mount is type "bind" or an "rbind"/"bind" option. */
  type?: string;
  source?: string;
  options?: string[];
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds. */
  timeout?: number;
}

export interface Hooks {
  /** Deprecated by the spec in favour of createRuntime, still run by runc 1.1. */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export type LinuxNamespaceType = "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup";

export interface LinuxNamespace {
  type: LinuxNamespaceType;
  /** Join this namespace (e.g. "/proc/123/ns/net") instead of creating one. */
  path?: string;
}

export interface LinuxIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Linux {
  uidMappings?: LinuxIdMapping[];
  gidMappings?: LinuxIdMapping[];
  sysctl?: Record<string, string>;
  resources?: LinuxResources;
  /** cgroupfs driver: a path such as "/berth/<id>"; systemd driver: "slice:prefix:name". */
  cgroupsPath?: string;
  namespaces?: LinuxNamespace[];
  /** Device nodes to create in the container (runc also creates its own defaults). */
  devices?: LinuxDevice[];
  seccomp?: LinuxSeccomp;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  intelRdt?: LinuxIntelRdt;
  personality?: LinuxPersonality;
}

export interface LinuxDevice {
  path: string;
  /** "c", "b", "u" or "p". */
  type: string;
  major: number;
  minor: number;
  /** Permission bits as a number (0o666 → 438). */
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** One rule of the devices cgroup, evaluated in order. */
export interface LinuxDeviceCgroup {
  allow: boolean;
  /** "a", "c" or "b"; absent means all. */
  type?: string;
  /** Absent or -1 means any. */
  major?: number;
  minor?: number;
  /** Any combination of "r", "w", "m". */
  access?: string;
}

export interface LinuxMemory {
  /** Bytes. */
  limit?: number;
  /** Bytes (soft limit). */
  reservation?: number;
  /** Memory + swap, in bytes; -1 means unlimited. */
  swap?: number;
  /** Bytes; deprecated by the kernel (cgroup v1 kmem). */
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
}

export interface LinuxCpu {
  shares?: number;
  /** µs per period; -1 means unlimited. */
  quota?: number;
  /** µs. */
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  /** cpuset list, e.g. "0-3,6". */
  cpus?: string;
  mems?: string;
}

export interface LinuxPids {
  /** -1 means unlimited. */
  limit: number;
}

export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface LinuxBlockIo {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  /** "2MB", "1GB", ... */
  pageSize: string;
  limit: number;
}

export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCpu;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIo;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  rdma?: Record<string, LinuxRdma>;
  /** cgroup v2 "file": "value" pairs; runc rejects it on a cgroup v1 host. */
  unified?: Record<string, string>;
}

export type LinuxSeccompAction =
  | "SCMP_ACT_KILL"
  | "SCMP_ACT_KILL_PROCESS"
  | "SCMP_ACT_KILL_THREAD"
  | "SCMP_ACT_TRAP"
  | "SCMP_ACT_ERRNO"
  | "SCMP_ACT_TRACE"
  | "SCMP_ACT_ALLOW"
  | "SCMP_ACT_LOG"
  | "SCMP_ACT_NOTIFY";

export type LinuxSeccompOperator =
  | "SCMP_CMP_NE"
  | "SCMP_CMP_LT"
  | "SCMP_CMP_LE"
  | "SCMP_CMP_EQ"
  | "SCMP_CMP_GE"
  | "SCMP_CMP_GT"
  | "SCMP_CMP_MASKED_EQ";

export interface LinuxSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: LinuxSeccompOperator;
}

export interface LinuxSyscall {
  names: string[];
  action: LinuxSeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

export interface LinuxSeccomp {
  defaultAction: LinuxSeccompAction;
  defaultErrnoRet?: number;
  /** "SCMP_ARCH_X86_64", ... */
  architectures?: string[];
  /** "SECCOMP_FILTER_FLAG_LOG", ... */
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

export interface LinuxIntelRdt {
  closID?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
}

export interface LinuxPersonality {
  /** "LINUX" or "LINUX32". */
  domain: string;
  flags?: string[];
}
