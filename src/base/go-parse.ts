/**
 * Go's parsers, where dockerd's answers depend on them: the same inputs accepted, the same
 * values. One copy for every layer (options of the engine, volume filters, log options).
 */
import { posix } from "node:path";

/** Go's `strconv.Atoi` domain: optional sign, decimal digits. undefined when not a number. */
export function atoi(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Go's `strconv.ParseBool`: undefined when `s` is none of its spellings. */
export function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

/** Go's `path.Clean` for absolute and relative POSIX paths ("" → "."). */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** Go's `%q` for the strings dockerd quotes in its messages. */
export const goQuote = (s: string): string => JSON.stringify(s);

/**
 * Go's `net.ParseMAC` for the 48-bit (Ethernet) forms — "02:42:ac:11:00:02", "02-42-ac-11-00-02",
 * "0242.ac11.0002", either case — as lowercase colon-separated hex. undefined for anything else,
 * including the 64-bit and InfiniBand lengths Go would parse, which no veth can carry.
 */
export function parseMac(s: string): string | undefined {
  let hex: string | undefined;
  if (/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(s)) hex = s.replace(/[:-]/g, "");
  else if (/^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$/.test(s)) hex = s.replace(/\./g, "");
  return hex?.toLowerCase().match(/../g)!.join(":");
}
