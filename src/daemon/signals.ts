import { constants } from "node:os";
import { errInvalidArgument } from "../base/errors.js";

const byName = constants.signals as Readonly<Record<string, number>>;

/**
 * A signal as docker accepts it: "SIGHUP", "HUP", "hup", "1", or "SIGRTMIN+3". An unknown one
 * is invalid-argument (docker: "Invalid signal: X").
 */
export function parseSignal(raw: string | number): number {
  if (typeof raw === "number") {
    if (Number.isInteger(raw) && raw > 0 && raw <= 64) return raw;
    throw errInvalidArgument(`Invalid signal: ${raw}`);
  }
  const s = raw.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n > 0 && n <= 64) return n;
    throw errInvalidArgument(`Invalid signal: ${raw}`);
  }
  const name = s.toUpperCase().startsWith("SIG") ? s.toUpperCase() : "SIG" + s.toUpperCase();
  const rt = /^SIGRTM(IN|AX)([+-]\d+)?$/.exec(name);
  if (rt) {
    const base = rt[1] === "IN" ? 34 : 64;
    const n = base + Number(rt[2] ?? 0);
    if (n >= 34 && n <= 64) return n;
    throw errInvalidArgument(`Invalid signal: ${raw}`);
  }
  const n = byName[name];
  if (n === undefined) throw errInvalidArgument(`Invalid signal: ${raw}`);
  return n;
}

export function signalName(n: number): string {
  for (const [name, v] of Object.entries(byName)) if (v === n) return name;
  return String(n);
}

export const SIGKILL = 9;
export const SIGTERM = 15;
