// undici (the registry client's HTTP), loaded by the first registry call rather than with berthd.
// undici is CommonJS: through a dynamic import its exports are those of `default` when berthd is
// bundled (esbuild), and both named and `default` under Node's own loader; `default` works in both.
type Undici = typeof import("undici");

let loading: Promise<Undici> | undefined;

export function loadUndici(): Promise<Undici> {
  return (loading ??= import("undici").then((m) => ((m as { default?: Undici }).default ?? m) as Undici));
}
