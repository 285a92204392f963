// A Map that keeps at most `capacity` entries, dropping the least recently used: for caches
// whose keys come from history (every image digest ever read) and must not grow with it.
export class LruMap<K, V> {
  readonly #m = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LruMap capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.#m.size;
  }

  get(key: K): V | undefined {
    const v = this.#m.get(key);
    if (v !== undefined) {
      // Most recently used last (a Map iterates in insertion order).
      this.#m.delete(key);
      this.#m.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): this {
    this.#m.delete(key);
    this.#m.set(key, value);
    if (this.#m.size > this.capacity) this.#m.delete(this.#m.keys().next().value as K);
    return this;
  }

  delete(key: K): boolean {
    return this.#m.delete(key);
  }
}
