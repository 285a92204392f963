import diagnosticsChannel from "node:diagnostics_channel";

/** Published when a containerd call starts: `{ rpc }`. */
export const rpcStartChannel = diagnosticsChannel.channel("berth:containerd:rpc:start");
/** Published when a containerd call ends: `{ rpc, outcome, durationMs, error? }`. */
export const rpcFinishChannel = diagnosticsChannel.channel("berth:containerd:rpc:finish");

export interface RpcFinish {
  /** "Service/Method", e.g. "Tasks/Create". */
  rpc: string;
  /** gRPC status name of the outcome: "OK", "NotFound", "Unavailable", ... */
  outcome: string;
  durationMs: number;
  error?: Error;
}

/** Counts per "Service/Method": started, and handled by outcome. */
export interface RpcSnapshot {
  readonly started: Readonly<Record<string, number>>;
  readonly handled: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/**
 * Every containerd call berth makes is counted here, the same figure containerd's own
 * `grpc_server_started_total` counts, so a test can assert "this operation made exactly these
 * calls" (rpc-floor.md) and compare with the server's view.
 */
export class RpcCounter {
  readonly #started = new Map<string, number>();
  readonly #handled = new Map<string, Map<string, number>>();
  readonly #listeners = new Set<(f: RpcFinish) => void>();

  start(rpc: string): void {
    this.#started.set(rpc, (this.#started.get(rpc) ?? 0) + 1);
    if (rpcStartChannel.hasSubscribers) rpcStartChannel.publish({ rpc });
  }

  finish(f: RpcFinish): void {
    let byOutcome = this.#handled.get(f.rpc);
    if (!byOutcome) this.#handled.set(f.rpc, (byOutcome = new Map()));
    byOutcome.set(f.outcome, (byOutcome.get(f.outcome) ?? 0) + 1);
    if (rpcFinishChannel.hasSubscribers) rpcFinishChannel.publish(f);
    for (const l of this.#listeners) l(f);
  }

  /** Listen to every finished call (metrics); returns the unsubscribe function. */
  onFinish(listener: (f: RpcFinish) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(): RpcSnapshot {
    const handled: Record<string, Record<string, number>> = {};
    for (const [rpc, m] of this.#handled) handled[rpc] = Object.fromEntries(m);
    return { started: Object.fromEntries(this.#started), handled };
  }

  /** Calls started since `before`, as `{ "Tasks/Create": 1, ... }` with zero entries left out. */
  since(before: RpcSnapshot): Record<string, number> {
    return diffStarted(before, this.snapshot());
  }

  /** Runs `fn` and returns its result with the calls it started (and anything concurrent). */
  async measure<T>(fn: () => Promise<T>): Promise<{ result: T; calls: Record<string, number> }> {
    const before = this.snapshot();
    const result = await fn();
    return { result, calls: this.since(before) };
  }
}

export function diffStarted(before: RpcSnapshot, after: RpcSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [rpc, n] of Object.entries(after.started)) {
    const d = n - (before.started[rpc] ?? 0);
    if (d !== 0) out[rpc] = d;
  }
  return sortKeys(out);
}

export function totalCalls(calls: Record<string, number>): number {
  return Object.values(calls).reduce((a, b) => a + b, 0);
}

function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
