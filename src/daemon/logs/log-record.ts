import type { LogStream } from "./json-file-writer.js";
import { parseDockerTimestamp, unixNanosToDate } from "./timestamp.js";

/** One record of a json-file log, as read back. */
export interface LogRecord {
  readonly stream: LogStream;
  /**
   * The bytes of `log`: a line with its "\n", or a partial line without (a piece of a line
   * longer than 16 KiB, or what a stream ended with). What `docker logs` prints.
   */
  readonly line: Buffer;
  /** `line` does not end with "\n". */
  readonly partial: boolean;
  /** `time`, truncated to the millisecond. */
  readonly time: Date;
  /** `time` in nanoseconds since the Unix epoch, exact. */
  readonly timeNanos: bigint;
  /** `time` exactly as written (`docker logs --timestamps` prints it reformatted, see docs). */
  readonly timestamp: string;
  /** `attrs`, when the writer had extra attributes (`docker logs --details`). */
  readonly attrs?: Readonly<Record<string, string>>;
}

/**
 * Decodes one line of a json-file log (without its "\n"). Returns undefined for anything that is
 * not a record: not JSON, not an object, a `stream` other than stdout/stderr (dockerd would drop
 * it when printing), a missing or unparsable `time`.
 */
export function decodeLogRecord(text: string): LogRecord | undefined {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return undefined;
  const r = o as { log?: unknown; stream?: unknown; time?: unknown; attrs?: unknown };
  const log = r.log ?? "";
  if (typeof log !== "string") return undefined;
  if (r.stream !== "stdout" && r.stream !== "stderr") return undefined;
  if (typeof r.time !== "string") return undefined;
  let timeNanos: bigint;
  try {
    timeNanos = parseDockerTimestamp(r.time);
  } catch {
    return undefined;
  }
  const line = Buffer.from(log, "utf8");
  const rec: { -readonly [K in keyof LogRecord]: LogRecord[K] } = {
    stream: r.stream,
    line,
    partial: line.length === 0 || line[line.length - 1] !== 0x0a,
    time: unixNanosToDate(timeNanos),
    timeNanos,
    timestamp: r.time,
  };
  if (typeof r.attrs === "object" && r.attrs !== null && !Array.isArray(r.attrs)) {
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.attrs)) if (typeof v === "string") attrs[k] = v;
    rec.attrs = attrs;
  }
  return rec;
}
