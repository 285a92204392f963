// Layer 2: retained Container → Task → Process handles over containerd, task stdio through
// FIFOs, and the task event stream routed in order per container to one Backend.
export { createClient, eventStreamChannel, backendErrorChannel } from "./client.js";
export type { ClientOptions, LibcontainerdClient } from "./client.js";
export { StartError, translateStartError } from "./start-errors.js";
export { memoryLimitOrMachine, statsFromCgroupsV1, statsFromCgroupsV2, statsFromMetrics, V2_MEMORY_STAT_KEYS } from "./stats.js";
export { KeyedLock } from "../base/lock.js";
export { mkfifo, openFifoReader, openFifoWriter } from "./fifo.js";
export type * from "./types.js";
