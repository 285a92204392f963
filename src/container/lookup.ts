import { errAlreadyExists, errInvalidArgument, errNotFound } from "./errors.js";
import type { NameRegistry } from "./names.js";

/**
 * Containers by ID, resolvable the way every `docker <cmd> <container>` argument is: full ID,
 * then exact name, then unique ID prefix (moby daemon.GetContainer).
 */
export interface ContainerIndex<V> {
  /** Throws already-exists if the ID is taken. */
  add(id: string, value: V): void;
  delete(id: string): boolean;
  /** By full ID only. */
  get(id: string): V | undefined;
  /**
   * By full ID, name (with or without leading slash) or unique ID prefix. Throws not-found
   * "No such container: <ref>", or invalid-argument for an empty reference or a prefix that
   * matches several containers.
   */
  resolve(ref: string): { readonly id: string; readonly value: V };
  values(): IterableIterator<V>;
  readonly size: number;
}

export function createContainerIndex<V>(names: NameRegistry): ContainerIndex<V> {
  return new Index<V>(names);
}

const HEX = /^[0-9a-f]+$/;

class Index<V> implements ContainerIndex<V> {
  readonly #names: NameRegistry;
  readonly #byId = new Map<string, V>();

  constructor(names: NameRegistry) {
    this.#names = names;
  }

  get size(): number {
    return this.#byId.size;
  }

  add(id: string, value: V): void {
    if (this.#byId.has(id)) throw errAlreadyExists(`container ID ${id} already exists`);
    this.#byId.set(id, value);
  }

  delete(id: string): boolean {
    return this.#byId.delete(id);
  }

  get(id: string): V | undefined {
    return this.#byId.get(id);
  }

  values(): IterableIterator<V> {
    return this.#byId.values();
  }

  resolve(ref: string): { readonly id: string; readonly value: V } {
    if (ref === "") throw errInvalidArgument("invalid container reference: empty string");
    const exact = this.#byId.get(ref);
    if (exact !== undefined) return { id: ref, value: exact };

    const byName = this.#names.get(ref);
    const named = byName === undefined ? undefined : this.#byId.get(byName);
    if (byName !== undefined && named !== undefined) return { id: byName, value: named };

    // A name can never be mistaken for a prefix past this point: names were tried first, and
    // IDs are lowercase hex only.
    if (HEX.test(ref)) {
      let found: string | undefined;
      for (const id of this.#byId.keys()) {
        if (!id.startsWith(ref)) continue;
        if (found !== undefined) throw errInvalidArgument(`multiple IDs found with provided prefix: ${ref}`);
        found = id;
      }
      if (found !== undefined) return { id: found, value: this.#byId.get(found)! };
    }
    throw errNotFound(`No such container: ${ref}`);
  }
}
