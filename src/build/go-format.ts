// Go's formatting the classic builder's history lines are made of: durations
// (time.Duration.String / ParseDuration) and %q of strings, string slices and ints
// (`HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "0s" "0s" '\x00'}`, `CMD ["sh" "-c" "x"]`).
import { errInvalidArgument } from "../base/errors.js";

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, "μs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** time.ParseDuration: "1h2m3.5s", "100ms", "0". */
export function parseDurationNs(s: string): number {
  const orig = s;
  let neg = false;
  if (s.startsWith("-") || s.startsWith("+")) { neg = s[0] === "-"; s = s.slice(1); }
  if (s === "0") return 0;
  if (s === "") throw errInvalidArgument(`time: invalid duration "${orig}"`);
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) throw errInvalidArgument(`time: invalid duration "${orig}"`);
    total += Number(m[1]) * UNIT_NS[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return Math.round(neg ? -total : total);
}

function fracString(v: number, digits: number): string {
  // v in units of 10^-digits; prints "int.frac" with trailing zeros removed.
  const intPart = Math.floor(v / 10 ** digits);
  let frac = String(v % 10 ** digits).padStart(digits, "0").replace(/0+$/, "");
  return frac ? `${intPart}.${frac}` : String(intPart);
}

/** time.Duration.String. */
export function durationString(ns: number): string {
  if (ns === 0) return "0s";
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1e9) {
    if (u < 1e3) out = `${u}ns`;
    else if (u < 1e6) out = `${fracString(u, 3)}µs`;
    else out = `${fracString(u, 6)}ms`;
  } else {
    const h = Math.floor(u / 3600e9); u -= h * 3600e9;
    const m = Math.floor(u / 60e9); u -= m * 60e9;
    const s = fracString(u, 9) + "s";
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

const SHORT_ESCAPES: Record<number, string> = { 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r" };

function escapeRune(cp: number, quote: string): string {
  if (cp === 0x5c) return "\\\\";
  if (String.fromCodePoint(cp) === quote) return `\\${quote}`;
  if (SHORT_ESCAPES[cp]) return SHORT_ESCAPES[cp]!;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, "0")}`;
  return String.fromCodePoint(cp);
}

/** strconv.Quote (printable Unicode kept as is). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch.codePointAt(0)!, '"');
  return out + '"';
}

/** %q of a []string: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(" ")}]`;
}

/** %q of an int: the rune it is, quoted (`'\x03'`). */
export function goQuoteRune(n: number): string {
  return `'${escapeRune(n, "'")}'`;
}
