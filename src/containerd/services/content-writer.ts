// Content/Write, the bulk path of image loads and pulls, framed by hand on the client's HTTP/2
// connection instead of through connect. Through connect, every 1 MiB WRITE was copied three
// times in JS (coalescing, protobuf encoding, gRPC envelope) and cost as much CPU as containerd's
// own work on it (docs/performance.md, "Content/Write"). Here a WRITE is a small encoded head
// (action, ref, offset and the data field's tag and length) followed by the caller's buffers as
// they are: protobuf lets the data field come last, and the gRPC length prefix covers both.
// Responses are decoded with the generated schema; the status comes from the trailers and goes
// through the same translation to error kinds as every other call, and the call is counted.
//
// The writer keeps up to WINDOW messages unacknowledged: containerd answers each in order, and
// lock step left it idle while berth read the next chunk (and berth idle while it hashed).
import http2 from "node:http2";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, GrpcError } from "../grpc-status.js";
import type { H2Session } from "../session.js";
import { errInvalidArgument, isAlreadyExists, isNotFound, type BerthError } from "../../base/errors.js";
import { contentPb } from "../proto.js";
import { fromRpcError } from "../rpc-errors.js";
import type { RpcContext } from "../rpc.js";
import { callHeaders, codeOfHttpStatus, grpcStatusOf, streamEndError } from "../unary.js";

type WriteReq = MessageInitShape<typeof contentPb.WriteContentRequestSchema>;

const RPC = "Content/Write";
const PATH = "/containerd.services.content.v1.Content/Write";
/** Bytes gathered into one WRITE message (containerd accepts up to 16 MiB). */
const CHUNK = 1 << 20;
/** WRITE messages sent ahead of their acknowledgements. */
const WINDOW = 8;
/** Protobuf tag of WriteContentRequest.data (field 6, length-delimited). */
const DATA_TAG = (6 << 3) | 2;

export interface ContentWriterOptions {
  /** Ingest ref: unique per concurrent write; a stable ref lets a later write resume. */
  ref: string;
  /** Size in bytes, checked by containerd at commit; undefined when unknown until the end. */
  total?: number;
  /** Known digest: containerd answers AlreadyExists at STAT when it has the blob. */
  expected?: string;
  /** Lease that protects the ingest and the blob from garbage collection. */
  lease?: string;
  signal?: AbortSignal;
}

export interface ContentWriter {
  readonly ref: string;
  readonly total: number | undefined;
  /** Bytes containerd holds for this ref: where the write resumed, then acknowledged bytes. */
  readonly offset: number;
  /** containerd had the expected blob already: nothing to write (the stream is closed). */
  readonly exists: boolean;
  /** Queues bytes; they go out in messages of up to 1 MiB. The buffer must not change after. */
  write(chunk: Uint8Array): Promise<void>;
  /** Sends what is queued and waits for every acknowledgement (`offset` is then exact). */
  flush(): Promise<void>;
  /**
   * The sha256 of every byte containerd holds for the ref (a STAT after the queued bytes went
   * out): containerd hashes what it writes anyway, so callers that learn a digest only from the
   * data need not hash it again.
   */
  digest(): Promise<string>;
  /** Commits under `digest` (containerd verifies digest and size); AlreadyExists: `written` false. */
  commit(digest: string, labels?: Record<string, string>): Promise<{ written: boolean }>;
  /** Ends the stream and keeps the ingest: a later writer with the same ref resumes at its offset. */
  close(): Promise<void>;
  /** Ends the stream and releases the ingest (Content/Abort). */
  abort(): Promise<void>;
}

export interface ContentWriterDeps {
  sessionManager: H2Session;
  namespace: string;
  ctx: RpcContext;
  /** Content/Abort of a ref (a counted unary call). */
  abortRef(ref: string): Promise<void>;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}

/** One Content/Write stream: request frames out, response messages in order, status at the end. */
class WriteStream {
  readonly #stream: http2.ClientHttp2Stream;
  readonly #t0 = performance.now();
  readonly #responses: contentPb.WriteContentResponse[] = [];
  /** Callers of next() still waiting, oldest first (one per message in flight). */
  readonly #waiters: { resolve: (r: contentPb.WriteContentResponse) => void; reject: (e: Error) => void }[] = [];
  #pending: Buffer = Buffer.alloc(0);
  #status: { code: number; message: string } | undefined;
  #error: Error | undefined;
  readonly closed: Promise<void>;

