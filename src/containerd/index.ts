// Layer 1: a typed client for containerd 1.6's gRPC API. Calls are counted, carry the namespace,
// a deadline and an AbortSignal, and fail with BerthErrors. This layer never logs.
export { createContainerdClient } from "./client.js";
export type { ContainerdClient, ContainerdClientOptions } from "./client.js";
export * from "../base/errors.js";
export { fromRpcError } from "./rpc-errors.js";
export { RpcCounter, diffStarted, totalCalls, rpcStartChannel, rpcFinishChannel } from "./rpc-counter.js";
export type { RpcSnapshot, RpcFinish } from "./rpc-counter.js";
export type { RpcOptions } from "./rpc.js";
export {
  SPEC_TYPE_URL, PROCESS_TYPE_URL, LINUX_RESOURCES_TYPE_URL, RUNC_OPTIONS_TYPE_URL, CGROUPS_V1_METRICS_TYPE_URL, CGROUPS_V2_METRICS_TYPE_URL,
  specToAny, specFromAny, processToAny, jsonAny, runcOptionsToAny, runcOptionsFromAny,
  checkpointOptionsToAny, cgroupsV1MetricsFromAny, cgroupsV2MetricsFromAny, cgroupMetricsFromAny, decodeEvent, eventRegistry,
} from "./any.js";
export type { RuncOptions, RuncOptionsInit, CgroupsV1Metrics, CgroupsV2Metrics, CgroupMetrics } from "./any.js";
export { containerSpec } from "./services/containers.js";
export type { ContainerRecord, NewContainerRecord, ContainersService } from "./services/containers.js";
export { TaskStatus, timestampToDate } from "./services/tasks.js";
export type { TasksService, ExitStatus, TaskProcess } from "./services/tasks.js";
export type { ContainerdEvent, EventsService } from "./services/events.js";
export type { ContentService, ContentInfo, WriteBlobOptions, WriteBlobResult } from "./services/content.js";
export type { ContentWriter, ContentWriterOptions } from "./services/content-writer.js";
export type { VersionService, ContainerdVersion } from "./services/version.js";
export type { NamespacesService, NamespaceInfo } from "./services/namespaces.js";
export type { ImagesService } from "./services/images.js";
export type { SnapshotsService } from "./services/snapshots.js";
export type { DiffService } from "./services/diff.js";
export type { LeasesService } from "./services/leases.js";
export type { IntrospectionService } from "./services/introspection.js";
export type * from "./oci/spec-types.js";
export * from "./proto.js";
