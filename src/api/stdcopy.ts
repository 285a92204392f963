// Docker's stream multiplexing ("stdcopy"): each frame is an 8-byte header — stream type, three
// zero bytes, big-endian uint32 payload length — followed by the payload. Used for attach, exec
// and logs of containers without a TTY. The one place that knows the framing.

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
/** dockerd's Systemerr: an error from the daemon itself, which the docker CLI surfaces as one. */
export const SYSTEMERR = 3;
export type StreamType = typeof STDIN | typeof STDOUT | typeof STDERR | typeof SYSTEMERR;

const HEADER = 8;
/** Payloads are split so no frame exceeds what the uint32 length (and clients' buffers) allow. */
const MAX_PAYLOAD = 1 << 30;

/** One or more frames carrying `payload` on `stream` (an empty payload yields no frame). */
export function frame(stream: StreamType, payload: Buffer | string): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : payload;
  if (data.length <= MAX_PAYLOAD) return frameOne(stream, data);
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_PAYLOAD) parts.push(frameOne(stream, data.subarray(off, off + MAX_PAYLOAD)));
  return Buffer.concat(parts);
}

function frameOne(stream: StreamType, data: Buffer): Buffer {
  if (data.length === 0) return Buffer.alloc(0);
  const out = Buffer.allocUnsafe(HEADER + data.length);
  out[0] = stream;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  out.writeUInt32BE(data.length, 4);
  data.copy(out, HEADER);
  return out;
}

export interface Frame {
  stream: StreamType;
  payload: Buffer;
}

/**
 * Incremental decoder (clients and tests): feed bytes as they arrive, get whole frames back.
 * A header with an unknown stream type is an error, as in the docker CLI.
 */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: Frame[] = [];
    while (this.#buf.length >= HEADER) {
      const stream = this.#buf[0]!;
      if (stream > SYSTEMERR) throw new Error(`unrecognized stream type ${stream}`);
      const len = this.#buf.readUInt32BE(4);
      if (this.#buf.length < HEADER + len) break;
      out.push({ stream: stream as StreamType, payload: Buffer.from(this.#buf.subarray(HEADER, HEADER + len)) });
      this.#buf = this.#buf.subarray(HEADER + len);
    }
    return out;
  }

  /** Bytes of an incomplete frame still buffered. */
  get pending(): number {
    return this.#buf.length;
  }
}

/** Decodes a complete buffer of frames. */
export function decodeFrames(data: Buffer): Frame[] {
  const d = new FrameDecoder();
  const frames = d.push(data);
  if (d.pending !== 0) throw new Error(`truncated frame: ${d.pending} bytes left over`);
  return frames;
}
