/**
 * JSON string encoding byte for byte as dockerd's json-file driver does it, so that berth's log
 * files are indistinguishable from dockerd's.
 *
 * The `log` field goes through moby's hand-written `ffjsonWriteJSONBytesAsString`
 * (`daemon/logger/jsonfilelog/jsonlog/jsonlogbytes.go`): `"` and `\` are backslash-escaped, `\n`
 * and `\r` get short escapes, every other byte below 0x20 and `<`, `>`, `&` become `\u00XX`
 * (so a tab is `\u0009`), each byte of invalid UTF-8 becomes the six characters `\ufffd` (Go's
 * `utf8.DecodeRune` rules: one replacement per bad byte, surrogates and overlongs are bad),
 * and U+2028 / U+2029 are escaped. Everything else is copied as is.
 *
 * The `attrs` object is `json.Marshal` of a `map[string]string`: keys sorted bytewise, and Go's
 * string encoder, which differs only in also having short escapes for `\t`, `\b` and `\f`.
 */

const HEX = "0123456789abcdef";
const EMPTY = Buffer.alloc(0);

/** 1 where a byte below 0x80 is copied unescaped into a JSON string (Go's htmlSafeSet). */
const SAFE = new Uint8Array(128);
for (let b = 0x20; b < 0x80; b++) SAFE[b] = 1;
for (const c of ['"', "\\", "<", ">", "&"]) SAFE[c.charCodeAt(0)] = 0;

/**
 * A growable byte buffer that records are encoded into. `take()` hands out what was written
 * since the previous `take()` as a view, without copying; the bytes behind a view are never
 * written again (a full buffer is replaced, not reused), so views can be queued for I/O.
 */
export class ByteSink {
  #buf: Buffer = EMPTY;
  #len = 0;
  #start = 0;
  readonly #chunk: number;

  /**
   * `chunkSize`: the size of each new buffer. None is allocated until the first byte: a
   * container that writes nothing costs none (200 idle containers held 50 MiB of them).
   */
  constructor(chunkSize = 256 * 1024) {
    this.#chunk = chunkSize;
  }

