/**
 * `docker volume ls --filter` and `docker volume prune --filter`, with moby's semantics
 * (`volume/service/convert.go` filtersToBy / withPrune, `api/types/filters`). Pure: a filter set
 * is a plain map key → values, as the API's `filters` parameter decodes to; the API layer turns
 * the JSON into it.
 */
import { errInvalidArgument } from "../base/errors.js";
import { parseGoBool } from "../base/go-parse.js";
import { ANONYMOUS_LABEL } from "./names.js";

/** key → values; `{ dangling: ["true"], label: ["a", "b=c"] }`. */
export type VolumeFilters = Readonly<Record<string, readonly string[]>>;

/** What a filter looks at in a volume. */
export interface FilterSubject {
  name: string;
  driver: string;
  labels: Readonly<Record<string, string>>;
  /** Referenced by at least one container. */
  inUse: boolean;
}

export const LIST_FILTERS: readonly string[] = ["dangling", "name", "driver", "label"];
export const PRUNE_FILTERS: readonly string[] = ["label", "label!", "all"];

/** moby's invalidFilter message: "invalid filter 'key'" or "invalid filter 'key=[v1 v2]'". */
function invalidFilter(key: string, values?: readonly string[]): Error {
  return errInvalidArgument(values === undefined ? `invalid filter '${key}'` : `invalid filter '${key}=[${values.join(" ")}]'`);
}

function validate(filters: VolumeFilters, accepted: readonly string[]): void {
  for (const key of Object.keys(filters)) if (!accepted.includes(key)) throw invalidFilter(key);
}

/** filters.GetBoolOrDefault: undefined when absent; neither or both truth values are invalid. */
function getBool(filters: VolumeFilters, key: string): boolean | undefined {
  const values = filters[key];
  if (values === undefined) return undefined;
  if (values.length === 0) throw invalidFilter(key);
  const isTrue = values.includes("1") || values.includes("true");
  const isFalse = values.includes("0") || values.includes("false");
  if (isTrue === isFalse) throw invalidFilter(key, values);
  return isTrue;
}

/** filters.MatchKVList: every "k" / "k=v" value is present in the labels (true when unset). */
function matchLabels(values: readonly string[] | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (values === undefined || values.length === 0) return true;
  if (Object.keys(labels).length === 0) return false;
  for (const value of values) {
    const eq = value.indexOf("=");
    const key = eq < 0 ? value : value.slice(0, eq);
    if (!Object.prototype.hasOwnProperty.call(labels, key)) return false;
    if (eq >= 0 && labels[key] !== value.slice(eq + 1)) return false;
  }
  return true;
}

/** filters.Match: an exact value, or a value read as a regular expression that matches. */
function matchName(values: readonly string[], name: string): boolean {
  if (values.length === 0 || values.includes(name)) return true;
  return values.some((v) => {
    try {
      return new RegExp(v).test(name);
    } catch {
      // moby skips a value that is not a valid expression
      return false;
    }
  });
}

function labelPredicate(filters: VolumeFilters): (v: FilterSubject) => boolean {
  const include = filters["label"];
  const exclude = filters["label!"];
  return (v) => matchLabels(include, v.labels) && !(exclude !== undefined && exclude.length > 0 && matchLabels(exclude, v.labels));
}

/**
 * The predicate for `docker volume ls`: dangling=true|false, name (substring / regexp), driver
 * (exact), label (key or key=value, all must match). Unknown keys and non-boolean dangling
 * values are invalid-argument, as in dockerd. Throws before any volume is looked at.
 */
export function listFilter(filters: VolumeFilters): (v: FilterSubject) => boolean {
  validate(filters, LIST_FILTERS);
  const dangling = getBool(filters, "dangling");
  const drivers = filters["driver"] ?? [];
  const names = filters["name"];
  const labels = labelPredicate(filters);
  return (v) =>
    (drivers.length === 0 || drivers.includes(v.driver)) &&
    (names === undefined || matchName(names, v.name)) &&
    labels(v) &&
    (dangling === undefined || v.inUse === !dangling);
}

/**
 * The predicate for `docker volume prune`, before the "unused" and "no driver options" rules the
 * store adds: label / label! filters, and — unless `all` is true — only anonymous volumes (those
 * with the com.docker.volume.anonymous label), as dockerd 23+ (API 1.42+). The API layer adds
 * `all=true` for clients older than 1.42, as dockerd's router does.
 */
export function pruneFilter(filters: VolumeFilters): (v: FilterSubject) => boolean {
  validate(filters, PRUNE_FILTERS);
  const all = filters["all"] ?? [];
  let pruneAll = false;
  if (all.length > 1) throw errInvalidArgument(`invalid filter 'all=[${all.join(" ")}]': only one value is expected`);
  if (all.length === 1) {
    const b = parseGoBool(all[0] as string);
    if (b === undefined) {
      throw errInvalidArgument(`invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(all[0])}: invalid syntax`);
    }
    pruneAll = b;
  }
  const labels = labelPredicate(pruneAll ? filters : { ...filters, label: [...(filters["label"] ?? []), ANONYMOUS_LABEL] });
  return (v) => labels(v);
}

