// berth as a library: the package's root entry. Each layer's own index (published as subpaths:
// /containerd, /libcontainerd, /engine, /images, /volumes, /api, /daemon) has the full
// vocabulary; this root exports the entry points a program embedding berth starts from.

// Error kinds every layer throws (translated to HTTP statuses by the API server).
export * from "./base/errors.js";

// containerd's gRPC API.
export { createContainerdClient, type ContainerdClient, type ContainerdClientOptions } from "./containerd/index.js";

// Containers and tasks over containerd (dockerd's libcontainerd).
export { createClient as createLibcontainerdClient, type ClientOptions as LibcontainerdClientOptions, type LibcontainerdClient } from "./libcontainerd/index.js";

// The engine: containers with images, networks and volumes.
export { createEngine, type EngineInternals, type EngineOptions } from "./daemon/engine/index.js";
export type { Engine, EngineEvent } from "./daemon/types.js";
export { startContainerdProcess, type ContainerdProcess } from "./daemon/containerd-process.js";
export { EventBus, jsonFileLogs, networkBackend, predefinedOnlyNetworks, systemBackend, daemonIdOf, probeCgroups } from "./daemon/index.js";

// What an engine is made of: images in containerd's content store, local volumes.
export { buildBusyboxImage, createImageService, createImageSource } from "./images/index.js";
export { createVolumeStore } from "./volumes/index.js";

// The Docker Engine API server over an engine.
export { createApiServer, httpStatusOf, MAX_API_VERSION, MIN_API_VERSION, type ApiServer, type ApiServerOptions, type ListenOptions } from "./api/index.js";
