// The `filters` query parameter: JSON mapping each key to a set of values. Two encodings exist and
// both are accepted: the current one, {"status": {"running": true}}, and the older list form,
// {"status": ["running"]} (moby's filters.FromJSON falls back to it). Matching helpers follow
// moby's semantics (exact, prefix "fuzzy", regexp, key=value label lists).
import { errInvalidArgument } from "../base/errors.js";

const invalidFilter = (key?: string, values?: string[]) =>
  errInvalidArgument(
    key === undefined ? "invalid filter" : values === undefined ? `invalid filter '${key}'` : `invalid filter '${key}=${values.join(",")}'`,
  );

export class Filters {
  readonly #fields: Map<string, Set<string>>;

  constructor(fields: Map<string, Set<string>> = new Map()) {
    this.#fields = fields;
  }

  keys(): string[] {
    return [...this.#fields.keys()];
  }

  has(key: string): boolean {
    return this.#fields.has(key);
  }

  get(key: string): string[] {
    return [...(this.#fields.get(key) ?? [])];
  }

  get size(): number {
    return this.#fields.size;
  }

  /** Rejects keys outside `accepted` with dockerd's "invalid filter 'key'". */
  validate(accepted: readonly string[]): void {
    for (const k of this.#fields.keys()) if (!accepted.includes(k)) throw invalidFilter(k);
  }

  /** True when the key is absent or one of its values equals `source`. */
  exactMatch(key: string, source: string): boolean {
    const values = this.#fields.get(key);
    if (!values || values.size === 0) return true;
    return values.has(source);
  }

  /** Exact match, or `source` starts with one of the values (IDs by prefix). */
  fuzzyMatch(key: string, source: string): boolean {
    if (this.exactMatch(key, source)) return true;
    for (const v of this.#fields.get(key) ?? []) if (source.startsWith(v)) return true;
    return false;
  }

  /** Exact match, or one of the values as a regular expression matches `source` (names, IDs). */
  regexMatch(key: string, source: string): boolean {
    if (this.exactMatch(key, source)) return true;
    for (const v of this.#fields.get(key) ?? []) {
      try {
        if (new RegExp(v).test(source)) return true;
      } catch {
        // moby skips a value that is not a valid expression
      }
    }
    return false;
  }

  /** Every "k" or "k=v" value of `key` is present in `labels` (true when the key is absent). */
  matchKeyValues(key: string, labels: Record<string, string> | undefined): boolean {
    const values = this.#fields.get(key);
    if (!values || values.size === 0) return true;
    const src = labels ?? {};
    if (Object.keys(src).length === 0) return false;
    for (const v of values) {
      const eq = v.indexOf("=");
      const k = eq < 0 ? v : v.slice(0, eq);
      if (!Object.prototype.hasOwnProperty.call(src, k)) return false;
      if (eq >= 0 && src[k] !== v.slice(eq + 1)) return false;
    }
    return true;
  }

  /** A boolean filter ("dangling=true"): undefined when absent; conflicting values are invalid. */
  getBool(key: string): boolean | undefined {
    const values = this.#fields.get(key);
    if (!values) return undefined;
    const isTrue = values.has("1") || values.has("true");
    const isFalse = values.has("0") || values.has("false");
    if (isTrue === isFalse) throw invalidFilter(key, [...values]);
    return isTrue;
  }
}

/** Parses the `filters` parameter; an empty or absent one is no filter. */
export function parseFilters(raw: string | null | undefined): Filters {
  const fields = new Map<string, Set<string>>();
  if (raw === null || raw === undefined || raw === "") return new Filters(fields);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalidFilter();
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw invalidFilter();
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const set = new Set<string>();
    if (Array.isArray(value)) {
      // The older list form: {"status": ["running", "exited"]}.
      for (const v of value) {
        if (typeof v !== "string") throw invalidFilter();
        set.add(v);
      }
    } else if (typeof value === "object" && value !== null) {
      // The current form: {"status": {"running": true}}. A value mapped to false is not selected.
      for (const [v, on] of Object.entries(value as Record<string, unknown>)) {
        if (typeof on !== "boolean") throw invalidFilter();
        if (on) set.add(v);
      }
    } else if (value !== null) {
      throw invalidFilter();
    }
    fields.set(key, set);
  }
  return new Filters(fields);
}
