// The Docker Engine API layer: an HTTP server over narrow backends.
export { createApiServer, DEFAULT_MAX_BODY_BYTES, type ApiServer, type ApiServerOptions, type ListenOptions } from "./server.js";
export type {
  Backends,
  ContainerBackend,
  DiskUsage,
  ExecBackend,
  ImageBackend,
  ImageHistoryView,
  ImageInspectView,
  ImageProgress,
  ImageRuntimeConfigView,
  ImageSummaryView,
  ImageUsage,
  NetworkBackend,
  RegistryCredentials,
  SystemBackend,
  SystemInfo,
  SystemVersion,
  VolumeBackend,
} from "./backends.js";
export { MAX_API_VERSION, MIN_API_VERSION } from "./versions.js";
export { httpStatusOf } from "./errors.js";
