export type { ContainerHandle, TaskHandle } from "./handles.js";

export {
  createState,
  WAIT_CONDITIONS,
  type ContainerState,
  type ProbeSettings,
  type StateOptions,
  type WaitCondition,
  type WaitOptions,
  type WaitResult,
} from "./state.js";
export {
  fromSnapshot,
  initialStateData,
  reduceState,
  toSnapshot,
  type ExitStatus,
  type RunPhase,
  type StateData,
  type StateEvent,
  type StateSnapshot,
} from "./state-reducer.js";
export {
  humanStatus,
  isValidStateStatus,
  STATE_STATUSES,
  stateStatus,
  type StateStatus,
  type StatusView,
} from "./status.js";
export { humanDuration } from "./human-duration.js";
export {
  applyProbeResult,
  capProbeOutput,
  DEFAULT_PROBE_RETRIES,
  HEALTH_STATUSES,
  isValidHealthStatus,
  isWithinStartPeriod,
  MAX_HEALTH_LOG_ENTRIES,
  MAX_PROBE_OUTPUT_BYTES,
  startingHealth,
  type Health,
  type HealthSnapshot,
  type HealthStatus,
  type ProbeContext,
  type ProbedHealthStatus,
  type ProbeResult,
  type ProbeResultSnapshot,
} from "./health.js";
export {
  createNameRegistry,
  generateContainerName,
  isValidContainerName,
  normalizeContainerName,
  type NameRegistry,
  type RandomInt,
} from "./names.js";
export { createContainerIndex, type ContainerIndex } from "./lookup.js";
export {
  containerConfig,
  defaultResources,
  entrypointAndArgs,
  generateContainerId,
  hostConfig,
  initialStateSnapshot,
  isValidContainerId,
  newContainerRecord,
  RESTART_POLICY_NAMES,
  type ContainerConfig,
  type ContainerRecord,
  type DeviceMapping,
  type Ulimit,
  type EndpointConfigRecord,
  type RootfsRecord,
  type HealthcheckConfig,
  type HostConfig,
  type HostConfigInit,
  type LogConfig,
  type NewRecordOptions,
  type Resources,
  type RestartPolicy,
  type RestartPolicyName,
} from "./record.js";
export { decodeContainerRecord } from "./record-decode.js";
export {
  createContainerStore,
  RECORD_FILE,
  type ContainerStore,
  type LoadProblem,
  type LoadProblemReason,
  type LoadResult,
  type SaveOptions,
  type StoreOptions,
} from "./store.js";
export { decodeResolvedMounts, type ResolvedMount } from "./mount-points.js";
export { DEFAULT_NETWORK, defaultNetworkName, isDefaultNetwork } from "./network-mode.js";
