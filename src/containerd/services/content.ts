import type { Transport } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { contentPb } from "../proto.js";
import { createRpcClient, type RpcContext, type RpcOptions } from "../rpc.js";
import { errInvalidArgument, isAlreadyExists } from "../errors.js";
import { AsyncQueue } from "../async-queue.js";

export type ContentInfo = contentPb.Info;
type WriteReq = MessageInitShape<typeof contentPb.WriteContentRequestSchema>;

export interface WriteBlobOptions extends RpcOptions {
  /** Digest the content must have ("sha256:..."); containerd verifies it at commit. */
  expected: string;
  /** Size in bytes; containerd verifies it at commit. */
  total: number;
  labels?: Record<string, string>;
  /** Lease that protects the blob from garbage collection until it is referenced. */
  lease?: string;
}

export interface WriteBlobResult {
  digest: string;
  /** False when containerd already had the blob (AlreadyExists counts as success). */
  written: boolean;
}

export function createContentService(transport: Transport, ctx: RpcContext) {
  const rpc = createRpcClient(contentPb.Content, transport, ctx);
  const leaseHeaders = (o?: { lease?: string; headers?: Record<string, string> }) =>
    o?.lease ? { ...o.headers, "containerd-lease": o.lease } : o?.headers;
  return {
    rpc,
    async info(digest: string, o?: RpcOptions): Promise<ContentInfo> {
      return (await rpc.info({ digest }, o)).info!;
    },
    async delete(digest: string, o?: RpcOptions): Promise<void> {
      await rpc.delete({ digest }, o);
    },
    async *read(digest: string, o?: RpcOptions & { offset?: number; size?: number }): AsyncGenerator<Uint8Array> {
      const req = { digest, offset: BigInt(o?.offset ?? 0), size: BigInt(o?.size ?? 0) };
      for await (const r of rpc.read(req, o)) yield r.data;
    },
    /**
     * Writes one blob with the Content/Write stream in lock step (containerd answers every
     * message): STAT (the reply's offset resumes an interrupted write), WRITE per chunk, COMMIT.
     * Bytes of `source` before the resume offset are skipped.
     */
    async writeBlob(
      ref: string,
      source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
      o: WriteBlobOptions,
    ): Promise<WriteBlobResult> {
      const total = BigInt(o.total);
      const requests = new AsyncQueue<WriteReq>();
      const headers = leaseHeaders(o);
      const responses = rpc.write(requests, {
        ...(o.signal ? { signal: o.signal } : {}),
        ...(headers ? { headers } : {}),
      })[Symbol.asyncIterator]();
      const exchange = async (req: WriteReq) => {
        requests.push(req);
        const r = await responses.next();
        if (r.done) throw errInvalidArgument(`content write ${ref}: stream ended early`);
        return r.value;
      };
      try {
        const stat = await exchange({ action: contentPb.WriteAction.STAT, ref, total, expected: o.expected });
        let offset = stat.offset;
        let skip = offset;
        for await (let chunk of source) {
          if (skip > 0n) {
            if (BigInt(chunk.length) <= skip) { skip -= BigInt(chunk.length); continue; }
            chunk = chunk.subarray(Number(skip));
            skip = 0n;
          }
          if (chunk.length === 0) continue;
          const w = await exchange({ action: contentPb.WriteAction.WRITE, ref, offset, data: chunk });
          offset = w.offset;
        }
        if (offset !== total) {
          throw errInvalidArgument(`content ${o.expected}: got ${offset} bytes, expected ${total}`);
        }
        const c = await exchange({
          action: contentPb.WriteAction.COMMIT, ref, offset, total, expected: o.expected, labels: o.labels ?? {},
        });
        return { digest: c.digest || o.expected, written: true };
      } catch (e) {
        if (isAlreadyExists(e)) return { digest: o.expected, written: false };
        throw e;
      } finally {
        requests.end();
        // Drain so the stream finishes and is counted as ended.
        void (async () => { try { while (!(await responses.next()).done); } catch { /* already reported */ } })();
      }
    },
    /** Abandons an unfinished write, releasing its ref. */
    async abort(ref: string, o?: RpcOptions): Promise<void> {
      await rpc.abort({ ref }, o);
    },
  };
}
export type ContentService = ReturnType<typeof createContentService>;
