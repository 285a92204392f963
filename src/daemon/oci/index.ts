/**
 * OCI spec construction for the engine: dockerd 20.10's default spec and the options that turn
 * a container's settings into a runtime spec. Pure; see docs/oci-defaults.md.
 */
export {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_NAMESPACES,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  DEFAULT_SHM_SIZE,
  OCI_VERSION,
  RUNC_DEFAULT_DEVICES,
  defaultSpec,
  isDefaultMount,
} from "./default-spec.js";
export { type SpecOpt, applySpecOpts, buildSpec } from "./spec-opt.js";
export {
  type UlimitSetting,
  mergeEnv,
  withArgs,
  withCwd,
  withDomainname,
  withEnv,
  withHostname,
  withOomScoreAdj,
  withTty,
  withUlimits,
} from "./process.js";
export { INIT_IN_CONTAINER, findInitBinary, withInit } from "./init.js";
export { type ResolvedUser, type UserIds, resolveUser, withUser } from "./user.js";
export {
  type CapabilityChanges,
  KNOWN_CAPABILITIES,
  normalizeCapabilities,
  withCapAdd,
  withCapDrop,
  withCapabilities,
} from "./capabilities.js";
export { withMaskedPaths, withNoNewPrivileges, withReadonlyPaths, withSecurityOpts } from "./security.js";
export {
  type BlkioOptions,
  type CpuOptions,
  type HostBlkioFeatures,
  type HostCpuFeatures,
  type HostCpuRealtime,
  type HostMemoryFeatures,
  type HostMemoryTuning,
  type MemoryTuning,
  withBlkio,
  withCpu,
  withCpuRealtime,
  withMemoryLimit,
  withMemoryTuning,
  withPidsLimit,
} from "./resources.js";
export { withCgroupsPath, withReadonlyRootfs, withRootfsPath, withShmSize } from "./rootfs.js";
export {
  DEFAULT_TMPFS_OPTIONS,
  type NetworkFiles,
  mergeTmpfsOptions,
  withHostsAndResolvConf,
  withMounts,
  withTmpfs,
} from "./mounts.js";
export {
  DEFAULT_NETWORK_SYSCTLS,
  HOST_SHM,
  type NamespaceMode,
  type NetworkModeOptions,
  withCgroupns,
  withIpcMode,
  withNamespace,
  withNetworkMode,
  withPidMode,
  withSysctls,
  withUtsMode,
} from "./namespaces.js";
export {
  type ResolvedDevice,
  isValidDeviceMode,
  parseDeviceCgroupRule,
  withDeviceCgroupRules,
  withDevices,
  withPrivileged,
} from "./devices.js";
