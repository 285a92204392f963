// The engine's view of a log driver: open a writer per container run, read for `docker logs`.
// The json-file implementation lives in ./logs (docker's format, rotation, follow).
import type { StreamName } from "./stream-hub.js";
import type { LogEntry, LogOptions } from "./types.js";

export interface LogWriter {
  write(stream: StreamName, chunk: Buffer): void;
  /** Writes the partial lines held back (the run's output ended); resolves once written. */
  flush?(): Promise<void> | void;
  close(): Promise<void>;
}

export interface ContainerLogs {
  /** Validates log options (max-size, max-file, ...) at create: invalid-argument on error. */
  validate(config: Record<string, string>): void;
  open(path: string, config: Record<string, string>): Promise<LogWriter>;
  /** `done` resolves when the container stopped: a follow drains and ends then. */
  read(path: string, config: Record<string, string>, o: LogOptions & { done: Promise<void> }): AsyncIterable<LogEntry>;
}
