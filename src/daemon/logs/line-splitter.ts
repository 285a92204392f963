/**
 * Splitting a container's output into log records, as dockerd's log copier does it (moby
 * `daemon/logger/copier.go`, which reads into a 16 KiB buffer):
 *
 * - every "\n"-terminated line is one record; the "\n" is not part of the line (the json-file
 *   driver appends it again) and a "\r" before it stays;
 * - a line that reaches 16 KiB without a "\n" is cut: each full 16 KiB is a partial record
 *   (written without "\n"), and the rest, possibly empty, ends the line with "\n". All pieces of
 *   one line carry the time of the first piece;
 * - at the end of a stream, bytes after the last "\n" become one partial record.
 *
 * The result does not depend on how the output was chunked. Pure; the state is per stream.
 */

/** dockerd's copier buffer: the longest piece of a line that becomes one record. */
export const MAX_LINE_PIECE = 16 * 1024;

export interface LineSplitterState {
  /** Bytes of an unfinished line, copied (callers may reuse their chunks). */
  pending: Buffer[];
  pendingLength: number;
  /** A piece of the current line has been emitted already: later pieces are continuations. */
  split: boolean;
}

/**
 * Receives each record: the line is `buf[start:end]`, without the "\n" (valid only during the
 * call); `newline` when the record's text ends with "\n" (a whole line or the last piece of a
 * long one); `continuation` for the second and later pieces of one line, which docker stamps with
 * the first piece's time.
 */
export type EmitPiece = (buf: Buffer, start: number, end: number, newline: boolean, continuation: boolean) => void;

export function newLineSplitter(): LineSplitterState {
  return { pending: [], pendingLength: 0, split: false };
}

function takePending(state: LineSplitterState, extra?: Buffer): Buffer {
  const parts = extra === undefined ? state.pending : [...state.pending, extra];
  const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  state.pending = [];
  state.pendingLength = 0;
  return out;
}

function emitLine(state: LineSplitterState, buf: Buffer, start: number, end: number, emit: EmitPiece): void {
  let continuation = state.split;
  while (end - start >= MAX_LINE_PIECE) {
    emit(buf, start, start + MAX_LINE_PIECE, false, continuation);
    continuation = true;
    start += MAX_LINE_PIECE;
  }
  emit(buf, start, end, true, continuation);
  state.split = false;
}

/** Feeds one chunk of a stream; emits every record it completes, in order. */
export function splitLines(state: LineSplitterState, chunk: Uint8Array, emit: EmitPiece): void {
  const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const n = buf.length;
  let p = 0;
  for (let q = buf.indexOf(0x0a, p); q >= 0; q = buf.indexOf(0x0a, p)) {
    if (state.pendingLength === 0) {
      emitLine(state, buf, p, q, emit);
    } else {
      const line = takePending(state, buf.subarray(p, q));
      emitLine(state, line, 0, line.length, emit);
    }
    p = q + 1;
  }
  if (p === n) return;
  state.pending.push(Buffer.from(buf.subarray(p, n)));
  state.pendingLength += n - p;
  if (state.pendingLength < MAX_LINE_PIECE) return;
  let rest = takePending(state);
  let start = 0;
  while (rest.length - start >= MAX_LINE_PIECE) {
    emit(rest, start, start + MAX_LINE_PIECE, false, state.split);
    state.split = true;
    start += MAX_LINE_PIECE;
  }
  if (start < rest.length) {
    rest = Buffer.from(rest.subarray(start));
    state.pending.push(rest);
    state.pendingLength = rest.length;
  }
}

/**
 * Ends the stream: bytes after the last "\n" become one partial record (as dockerd's copier does
 * at EOF), and the next chunk starts a new line.
 */
export function flushLines(state: LineSplitterState, emit: EmitPiece): void {
  if (state.pendingLength > 0) {
    const rest = takePending(state);
    emit(rest, 0, rest.length, false, state.split);
  }
  state.split = false;
}
