// Layer: build (beside images/, over daemon/ and images/). The classic builder behind POST /build:
// Dockerfile parsing, the context, the cache, RUN through the engine and layers through the
// committer.
export { createBuilder, recoverBuilder } from "./builder.js";
export type { Builder, BuilderOptions, BuildOutput, BuildRequest, BuildResult, BuildRunOptions } from "./builder.js";
export { createFileCache } from "./cache.js";
export type { BuildCache } from "./cache.js";
export { createSnapshotCommitter } from "./layer-commit.js";
export type { ImageCommitter, CommitRequest, CommitResult } from "./layer-commit.js";
export { parseStages } from "./instructions.js";
