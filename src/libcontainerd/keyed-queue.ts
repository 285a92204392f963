/**
 * Runs jobs one at a time per key, in push order, and concurrently across keys: events of one
 * container are processed in order while containers do not wait for each other.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();
  #depth = 0;
  #idleWaiters: (() => void)[] = [];

  get depth(): number {
    return this.#depth;
  }

  /** `job` must not throw (errors are the caller's to report inside it). */
  push(key: string, job: () => Promise<void>): void {
    this.#depth++;
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const next = prev.then(job).finally(() => {
      this.#depth--;
      if (this.#tails.get(key) === next) this.#tails.delete(key);
      if (this.#depth === 0) for (const w of this.#idleWaiters.splice(0)) w();
    });
    this.#tails.set(key, next);
  }

  idle(): Promise<void> {
    if (this.#depth === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }
}
