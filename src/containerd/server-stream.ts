// Server-streaming calls (Events/Subscribe, Content/Read, Snapshots/List, Content/List,
// Containers/ListStream) framed by hand on the client's session, as unary calls are (unary.ts):
// one request message, then gRPC-framed responses until the status in the trailers. The
// iterator reads only as fast as its consumer: the HTTP/2 stream is paused while decoded
// messages wait, so a large Content/Read is not buffered whole.
import http2 from "node:http2";
import { create, fromBinary, toBinary, type DescMethodServerStreaming } from "@bufbuild/protobuf";
import { Code, GrpcError } from "./grpc-status.js";
import type { H2Session } from "./session.js";
import { abortedError, callHeaders, codeOfHttpStatus, deadlineOf, frame, grpcStatusOf, streamEndError } from "./unary.js";

export interface StreamCallOptions {
  signal?: AbortSignal | undefined;
  /** Deadline in ms for the whole stream; undefined or Infinity: none. */
  timeoutMs?: number | undefined;
  headers?: Record<string, string> | undefined;
}

export type StreamInvoker = (method: DescMethodServerStreaming, input: unknown, o: StreamCallOptions) => AsyncIterable<unknown>;

/** Messages queued before the HTTP/2 stream is paused. */
const HIGH_WATER = 16;

export function createStreamInvoker(sm: H2Session, namespace: string): StreamInvoker {
  return (method, input, o) => ({
    [Symbol.asyncIterator]: () => open(sm, namespace, method, input, o),
  });
}

function open(sm: H2Session, namespace: string, method: DescMethodServerStreaming, input: unknown, o: StreamCallOptions): AsyncIterator<unknown> {
  const path = `/${method.parent.typeName}/${method.name}`;
  const queue: unknown[] = [];
  let waiter: { resolve: (r: IteratorResult<unknown>) => void; reject: (e: Error) => void } | undefined;
  let ended = false;
  let failure: Error | undefined;
  let stream: http2.ClientHttp2Stream | undefined;
  let timer: NodeJS.Timeout | undefined;
  let status: { code: number; message: string } | undefined;
  let pending: Buffer = Buffer.alloc(0);

  const wake = () => {
    if (!waiter) return;
    const w = waiter;
    if (queue.length > 0) {
      waiter = undefined;
      w.resolve({ value: queue.shift(), done: false });
      if (queue.length < HIGH_WATER && stream?.isPaused()) stream.resume();
    } else if (failure) {
      waiter = undefined;
      w.reject(failure);
    } else if (ended) {
      waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
  };
  const finish = (e: Error | undefined) => {
    if (ended) return;
    ended = true;
    failure = e;
    if (timer) clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
    if (e && stream && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    wake();
  };
  const onAbort = () => finish(abortedError(o.signal!));

  if (o.signal?.aborted) onAbort();
  else {
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const timeout = deadlineOf(o.timeoutMs);
    if (timeout !== undefined) timer = setTimeout(() => finish(new GrpcError("the operation timed out", Code.DeadlineExceeded)), timeout);
    let body: Buffer | undefined;
    try {
      body = frame(toBinary(method.input, create(method.input, input as never)));
    } catch (e) {
      finish(new GrpcError(`${path}: cannot encode the request: ${(e as Error).message}`, Code.InvalidArgument, e));
    }
    if (body) {
      sm.request(callHeaders(path, namespace, timeout, o.headers)).then((s) => {
        stream = s;
        if (ended) {
          s.on("error", () => { /* the call is over */ });
          s.close(http2.constants.NGHTTP2_CANCEL);
          return;
        }
        s.on("response", (h) => {
          const st = Number(h[":status"]);
          if (st !== 200) { finish(new GrpcError(`HTTP ${st} from containerd`, codeOfHttpStatus(st))); return; }
          status = grpcStatusOf(h);
        });
        s.on("trailers", (h) => { status = grpcStatusOf(h) ?? status; });
        s.on("data", (chunk: Buffer) => {
          pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
          while (pending.length >= 5) {
            const len = pending.readUInt32BE(1);
            if (pending.length < 5 + len) break;
            if (pending[0] !== 0) { finish(new GrpcError(`${path}: a compressed message was not asked for`, Code.Internal)); return; }
            try {
              queue.push(fromBinary(method.output, pending.subarray(5, 5 + len)));
            } catch (e) {
              finish(new GrpcError(`${path}: undecodable response: ${(e as Error).message}`, Code.Internal, e));
              return;
            }
            pending = pending.subarray(5 + len);
          }
          if (queue.length >= HIGH_WATER) s.pause();
          wake();
        });
        s.on("error", (e: Error) => { if (!status) finish(streamEndError(s.rstCode, e)); });
        s.on("close", () => {
          if (!status) finish(streamEndError(s.rstCode));
          else if (status.code !== 0) finish(new GrpcError(status.message, status.code as Code));
          else if (pending.length > 0) finish(new GrpcError(`${path}: the stream ended inside a message`, Code.Internal));
          else finish(undefined);
        });
        s.end(body);
      }, (e: unknown) => {
        finish(e instanceof GrpcError ? e : new GrpcError((e as Error).message, Code.Internal, e));
      });
    }
  }

  return {
    next: () => new Promise<IteratorResult<unknown>>((resolve, reject) => {
      waiter = { resolve, reject };
      wake();
    }),
    async return(value?: unknown) {
      queue.length = 0;
      if (!ended) finish(undefined);
      if (stream && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      return { done: true as const, value };
    },
  };
}
