import type { EngineEvent, EventQuery } from "./types.js";

/** Nanoseconds since the epoch, increasing within this process even when the clock steps back. */
let lastNs = 0n;
export function nowNano(now: () => Date = () => new Date()): bigint {
  const ms = BigInt(now().getTime()) * 1_000_000n;
  const sub = process.hrtime.bigint() % 1_000_000n;
  let t = ms + sub;
  if (t <= lastNs) t = lastNs + 1n;
  lastNs = t;
  return t;
}

/**
 * Engine events for /events: a ring of the recent past (for `since`) and live subscribers.
 * Publishing never blocks: a subscriber that does not keep up buffers (bounded, oldest dropped).
 */
export class EventBus {
  readonly #ring: EngineEvent[] = [];
  readonly #capacity: number;
  readonly #subscribers = new Set<(e: EngineEvent) => void>();

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  publish(e: Omit<EngineEvent, "timeNano"> & { timeNano?: bigint }): EngineEvent {
    const ev: EngineEvent = { ...e, timeNano: e.timeNano ?? nowNano() };
    this.#ring.push(ev);
    if (this.#ring.length > this.#capacity) this.#ring.shift();
    for (const s of this.#subscribers) s(ev);
    return ev;
  }

  get recent(): readonly EngineEvent[] {
    return this.#ring;
  }

  async *subscribe(q: EventQuery): AsyncGenerator<EngineEvent> {
    const match = (e: EngineEvent) =>
      (q.since === undefined || e.timeNano >= q.since) && (q.until === undefined || e.timeNano <= q.until) && (!q.filter || q.filter(e));
    const queue: EngineEvent[] = [];
    let wake: (() => void) | undefined;
    const live = (e: EngineEvent) => {
      if (!match(e)) return;
      queue.push(e);
      if (queue.length > 10_000) queue.shift();
      wake?.();
    };
    // Subscribe before replaying, so nothing published in between is missed; de-dup by identity.
    this.#subscribers.add(live);
    const aborted = new Promise<void>((r) => {
      if (q.signal?.aborted) r();
      q.signal?.addEventListener("abort", () => { r(); wake?.(); }, { once: true });
    });
    try {
      const replay = q.since !== undefined ? this.#ring.filter(match) : [];
      const replayed = new Set(replay);
      for (const e of replay) yield e;
      for (;;) {
        if (q.signal?.aborted) return;
        if (q.until !== undefined && nowNano() > q.until && queue.length === 0) return;
        const e = queue.shift();
        if (e) {
          if (!replayed.has(e)) yield e;
          continue;
        }
        const untilMs = q.until !== undefined ? Number((q.until - nowNano()) / 1_000_000n) : undefined;
        await Promise.race([
          new Promise<void>((r) => (wake = r)),
          aborted,
          ...(untilMs !== undefined ? [new Promise<void>((r) => setTimeout(r, Math.max(0, untilMs) + 1))] : []),
        ]);
        wake = undefined;
      }
    } finally {
      this.#subscribers.delete(live);
    }
  }
}
