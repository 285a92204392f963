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
export { mergeEnv, withArgs, withCwd, withDomainname, withEnv, withHostname, withTty } from "./process.js";
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
  type CpuOptions,
  type HostCpuFeatures,
  type HostMemoryFeatures,
  withCpu,
  withMemoryLimit,
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
export { DEFAULT_NETWORK_SYSCTLS, type NetworkModeOptions, withNetworkMode } from "./namespaces.js";
