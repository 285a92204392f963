import { createJsonFileLogger } from "./logs/json-file-writer.js";
import { readLogs } from "./logs/json-file-reader.js";
import { parseJsonFileLogOptions } from "./logs/log-options.js";
import { formatUnixNanos } from "./logs/timestamp.js";
import type { ContainerLogs, LogWriter } from "./container-logs.js";
import type { LogEntry } from "./types.js";

export { rotateErrorChannel } from "./logs/json-file-writer.js";

/** docker's json-file driver behind the engine's ContainerLogs. */
export function jsonFileLogs(): ContainerLogs {
  return {
    validate(config) {
      parseJsonFileLogOptions(config);
    },
    async open(path, config): Promise<LogWriter> {
      const o = parseJsonFileLogOptions(config);
      const w = await createJsonFileLogger({ path, maxSize: o.maxSize, maxFile: o.maxFile });
      return {
        // A write error resurfaces on later calls and at close; nothing to do per chunk.
        write: (stream, chunk) => void w.write(stream, chunk).catch(() => {}),
        flush: () => w.flush().catch(() => {}),
        close: () => w.close(),
      };
    },
    async *read(path, config, o) {
      const { maxFile } = parseJsonFileLogOptions(config);
      const reader = readLogs(path, {
        since: o.since, until: o.until, tail: o.tail ?? "all", follow: o.follow ?? false,
        stdout: o.stdout ?? true, stderr: o.stderr ?? true, signal: o.signal, maxFile, done: o.done,
      });
      try {
        for await (const r of reader) {
          const entry: LogEntry = { stream: r.stream, line: r.line, time: formatUnixNanos(r.timeNanos) };
          yield entry;
        }
      } finally {
        await reader.close();
      }
    },
  };
}
