// The daemon layer as a library: the engine and what it is assembled from (berthd's own
// composition in cli/daemon.ts is one use of it). Published as `<package>/engine`.
export { createEngine, type EngineInternals, type EngineOptions } from "./engine/index.js";
export type * from "./types.js";
export { EventBus } from "./event-bus.js";
export { jsonFileLogs } from "./json-file-logs.js";
export { createDirectoryImageSource, type ImageSource, type PreparedRootfs, type ResolvedImage } from "./image-source.js";
export { startContainerdProcess, type ContainerdProcess, type ContainerdProcessOptions } from "./containerd-process.js";
export { superviseContainerd, type ContainerdSupervisor, type SupervisorOptions } from "./containerd-supervisor.js";
export { systemBackend, daemonIdOf, type SystemOptions } from "./system.js";
export { networkBackend, predefinedOnlyNetworks } from "./network-backend.js";
export {
  probeCgroups, cgroupVersionOf, parseExecOpts, type CgroupDriver, type CgroupHost, type CgroupnsMode, type HostCgroupFeatures,
} from "./cgroups.js";
export { buildContainerSpec, type SpecInputs } from "./container-spec.js";