  /** Drops the buffer when everything written was taken (an idle writer keeps no memory). */
  release(): void {
    if (this.#len !== this.#start) return;
    this.#buf = EMPTY;
    this.#len = 0;
    this.#start = 0;
  }

  /** Bytes written since the last `take()`. */
  get pending(): number {
    return this.#len - this.#start;
  }

  /** Makes room for `n` more bytes, moving the untaken bytes to a new buffer if needed. */
  ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const untaken = this.#len - this.#start;
    const next = Buffer.allocUnsafe(Math.max(this.#chunk, (untaken + n) * 2));
    this.#buf.copy(next, 0, this.#start, this.#len);
    this.#buf = next;
    this.#start = 0;
    this.#len = untaken;
  }

  /** The buffer to write into at `offset`; call `ensure` first and `advance` after. */
  get buffer(): Buffer {
    return this.#buf;
  }

  get offset(): number {
    return this.#len;
  }

  advance(n: number): void {
    this.#len += n;
  }

  /** Appends ASCII text (no checks: callers pass JSON punctuation and timestamps). */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    if (n > 64) {
      this.#len += this.#buf.write(s, this.#len, "latin1");
      return;
    }
    // Short strings: a loop beats the native call.
    const buf = this.#buf;
    let o = this.#len;
    for (let i = 0; i < n; i++) buf[o++] = s.charCodeAt(i);
    this.#len = o;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /** The bytes written since the last `take()`, or undefined if none. */
  take(): Buffer | undefined {
    if (this.#len === this.#start) return undefined;
    const out = this.#buf.subarray(this.#start, this.#len);
    this.#start = this.#len;
    return out;
  }
}

/**
 * Length of the valid UTF-8 sequence starting at `i` (2..4), or 0 when Go's `utf8.DecodeRune`
 * would return `(RuneError, 1)`: a bad lead byte, a bad or missing continuation byte, an
 * overlong form, a surrogate, or a code point above U+10FFFF.
 */
export function utf8SequenceLength(src: Uint8Array, i: number, end: number): number {
  const b0 = src[i]!;
  if (b0 < 0xc2) return 0;
  if (b0 < 0xe0) return i + 1 < end && (src[i + 1]! & 0xc0) === 0x80 ? 2 : 0;
  if (b0 < 0xf0) {
    if (i + 2 >= end) return 0;
    const b1 = src[i + 1]!;
    if (b1 < (b0 === 0xe0 ? 0xa0 : 0x80) || b1 > (b0 === 0xed ? 0x9f : 0xbf)) return 0;
    return (src[i + 2]! & 0xc0) === 0x80 ? 3 : 0;
  }
  if (b0 < 0xf5) {
    if (i + 3 >= end) return 0;
    const b1 = src[i + 1]!;
    if (b1 < (b0 === 0xf0 ? 0x90 : 0x80) || b1 > (b0 === 0xf4 ? 0x8f : 0xbf)) return 0;
    return (src[i + 2]! & 0xc0) === 0x80 && (src[i + 3]! & 0xc0) === 0x80 ? 4 : 0;
  }
  return 0;
}

/**
 * Writes `src[start:end]` (+ "\n" when `newline`) as a quoted JSON string the way moby's
 * `ffjsonWriteJSONBytesAsString` does. `goMarshal` switches to `encoding/json`'s variant (short
 * escapes for \t, \b, \f), used for attribute strings.
 */
export function writeJsonBytes(
  sink: ByteSink, src: Uint8Array, start: number, end: number, newline: boolean, goMarshal = false,
): void {
  // Worst case: every byte becomes a six-byte escape; plus quotes and the "\n" escape.
  sink.ensure((end - start) * 6 + 4);
  const out = sink.buffer;
  let o = sink.offset;
  out[o++] = 0x22;
  for (let i = start; i < end;) {
    const b = src[i]!;
    if (b < 0x80) {
      i++;
      if (SAFE[b] === 1) {
        out[o++] = b;
        continue;
      }
      out[o++] = 0x5c; // backslash
      switch (b) {
        case 0x22: case 0x5c: out[o++] = b; continue;
        case 0x0a: out[o++] = 0x6e; continue; // n
        case 0x0d: out[o++] = 0x72; continue; // r
        case 0x09: if (goMarshal) { out[o++] = 0x74; continue; } break; // t
        case 0x08: if (goMarshal) { out[o++] = 0x62; continue; } break; // b
        case 0x0c: if (goMarshal) { out[o++] = 0x66; continue; } break; // f
      }
      out[o++] = 0x75; // u
      out[o++] = 0x30;
      out[o++] = 0x30;
      out[o++] = HEX.charCodeAt(b >> 4);
      out[o++] = HEX.charCodeAt(b & 0xf);
      continue;
    }
    const n = utf8SequenceLength(src, i, end);
    if (n === 0) {
      o += out.write("\\ufffd", o, "latin1");
      i++;
      continue;
    }
    if (n === 3 && b === 0xe2 && src[i + 1] === 0x80 && (src[i + 2] === 0xa8 || src[i + 2] === 0xa9)) {
      o += out.write(src[i + 2] === 0xa8 ? "\\u2028" : "\\u2029", o, "latin1");
      i += 3;
      continue;
    }
    out[o++] = b;
    out[o++] = src[i + 1]!;
    if (n > 2) out[o++] = src[i + 2]!;
    if (n > 3) out[o++] = src[i + 3]!;
    i += n;
  }
  if (newline) {
    out[o++] = 0x5c;
    out[o++] = 0x6e;
  }
  out[o++] = 0x22;
  sink.advance(o - sink.offset);
}

/**
 * `json.Marshal(map[string]string)` as Go writes it: keys sorted by their UTF-8 bytes, no
 * spaces, Go's string escaping. Returns undefined for an empty map (the json-file driver then
 * omits `attrs`).
 */
export function marshalAttrs(attrs: Readonly<Record<string, string>>): Buffer | undefined {
  const entries = Object.entries(attrs).map(([k, v]) => [Buffer.from(k, "utf8"), Buffer.from(v, "utf8")] as const);
  if (entries.length === 0) return undefined;
  entries.sort((a, b) => Buffer.compare(a[0], b[0]));
  const sink = new ByteSink(1024);
  sink.ascii("{");
  entries.forEach(([k, v], idx) => {
    if (idx > 0) sink.ascii(",");
    writeJsonBytes(sink, k, 0, k.length, false, true);
    sink.ascii(":");
    writeJsonBytes(sink, v, 0, v.length, false, true);
  });
  sink.ascii("}");
  return Buffer.from(sink.take()!);
}
