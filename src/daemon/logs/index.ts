/**
 * Container logs: the json-file log driver with dockerd's format, rotation and reading semantics.
 * See docs/logs.md.
 */
export { createJsonFileLogger, rotateErrorChannel } from "./json-file-writer.js";
export type { JsonFileLoggerOptions, LogStream, LogWriter } from "./json-file-writer.js";
export { readLogs } from "./json-file-reader.js";
export type { LogReader, ReadLogsOptions } from "./json-file-reader.js";
export { decodeLogRecord } from "./log-record.js";
export type { LogRecord } from "./log-record.js";
export { fromHumanSize, parseJsonFileLogOptions, ramInBytes } from "./log-options.js";
export type { JsonFileLogConfig, LogMode } from "./log-options.js";
export { planAppends, rotatedPaths, rotationSteps, shouldRotate } from "./rotation.js";
export type { RotationPolicy, RotationStep } from "./rotation.js";
export { MAX_LINE_PIECE, flushLines, newLineSplitter, splitLines } from "./line-splitter.js";
export type { EmitPiece, LineSplitterState } from "./line-splitter.js";
export {
  dateToUnixNanos,
  formatDockerTimestamp,
  formatUnixNanos,
  newSubMsClock,
  nextSubMsNanos,
  parseDockerTimestamp,
  unixNanosToDate,
} from "./timestamp.js";
export type { SubMsClockState } from "./timestamp.js";
