// One Content/Write stream in lock step (containerd answers every message), for blobs whose
// digest may only be known once the last byte went by (a docker-archive's layer.tar entries):
// the caller hashes while writing and names the digest at COMMIT, where containerd checks it
// against what it received. Bytes are coalesced into chunks of up to 1 MiB.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { contentPb, errInvalidArgument, isAlreadyExists, isNotFound, type ContainerdClient } from "../containerd/index.js";

type WriteReq = MessageInitShape<typeof contentPb.WriteContentRequestSchema>;

const CHUNK = 1 << 20;
/**
 * WRITE messages in flight before the next waits for an acknowledgement. Lock step (1) leaves
 * containerd idle while berth reads and parses the next chunk, and berth idle while containerd
 * writes and hashes; a small window overlaps the two. containerd answers in order.
 */
const WINDOW = 8;

/**
 * The request side of the stream: pushed one message at a time. It implements throw() and
 * return(), which connect calls to abort the request stream when the call fails.
 */
class RequestQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #waiter: ((r: IteratorResult<T>) => void) | undefined;
  #ended = false;

  push(item: T): void {
    if (this.#ended) return;
    const w = this.#waiter;
    if (w) { this.#waiter = undefined; w({ value: item, done: false }); } else this.#items.push(item);
  }

  end(): void {
    this.#ended = true;
    this.#items.length = 0;
    const w = this.#waiter;
    if (w) { this.#waiter = undefined; w({ value: undefined, done: true }); }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => { this.#waiter = resolve; });
      },
      return: () => { this.end(); return Promise.resolve({ value: undefined, done: true }); },
      throw: () => { this.end(); return Promise.resolve({ value: undefined, done: true }); },
    };
  }
}

export interface BlobWriterOptions {
  /** Ingest ref: unique per concurrent write; a stable ref lets a later write resume. */
  ref: string;
  /** Size in bytes, checked by containerd at commit; undefined when unknown until the end. */
  total: number | undefined;
  /** Known digest: containerd answers AlreadyExists at STAT when it has the blob. */
  expected?: string;
  lease?: string;
  signal?: AbortSignal;
}

export class BlobWriter {
  readonly ref: string;
  readonly total: number | undefined;
  /** Bytes containerd holds for this ref (the resume point after open). */
  offset = 0;
  /** True when containerd already had the expected blob: nothing to write. */
  exists = false;
  readonly #client: ContainerdClient;
  readonly #requests = new RequestQueue<WriteReq>();
  readonly #responses: AsyncIterator<contentPb.WriteContentResponse>;
  #pending: Buffer[] = [];
  #pendingLen = 0;
  /** Bytes sent (acknowledged or not); `offset` moves with the acknowledgements. */
  #sent = 0;
  /** Acknowledgements still to read, oldest first. */
  #acks: Promise<void>[] = [];
  #closed = false;
  #drained: Promise<void> = Promise.resolve();

  private constructor(client: ContainerdClient, o: BlobWriterOptions) {
    this.#client = client;
    this.ref = o.ref;
    this.total = o.total;
    const headers = o.lease ? { "containerd-lease": o.lease } : undefined;
    this.#responses = client.content.rpc.write(this.#requests, {
      ...(o.signal ? { signal: o.signal } : {}),
      ...(headers ? { headers } : {}),
    })[Symbol.asyncIterator]();
  }

  /** Opens the stream with STAT: `offset` is where the write resumes, `exists` ends it early. */
  static async open(client: ContainerdClient, o: BlobWriterOptions): Promise<BlobWriter> {
    const w = new BlobWriter(client, o);
    try {
      const stat = await w.#exchange({
        action: contentPb.WriteAction.STAT, ref: o.ref, total: BigInt(o.total ?? 0), ...(o.expected ? { expected: o.expected } : {}),
      });
      w.offset = Number(stat.offset);
      w.#sent = w.offset;
    } catch (e) {
      w.#close();
      if (o.expected && isAlreadyExists(e)) { w.exists = true; return w; }
      throw e;
    }
    return w;
  }

  async #exchange(req: WriteReq): Promise<contentPb.WriteContentResponse> {
    await this.#settleAcks();
    this.#requests.push(req);
    const r = await this.#responses.next();
    if (r.done) throw errInvalidArgument(`content write ${this.ref}: stream ended early`);
    return r.value;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.#pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.#pendingLen += chunk.length;
    if (this.#pendingLen >= CHUNK) await this.#flush();
  }

  /** Sends what is coalesced so far (the ack moves `offset`). */
  async flush(): Promise<void> {
    await this.#flush();
    await this.#settleAcks();
  }

  /** Ends the stream, keeping the ingest (a later open with the same ref resumes at its offset). */
  async close(): Promise<void> {
    this.#close();
    await this.#drained;
  }

  async #flush(): Promise<void> {
    if (this.#pendingLen === 0) return;
    const data = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingLen);
    this.#pending = [];
    this.#pendingLen = 0;
    if (this.total !== undefined && this.#sent + data.length > this.total) {
      throw errInvalidArgument(`content ${this.ref}: more than the ${this.total} bytes announced`);
    }
    this.#requests.push({ action: contentPb.WriteAction.WRITE, ref: this.ref, offset: BigInt(this.#sent), data });
    this.#sent += data.length;
    // Responses come in request order: each acknowledgement reads the next one.
    const previous = this.#acks.at(-1) ?? Promise.resolve();
    const ack = previous.then(async () => {
      const r = await this.#responses.next();
      if (r.done) throw errInvalidArgument(`content write ${this.ref}: stream ended early`);
      this.offset = Number(r.value.offset);
    });
    ack.catch(() => {}); // observed when awaited below; never an unhandled rejection
    this.#acks.push(ack);
    if (this.#acks.length >= WINDOW) await this.#acks.shift();
  }

  /** Waits for every WRITE in flight to be acknowledged (before STAT or COMMIT). */
  async #settleAcks(): Promise<void> {
    while (this.#acks.length > 0) await this.#acks.shift();
  }

  /**
   * Commits under `digest` (containerd verifies digest and size). AlreadyExists is success:
   * `written` is then false.
   */
  async commit(digest: string, labels: Record<string, string> = {}): Promise<{ written: boolean }> {
    try {
      await this.#flush();
      await this.#settleAcks();
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
      this.#close();
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#requests.end();
    // Drain so the stream ends and is counted as finished.
    this.#drained = (async () => { try { while (!(await this.#responses.next()).done); } catch { /* reported */ } })();
  }

  /** Ends the stream and releases the ref's partial data (Content/Abort). */
  async abort(): Promise<void> {
    this.#close();
    await this.#drained;
    await this.#client.content.rpc.abort({ ref: this.ref }).catch((e) => { if (!isNotFound(e)) throw e; });
  }
}
