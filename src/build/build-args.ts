// Build arguments as the classic builder scopes them (moby builder/dockerfile/buildargs.go):
// the request's values, the ARGs before the first FROM (only FROM sees them, unless a stage
// declares them again), the ARGs a stage declares, and the predefined proxy arguments that
// need no declaration but stay out of history unless declared.
export const BUILTIN_ARGS = new Set([
  "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
]);

export class BuildArgs {
  /** What the request passed; null: declared on the command line without a value. */
  readonly #given: ReadonlyMap<string, string | null>;
  readonly #meta = new Map<string, string | undefined>();
  #allowed = new Map<string, string | undefined>();
  readonly #referenced = new Set<string>();

  constructor(given: Record<string, string | null>) {
    this.#given = new Map(Object.entries(given));
  }

  /** Starts a stage: declarations are per stage; meta args stay. */
  resetStage(): void { this.#allowed = new Map(); }

  addMetaArg(name: string, value: string | undefined): void {
    this.#meta.set(name, value);
    this.#referenced.add(name);
  }

  /** ARG in a stage; without a default, a meta arg of the same name gives it. */
  addArg(name: string, value: string | undefined): void {
    this.#allowed.set(name, value === undefined && this.#meta.has(name) ? this.#meta.get(name) : value);
    this.#referenced.add(name);
  }

  #value(name: string, fallback: string | undefined): string | undefined {
    const g = this.#given.get(name);
    return g !== undefined && g !== null ? g : fallback;
  }

  /** `k=v` for FROM: meta args only. */
  metaEnv(): string[] {
    const out: string[] = [];
    for (const [k, d] of this.#meta) {
      const v = this.#value(k, d);
      if (v !== undefined) out.push(`${k}=${v}`);
    }
    return out;
  }

  /** `k=v` of the declared args (and given builtins) whose names `env` does not set. */
  filterAllowed(env: readonly string[]): string[] {
    const set = new Set(env.map((e) => e.split("=")[0]));
    const out: string[] = [];
    const add = (k: string, v: string | undefined) => { if (v !== undefined && !set.has(k)) out.push(`${k}=${v}`); };
    for (const [k, d] of this.#allowed) add(k, this.#value(k, d));
    for (const k of BUILTIN_ARGS) {
      if (this.#allowed.has(k)) continue;
      const g = this.#given.get(k);
      if (g !== undefined && g !== null) add(k, g);
    }
    return out;
  }

  /** Builtins appear in RUN's history only when the Dockerfile declares them. */
  isReferencedOrNotBuiltin(name: string): boolean {
    return !BUILTIN_ARGS.has(name) || this.#referenced.has(name);
  }

  /** Given args no ARG declared, sorted: dockerd's "[Warning] ... were not consumed". */
  unused(): string[] {
    return [...this.#given.keys()].filter((k) => !this.#referenced.has(k) && !BUILTIN_ARGS.has(k)).sort();
  }
}
