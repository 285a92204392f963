// Small stream helpers shared by load, import and save.
import { PassThrough, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { errInvalidArgument } from "../base/errors.js";

export function toReadable(source: Readable | AsyncIterable<Uint8Array>): Readable {
  return source instanceof Readable ? source : Readable.from(source, { objectMode: false });
}

/**
 * The stream, gunzipped when its first bytes are gzip's magic (`docker save | gzip` loads as
 * dockerd accepts it). Errors of the source or of gunzip come out of the returned stream.
 */
export function maybeGunzip(source: Readable, what: string): Readable {
  const out = new PassThrough();
  let decided = false;
  const head: Buffer[] = [];
  let headLen = 0;
  const decide = (end: boolean) => {
    decided = true;
    source.removeListener("data", onData);
    source.removeListener("end", onEnd);
    const buf = Buffer.concat(head);
    const gz = buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
    const sink = gz ? createGunzip() : out;
    if (gz) {
      sink.on("error", (e) => out.destroy(errInvalidArgument(`${what}: invalid gzip data: ${e.message}`, { cause: e })));
      sink.pipe(out);
    }
    sink.write(buf);
    if (end) sink.end();
    else { source.pipe(sink); source.resume(); }
  };
  const onData = (c: Buffer) => {
    head.push(c);
    headLen += c.length;
    if (headLen >= 2) { source.pause(); decide(false); }
  };
  const onEnd = () => { if (!decided) decide(true); };
  source.on("data", onData);
  source.on("end", onEnd);
  source.on("error", (e) => out.destroy(e));
  return out;
}

/** Reads a whole stream, failing past `limit` bytes. */
export async function readAll(stream: AsyncIterable<Uint8Array>, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += c.length;
    if (n > limit) throw errInvalidArgument(`${what} is larger than ${limit} bytes`);
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks, n);
}
