import type { FileHandle } from "node:fs/promises";

/** Reads are done in blocks of this size, forwards and backwards. */
export const BLOCK_SIZE = 64 * 1024;

/**
 * Where to start reading a file so that the last `n` complete lines ending before `end` are
 * read, found by reading backwards in blocks from `end`, never the whole file. Bytes after the
 * last "\n" (a record being written) are not a line. Returns the offset and how many complete
 * lines start there (fewer than `n` when the file has fewer: then the offset is 0). `n` = 0 gives
 * the end of the last complete line.
 */
export async function tailStart(fh: FileHandle, end: number, n: number): Promise<{ start: number; lines: number }> {
  const buf = Buffer.allocUnsafe(Math.min(BLOCK_SIZE, Math.max(end, 1)));
  let newlines = 0;
  let pos = end;
  while (pos > 0) {
    const len = Math.min(buf.length, pos);
    pos -= len;
    const { bytesRead } = await fh.read(buf, 0, len, pos);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) continue;
      // The newest newline ends the last complete line; each further one ends an earlier line.
      if (++newlines === n + 1) return { start: pos + i + 1, lines: n };
    }
  }
  return { start: 0, lines: newlines };
}

/**
 * Complete lines of a file read forwards in blocks from an offset, for files that may still
 * grow. Bytes after the last "\n" stay buffered until their "\n" arrives.
 */
export class FileLines {
  readonly fh: FileHandle;
  #buf = Buffer.allocUnsafe(BLOCK_SIZE);
  /** Unconsumed bytes are #buf[#start, #end); #start is at file offset `pos`. */
  #start = 0;
  #end = 0;
  #pos: number;

  constructor(fh: FileHandle, pos: number) {
    this.fh = fh;
    this.#pos = pos;
  }

  /** File offset of the first byte not yet returned as part of a line. */
  get pos(): number {
    return this.#pos;
  }

  /** Bytes read past the last complete line. */
  get remainder(): number {
    return this.#end - this.#start;
  }

  /** Starts over at `pos` (the file was truncated under us). */
  reset(pos: number): void {
    this.#pos = pos;
    this.#start = 0;
    this.#end = 0;
  }

  /**
   * Reads one more block (not past `limit`, a file offset) and calls `onLine` for each line it
   * completes, without the "\n"; the buffer is only valid during the call. Returns false when
   * nothing more could be read.
   */
  async next(onLine: (buf: Buffer, start: number, end: number) => void, limit?: number): Promise<boolean> {
    if (this.#start > 0 && this.#buf.length - this.#end < BLOCK_SIZE / 2) {
      this.#buf.copy(this.#buf, 0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) {
      // One record longer than the buffer: grow it.
      const bigger = Buffer.allocUnsafe(this.#buf.length * 2);
      this.#buf.copy(bigger, 0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
      this.#buf = bigger;
    }
    const readAt = this.#pos + (this.#end - this.#start);
    let want = this.#buf.length - this.#end;
    if (limit !== undefined) want = Math.min(want, limit - readAt);
    if (want <= 0) return false;
    const { bytesRead } = await this.fh.read(this.#buf, this.#end, want, readAt);
    if (bytesRead === 0) return false;
    const scanFrom = this.#end;
    this.#end += bytesRead;
    let lineStart = this.#start;
    const view = this.#buf.subarray(0, this.#end);
    for (let q = view.indexOf(0x0a, scanFrom); q >= 0; q = view.indexOf(0x0a, q + 1)) {
      onLine(view, lineStart, q);
      lineStart = q + 1;
    }
    this.#pos += lineStart - this.#start;
    this.#start = lineStart;
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
    return true;
  }
}
