import type { DescMethod, DescMethodUnary, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createClient,
  makeAnyClient,
  type CallOptions,
  type Client,
  type Transport,
} from "@connectrpc/connect";
import { fromRpcError } from "./rpc-errors.js";
import type { RpcCounter } from "./rpc-counter.js";
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
  /** Makes every unary call (unary.ts); streams go through connect. */
  unary: UnaryInvoker;
}

/** A connect client of `S` whose calls are counted, carry a deadline and throw BerthErrors. */
export type RpcClient<S extends DescService> = Client<S>;

/** Options of a streaming call through connect: a deadline only when the caller sets one. */
function toCallOptions(o: RpcOptions | undefined): CallOptions {
  const timeout = o?.timeoutMs;
  return {
    ...(o?.signal ? { signal: o.signal } : {}),
    ...(timeout !== undefined && Number.isFinite(timeout) ? { timeoutMs: timeout } : {}),
    ...(o?.headers ? { headers: o.headers } : {}),
  };
}

function outcomeOf(e: unknown): string {
  return Code[ConnectError.from(e).code] ?? "Unknown";
}

/**
 * Wraps a generated service into a client whose every method is counted by "Service/Method"
 * and outcome, and whose errors are BerthErrors (the one gRPC → kind translation). Streaming
 * calls are counted when started and finished when their stream ends.
 */
export function createRpcClient<S extends DescService>(
  service: S,
  transport: Transport,
  ctx: RpcContext,
): RpcClient<S> {
  const raw = createClient(service, transport) as unknown as Record<string, (...a: unknown[]) => unknown>;
  return makeAnyClient(service, (method: DescMethod) => {
    const rpc = `${service.name}/${method.name}`;
    const rawFn = raw[method.localName]!;
    if (method.methodKind === "unary" || method.methodKind === "client_streaming") {
      // A client stream takes as long as its caller feeds it: no default deadline.
      const unary = method.methodKind === "unary" ? (method as DescMethodUnary) : undefined;
      const call = unary
        ? (input: unknown, o?: RpcOptions) => ctx.unary(unary, input, { signal: o?.signal, timeoutMs: o?.timeoutMs ?? ctx.defaultTimeoutMs, headers: o?.headers })
        : (input: unknown, o?: RpcOptions) => rawFn(input, toCallOptions(o));
      return async (input: unknown, options?: RpcOptions) => {
        ctx.assertOpen(rpc);
        const t0 = performance.now();
        ctx.counter.start(rpc);
        try {
          const res = await call(input, options);
          ctx.counter.finish({ rpc, outcome: "OK", durationMs: performance.now() - t0 });
          return res;
        } catch (e) {
          const err = fromRpcError(e, rpc);
          ctx.counter.finish({ rpc, outcome: outcomeOf(e), durationMs: performance.now() - t0, error: err });
          throw err;
        }
      };
    }
    // server_streaming and bidi_streaming: an AsyncIterable of responses.
    return (input: unknown, options?: RpcOptions) => {
      ctx.assertOpen(rpc);
      const t0 = performance.now();
      ctx.counter.start(rpc);
      const stream = rawFn(input, toCallOptions(options)) as AsyncIterable<unknown>;
      let finished = false;
      const finish = (outcome: string, error?: Error) => {
        if (finished) return;
        finished = true;
        ctx.counter.finish({ rpc, outcome, durationMs: performance.now() - t0, ...(error ? { error } : {}) });
      };
      return {
        [Symbol.asyncIterator]() {
          const it = stream[Symbol.asyncIterator]();
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
      };
    };
  }) as unknown as RpcClient<S>;
}
