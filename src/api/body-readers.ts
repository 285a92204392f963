// Readers of a JSON request body: each returns undefined for null/absent and records what is
// wrong in a Problems, which the route turns into one 400 naming every field.
import { errInvalidArgument } from "../base/errors.js";
import { parseMac } from "../base/go-parse.js";
import { isPlainObject } from "./http-io.js";

/** Zero in Go's sense, recursively: null, false, 0, "", empty list, object of zeros. */
export function isZeroValue(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isPlainObject(v)) return Object.values(v).every(isZeroValue);
  return false;
}

/** What a body asks for that is wrong (400 with the reason) or unsupported (400 naming the fields). */
export class Problems {
  readonly unsupported: string[] = [];
  readonly invalid: string[] = [];

  /** `noun` names the options in the refusal: "container option", "network option", ... */
  constructor(readonly noun = "container option") {}

  unsupportedField(path: string, value: unknown): void {
    let shown = JSON.stringify(value) ?? String(value);
    if (shown.length > 80) shown = shown.slice(0, 77) + "...";
    this.unsupported.push(`${path}=${shown}`);
  }

  throwIfAny(): void {
    if (this.invalid.length > 0) throw errInvalidArgument(this.invalid.join("; "));
    if (this.unsupported.length > 0) {
      throw errInvalidArgument(
        `unsupported ${this.noun}${this.unsupported.length > 1 ? "s" : ""}: ${this.unsupported.join(", ")} ` +
          `(berth does not implement ${this.unsupported.length > 1 ? "them" : "it"}; see docs/api.md)`,
      );
    }
  }
}

// ---- readers: each returns undefined for null/absent and records a problem for a wrong type ----

export function readString(p: Problems, path: string, v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string") return v;
  p.invalid.push(`invalid ${path}: expected a string`);
  return undefined;
}

export function readBool(p: Problems, path: string, v: unknown): boolean | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "boolean") return v;
  p.invalid.push(`invalid ${path}: expected a boolean`);
  return undefined;
}

export function readInt(p: Problems, path: string, v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  p.invalid.push(`invalid ${path}: expected an integer`);
  return undefined;
}

export function readStringList(p: Problems, path: string, v: unknown): string[] | undefined {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return [...(v as string[])];
  p.invalid.push(`invalid ${path}: expected a list of strings`);
  return undefined;
}

export function readStringMap(p: Problems, path: string, v: unknown): Record<string, string> | undefined {
  if (v === null || v === undefined) return undefined;
  if (isPlainObject(v) && Object.values(v).every((x) => typeof x === "string")) return { ...(v as Record<string, string>) };
  p.invalid.push(`invalid ${path}: expected an object of strings`);
  return undefined;
}

/** A MAC address as given ("" is none); one net.ParseMAC refuses is dockerd's `invalid MAC address`. */
export function readMacAddress(p: Problems, path: string, v: unknown): string | undefined {
  const s = readString(p, path, v);
  if (!s) return undefined;
  if (parseMac(s) === undefined) p.invalid.push(`invalid MAC address ${s}`);
  return s;
}
