import type { H2Session } from "../session.js";
import { contentPb } from "../proto.js";
import { createRpcClient, type RpcContext, type RpcOptions } from "../rpc.js";
import { openContentWriter, type ContentWriter, type ContentWriterOptions } from "./content-writer.js";

export type ContentInfo = contentPb.Info;

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

export function createContentService(ctx: RpcContext, raw: { sessionManager: H2Session; namespace: string }) {
  const rpc = createRpcClient(contentPb.Content, ctx);
  const writerDeps = { ...raw, ctx, abortRef: (ref: string) => rpc.abort({ ref }).then(() => {}) };
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
     * A Content/Write stream (content-writer.ts): STAT on open (the reply's offset resumes an
     * interrupted write; a known digest already stored ends it), WRITEs pipelined, COMMIT.
     */
    openWriter(o: ContentWriterOptions): Promise<ContentWriter> {
      return openContentWriter(writerDeps, o);
    },
    /**
     * Writes one blob from `source` (bytes before the resume offset are skipped) and commits it;
     * AlreadyExists, at open or at commit, is success with `written` false.
     */
    async writeBlob(
      ref: string,
      source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
      o: WriteBlobOptions,
    ): Promise<WriteBlobResult> {
      const w = await this.openWriter({ ref, total: o.total, expected: o.expected, ...(o.lease ? { lease: o.lease } : {}), ...(o.signal ? { signal: o.signal } : {}) });
      if (w.exists) return { digest: o.expected, written: false };
      try {
        let skip = w.offset;
        for await (let chunk of source) {
          if (skip > 0) {
            if (chunk.length <= skip) { skip -= chunk.length; continue; }
            chunk = chunk.subarray(skip);
            skip = 0;
          }
          await w.write(chunk);
        }
        const r = await w.commit(o.expected, o.labels ?? {});
        return { digest: o.expected, written: r.written };
      } catch (e) {
        await w.close().catch(() => {});
        throw e;
      }
    },
    /** Abandons an unfinished write, releasing its ref. */
    async abort(ref: string, o?: RpcOptions): Promise<void> {
      await rpc.abort({ ref }, o);
    },
  };
}
export type ContentService = ReturnType<typeof createContentService>;
