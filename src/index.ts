// berth as a library: the package's `main`. Each layer's own index (src/<layer>/index.ts) has the
// full vocabulary; this root exports the entry points a program embedding berth starts from.

// Error kinds every layer throws (translated to HTTP statuses by the API server).
export * from "./base/errors.js";

// containerd's gRPC API.
export { createContainerdClient, type ContainerdClient, type ContainerdClientOptions } from "./containerd/index.js";

// Containers and tasks over containerd (dockerd's libcontainerd).
export { createClient as createLibcontainerdClient, type ClientOptions as LibcontainerdClientOptions, type LibcontainerdClient } from "./libcontainerd/index.js";

// The engine: containers with images, networks and volumes.
export { createEngine, type EngineInternals, type EngineOptions } from "./daemon/engine/index.js";
export type { Engine, EngineEvent } from "./daemon/types.js";
export { startContainerdProcess } from "./daemon/containerd-process.js";

// The Docker Engine API server over an engine.
export { createApiServer, httpStatusOf, MAX_API_VERSION, MIN_API_VERSION, type ApiServer, type ApiServerOptions, type ListenOptions } from "./api/index.js";
