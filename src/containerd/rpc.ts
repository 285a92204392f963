import type {
  DescMessage,
  DescMethodServerStreaming,
  DescMethodUnary,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { GrpcError, Code } from "./grpc-status.js";
import { fromRpcError } from "./rpc-errors.js";
import type { RpcCounter } from "./rpc-counter.js";
import type { StreamInvoker } from "./server-stream.js";
import type { UnaryInvoker } from "./unary.js";

/** Options every call takes: cancellation, a deadline, extra headers (e.g. `containerd-lease`). */
export interface RpcOptions {
  signal?: AbortSignal;
  /**
   * Deadline in ms. Unary calls default to the client's `timeoutMs`; streams have none by
   * default. `Infinity` removes the deadline (long polls such as Tasks/Wait).
   */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export interface RpcContext {
  counter: RpcCounter;
  defaultTimeoutMs: number;
  /** Checked before every call: a closed client fails clearly instead of reconnecting. */
  assertOpen(rpc: string): void;
  /** Makes every unary call (unary.ts). */
  unary: UnaryInvoker;
  /** Makes every server-streaming call (server-stream.ts). */
  stream: StreamInvoker;
}

type MethodFn<M> =
  M extends DescMethodUnary<infer I extends DescMessage, infer O extends DescMessage>
    ? (request: MessageInitShape<I>, options?: RpcOptions) => Promise<MessageShape<O>>
    : M extends DescMethodServerStreaming<infer I extends DescMessage, infer O extends DescMessage>
      ? (request: MessageInitShape<I>, options?: RpcOptions) => AsyncIterable<MessageShape<O>>
      : never; // client and bidi streams: Content/Write is framed by services/content-writer.ts

/** A client of `S` whose calls are counted, carry a deadline and throw BerthErrors. */
export type RpcClient<S extends DescService> = { [K in keyof S["method"]]: MethodFn<S["method"][K]> };

function outcomeOf(e: unknown): string {
  return Code[GrpcError.from(e).code] ?? "Unknown";
}

/**
 * Wraps a generated service into a client whose every method is counted by "Service/Method"
 * and outcome, and whose errors are BerthErrors (the one gRPC → kind translation). Streaming
 * calls are counted when started and finished when their stream ends.
 */
export function createRpcClient<S extends DescService>(service: S, ctx: RpcContext): RpcClient<S> {
  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    const rpc = `${service.name}/${method.name}`;
    if (method.methodKind === "unary") {
      const unary = method as DescMethodUnary;
      client[method.localName] = async (input: unknown, o?: RpcOptions) => {
        ctx.assertOpen(rpc);
        const t0 = performance.now();
        ctx.counter.start(rpc);
        try {
          const res = await ctx.unary(unary, input, { signal: o?.signal, timeoutMs: o?.timeoutMs ?? ctx.defaultTimeoutMs, headers: o?.headers });
          ctx.counter.finish({ rpc, outcome: "OK", durationMs: performance.now() - t0 });
          return res;
        } catch (e) {
          const err = fromRpcError(e, rpc);
          ctx.counter.finish({ rpc, outcome: outcomeOf(e), durationMs: performance.now() - t0, error: err });
          throw err;
        }
      };
    } else if (method.methodKind === "server_streaming") {
      const streaming = method as DescMethodServerStreaming;
      client[method.localName] = (input: unknown, o?: RpcOptions) => ({
        [Symbol.asyncIterator]() {
          ctx.assertOpen(rpc);
          const t0 = performance.now();
          ctx.counter.start(rpc);
          const it = ctx.stream(streaming, input, { signal: o?.signal, timeoutMs: o?.timeoutMs, headers: o?.headers })[Symbol.asyncIterator]();
          let finished = false;
          const finish = (outcome: string, error?: Error) => {
            if (finished) return;
            finished = true;
            ctx.counter.finish({ rpc, outcome, durationMs: performance.now() - t0, ...(error ? { error } : {}) });
          };
          return {
            async next() {
              try {
                const r = await it.next();
                if (r.done) finish("OK");
                return r;
              } catch (e) {
                const err = fromRpcError(e, rpc);
                finish(outcomeOf(e), err);
                throw err;
              }
            },
            async return(value?: unknown) {
              finish("Canceled");
              await it.return?.(value);
              return { done: true as const, value };
            },
          };
        },
      });
    } else {
      client[method.localName] = () => {
        throw fromRpcError(new GrpcError(`${rpc}: ${method.methodKind} calls are not made through the generic client`, Code.Unimplemented), rpc);
      };
    }
  }
  return client as RpcClient<S>;
}
