/**
 * The one lock of berth: FIFO, async, with `run(fn)` holding it for the duration of `fn` (a
 * failing `fn` releases it too). `Mutex` guards one thing (a container's record: one writer per
 * container, ARCHITECTURE.md); `KeyedLock` keeps one `Mutex`-like queue per key and forgets a
 * key when its queue drains (a volume's name; the events of one container, in order, while
 * containers do not wait for each other).
 *
 * Callers that must wait for something another holder does (an exit the monitor records) release
 * the lock first, or they would deadlock against it.
 */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();
  #held = false;

  get held(): boolean {
    return this.#held;
  }

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const prev = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((r) => (release = r));
    await prev;
    this.#held = true;
    try {
      return await fn();
    } finally {
      this.#held = false;
      release();
    }
  }
}

export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();
  #depth = 0;
  #idleWaiters: (() => void)[] = [];

  /** Jobs queued or running, over all keys. */
  get depth(): number {
    return this.#depth;
  }

  /** Runs `fn` once every earlier job of `key` has ended. */
  run<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    this.#depth++;
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn);
    const tail: Promise<void> = result.then(
      () => {},
      () => {},
    ).finally(() => {
      this.#depth--;
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
      if (this.#depth === 0) for (const w of this.#idleWaiters.splice(0)) w();
    });
    this.#tails.set(key, tail);
    return result;
  }

  /** Resolves when no job of any key is queued or running. */
  idle(): Promise<void> {
    if (this.#depth === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }
}
