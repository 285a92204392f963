/**
 * A FIFO async mutex: one writer per container (ARCHITECTURE.md). `run` holds it for the
 * duration of `fn`; callers that must wait for something the monitor does (an exit) release it
 * first, or they would deadlock against the monitor taking the same lock.
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
