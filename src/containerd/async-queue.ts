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

  // connect-node drives a request stream with next(), and ends it with throw() or return()
  // when the call fails or completes: both must exist.
  [Symbol.asyncIterator](): AsyncIterator<T> {
    const finish = (): Promise<IteratorResult<T>> => {
      this.#items.length = 0;
      this.end();
      return Promise.resolve({ value: undefined, done: true });
    };
    return {
      next: () => {
        if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => { this.#waiter = resolve; });
      },
      return: finish,
      throw: finish,
    };
  }
}