  constructor(stream: http2.ClientHttp2Stream, sm: H2Session, ctx: RpcContext, signal: AbortSignal | undefined) {
    this.#stream = stream;
    // A failing status before our end of the stream is a refusal (a message too large, a write
    // at the wrong offset): fail at once and reset the stream, whose request side may be stuck
    // on flow control with bytes containerd will never read.
    const onStatus = (h: http2.IncomingHttpHeaders) => {
      const st = grpcStatusOf(h);
      if (!st || this.#status !== undefined) return;
      this.#status = st;
      if (st.code !== 0) {
        this.#fail(new GrpcError(st.message, st.code as Code));
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      }
    };
    stream.on("response", (h) => {
      const status = Number(h[":status"]);
      if (status !== 200) this.#fail(new GrpcError(`HTTP ${status} from containerd`, codeOfHttpStatus(status)));
      onStatus(h); // a trailers-only answer carries the status in the headers
    });
    stream.on("trailers", onStatus);
    stream.on("data", (chunk: Buffer) => {
      this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
      while (this.#pending.length >= 5) {
        const len = this.#pending.readUInt32BE(1);
        if (this.#pending.length < 5 + len) break;
        const msg = fromBinary(contentPb.WriteContentResponseSchema, this.#pending.subarray(5, 5 + len));
        this.#pending = this.#pending.subarray(5 + len);
        const w = this.#waiters.shift();
        if (w) w.resolve(msg); else this.#responses.push(msg);
      }
    });
    const onAbort = () => {
      this.#fail(new GrpcError(String(signal?.reason ?? "the operation was aborted"), Code.Canceled));
      stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    stream.on("error", (e: Error) => this.#fail(streamEndError(stream.rstCode, e)));
    // The call is over at the first of: the response's end (after its trailers), an abort by
    // the peer (a stream reset without a status: no 'close' may follow), the stream's close.
    this.closed = new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        signal?.removeEventListener("abort", onAbort);
        const st = this.#status; // a failing one has failed the stream already (onStatus)
        if (!st && !this.#error) this.#fail(streamEndError(stream.rstCode));
        this.#fail(errInvalidArgument(`content write: the stream ended`)); // for waiters after an OK end
        const err = this.#error as BerthError | undefined;
        const outcome = st ? (Code[st.code as Code] ?? "Unknown") : err?.kind === "canceled" ? "Canceled" : err?.kind === "unavailable" ? "Unavailable" : "Internal";
        ctx.counter.finish({ rpc: RPC, outcome: st?.code === 0 ? "OK" : outcome, durationMs: performance.now() - this.#t0, ...(st?.code === 0 ? {} : { error: this.#error! }) });
        if (!stream.closed) stream.close(st?.code === 0 ? http2.constants.NGHTTP2_NO_ERROR : http2.constants.NGHTTP2_CANCEL);
        resolve();
      };
      stream.on("end", finish);
      stream.on("aborted", finish);
      stream.on("close", finish);
    });
  }

  #fail(e: Error): void {
    if (!this.#error) this.#error = e instanceof GrpcError ? fromRpcError(e, RPC) : e;
    for (const w of this.#waiters.splice(0)) w.reject(this.#error);
    for (const wake of this.#blocked.splice(0)) wake();
  }

  /** send() calls waiting for the request side to drain; a failure wakes them too. */
  readonly #blocked: (() => void)[] = [];

  /** The next response (in request order). */
  next(): Promise<contentPb.WriteContentResponse> {
    const r = this.#responses.shift();
    if (r) return Promise.resolve(r);
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => { this.#waiters.push({ resolve, reject }); });
  }

  /** Sends one request; `data` goes out as the caller's buffers, uncopied. */
  async send(req: WriteReq, data: Uint8Array[] = []): Promise<void> {
    if (this.#error) throw this.#error;
    const head = toBinary(contentPb.WriteContentRequestSchema, create(contentPb.WriteContentRequestSchema, req));
    const dataLen = data.reduce((n, d) => n + d.length, 0);
    const field = data.length > 0 ? [DATA_TAG, ...varint(dataLen)] : [];
    const prefix = Buffer.allocUnsafe(5 + head.length + field.length);
    prefix[0] = 0;
    prefix.writeUInt32BE(head.length + field.length + dataLen, 1);
    prefix.set(head, 5);
    prefix.set(field, 5 + head.length);
    let ok = this.#stream.write(prefix);
    for (const d of data) ok = this.#stream.write(d);
    if (!ok && !this.#error) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#stream.off("drain", done);
          this.#stream.off("close", done);
          const i = this.#blocked.indexOf(done);
          if (i >= 0) this.#blocked.splice(i, 1);
          resolve();
        };
        this.#stream.on("drain", done);
        this.#stream.on("close", done);
        this.#blocked.push(done);
      });
    }
    if (this.#error) throw this.#error;
  }

  /** Half-closes the request side; the status follows. */
  end(): void {
    if (!this.#stream.closed && !this.#stream.writableEnded) this.#stream.end();
  }
}

class Writer implements ContentWriter {
  readonly ref: string;
  readonly total: number | undefined;
  offset = 0;
  exists = false;
  readonly #deps: ContentWriterDeps;
  readonly #s: WriteStream;
  #queued: Uint8Array[] = [];
  #queuedLen = 0;
  /** Bytes sent (acknowledged or not). */
  #sent = 0;
  /** Acknowledgements still to read, oldest first. */
  #acks: Promise<void>[] = [];
  #ended = false;

  constructor(deps: ContentWriterDeps, s: WriteStream, o: ContentWriterOptions) {
    this.#deps = deps;
    this.#s = s;
    this.ref = o.ref;
    this.total = o.total;
  }

  async stat(expected: string | undefined): Promise<void> {
    try {
      const r = await this.#exchange({ action: contentPb.WriteAction.STAT, ref: this.ref, total: BigInt(this.total ?? 0), ...(expected ? { expected } : {}) });
      this.offset = Number(r.offset);
      this.#sent = this.offset;
    } catch (e) {
      await this.#end();
      if (expected && isAlreadyExists(e)) { this.exists = true; return; }
      throw e;
    }
  }

  async #exchange(req: WriteReq): Promise<contentPb.WriteContentResponse> {
    await this.#settle();
    const answer = this.#s.next();
    answer.catch(() => {}); // awaited below; a failed send must not leave it unhandled
    await this.#s.send(req);
    return answer;
  }

  async write(chunk: Uint8Array): Promise<void> {
    // Messages of at most CHUNK bytes: containerd refuses messages over 16 MiB.
    for (let off = 0; off < chunk.length;) {
      const take = Math.min(chunk.length - off, CHUNK - this.#queuedLen);
      this.#queued.push(take === chunk.length ? chunk : chunk.subarray(off, off + take));
      this.#queuedLen += take;
      off += take;
      if (this.#queuedLen >= CHUNK) await this.#sendQueued();
    }
  }

  async #sendQueued(): Promise<void> {
    if (this.#queuedLen === 0) return;
    const data = this.#queued;
    const len = this.#queuedLen;
    this.#queued = [];
    this.#queuedLen = 0;
    if (this.total !== undefined && this.#sent + len > this.total) {
      throw errInvalidArgument(`content ${this.ref}: more than the ${this.total} bytes announced`);
    }
    const offset = this.#sent;
    this.#sent += len;
    const ack = this.#s.next().then((r) => { this.offset = Number(r.offset); });
    ack.catch(() => {}); // observed when awaited; never an unhandled rejection
    this.#acks.push(ack);
    await this.#s.send({ action: contentPb.WriteAction.WRITE, ref: this.ref, offset: BigInt(offset) }, data);
    if (this.#acks.length >= WINDOW) await this.#acks.shift();
  }

  async #settle(): Promise<void> {
    while (this.#acks.length > 0) await this.#acks.shift();
  }

  async flush(): Promise<void> {
    await this.#sendQueued();
    await this.#settle();
  }

  async digest(): Promise<string> {
    await this.flush();
    const r = await this.#exchange({ action: contentPb.WriteAction.STAT, ref: this.ref });
    this.offset = Number(r.offset);
    if (!r.digest) throw errInvalidArgument(`content ${this.ref}: containerd reported no digest`);
    return r.digest;
  }

  async commit(digest: string, labels: Record<string, string> = {}): Promise<{ written: boolean }> {
    try {
      await this.flush();
      if (this.total !== undefined && this.offset !== this.total) {
        throw errInvalidArgument(`content ${digest}: got ${this.offset} bytes, expected ${this.total}`);
      }
      await this.#exchange({
        action: contentPb.WriteAction.COMMIT, ref: this.ref, offset: BigInt(this.offset), total: BigInt(this.offset), expected: digest, labels,
      });
      return { written: true };
    } catch (e) {
      if (isAlreadyExists(e)) return { written: false };
      throw e;
    } finally {
      await this.#end();
    }
  }

  async #end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#s.end();
    await this.#s.closed;
  }

  async close(): Promise<void> {
    await this.#end();
  }

  async abort(): Promise<void> {
    await this.#end();
    await this.#deps.abortRef(this.ref).catch((e) => { if (!isNotFound(e)) throw e; });
  }
}

/** Opens a Content/Write stream with STAT: `offset` is where the write resumes, `exists` ends it early. */
export async function openContentWriter(deps: ContentWriterDeps, o: ContentWriterOptions): Promise<ContentWriter> {
  deps.ctx.assertOpen(RPC);
  o.signal?.throwIfAborted();
  deps.ctx.counter.start(RPC);
  let stream: http2.ClientHttp2Stream;
  try {
    stream = await deps.sessionManager.request(callHeaders(PATH, deps.namespace, undefined, o.lease ? { "containerd-lease": o.lease } : undefined));
  } catch (e) {
    const err = fromRpcError(new GrpcError((e as Error).message, Code.Unavailable, e), RPC);
    deps.ctx.counter.finish({ rpc: RPC, outcome: "Unavailable", durationMs: 0, error: err });
    throw err;
  }
  const w = new Writer(deps, new WriteStream(stream, deps.sessionManager, deps.ctx, o.signal), o);
  await w.stat(o.expected);
  return w;
}
