/**
 * A push-driven AsyncIterable: what a bidi stream's request side needs when each request
 * depends on the previous response (Content/Write in lock step).
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #waiter: ((r: IteratorResult<T>) => void) | undefined;
  #ended = false;

  push(item: T): void {
    if (this.#ended) throw new Error("AsyncQueue: push after end");
    const w = this.#waiter;
    if (w) { this.#waiter = undefined; w({ value: item, done: false }); }
    else this.#items.push(item);
  }

  end(): void {
    this.#ended = true;
    const w = this.#waiter;
    if (w) { this.#waiter = undefined; w({ value: undefined, done: true }); }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => { this.#waiter = resolve; });
      },
    };
  }
}
