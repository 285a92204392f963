// The volumes library: docker's local volume driver, container mount specs, copy-up.
// See docs/volumes.md for the engine's call points.
export type { InspectMount, ResolvedMount, VolumeInfo } from "./types.js";
export {
  ANONYMOUS_LABEL,
  generateVolumeName,
  isValidVolumeName,
  RESTRICTED_NAME_CHARS,
  validateVolumeName,
  volumeNameProblem,
} from "./names.js";
export { LOCAL_DRIVER, localMountOptions, ramInBytes, validateLocalOptions, type LocalMountOptions } from "./driver-options.js";
export { LIST_FILTERS, listFilter, PRUNE_FILTERS, pruneFilter, type FilterSubject, type VolumeFilters } from "./filters.js";
export {
  cleanPath,
  convertTmpfsOptions,
  DEFAULT_PROPAGATION,
  isValidMountMode,
  parseMountFlag,
  parseMountSpec,
  parseVolumeSpec,
  type BindSourceHost,
  type MountSpec,
  type ParsedMount,
} from "./mount-spec.js";
export { planMounts, type ContainerMountRequest, type PlannedMount } from "./mount-plan.js";
export { mergeVolumesFrom, parseVolumesFrom, volumesFromPlan } from "./volumes-from.js";
export { DATA_DIR, directorySize, formatRfc3339, VOLUMES_DIR } from "./volume-record.js";
export {
  createVolumeStore,
  type CreateVolumeOptions,
  type ListVolumesOptions,
  type PruneReport,
  type PruneVolumesOptions,
  type RemoveVolumeOptions,
  type VolumeEvent,
  type VolumeLoadProblem,
  type VolumeStore,
  type VolumeStoreOptions,
} from "./store.js";
export {
  copyImageContent,
  openRootfsView,
  resolveInRoot,
  type RootfsMountLike,
  type RootfsSource,
  type RootfsView,
} from "./copy-up.js";
export { decodeResolvedMounts, inspectMounts, ociMounts, volumeNamesOf, type OciMounts } from "./resolved-mounts.js";
export {
  activateContainerMounts,
  createContainerMounts,
  deactivateContainerMounts,
  releaseContainerMounts,
  restoreContainerMounts,
  type ActivateOptions,
} from "./container-mounts.js";
