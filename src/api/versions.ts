// Engine API versions: the range berth serves, the `/vX.Y` path prefix, and the comparison every
// version-dependent behaviour goes through. This is the one place that knows about versions.
import { errInvalidArgument } from "../base/errors.js";

/** Oldest API version served (dockerd 25's minimum; docker CLI 1.12-era clients are refused). */
export const MIN_API_VERSION = "1.24";
/**
 * Newest API version served, and the default for unversioned paths. 1.43 is dockerd 24: the last
 * version whose container-create body still carries everything berth reads in the places it reads
 * it (1.44 moved MacAddress into EndpointsConfig and allows several networks).
 */
export const MAX_API_VERSION = "1.43";

const VERSIONED_PATH = /^\/v([0-9]+(?:\.[0-9]+)*)(\/.*)?$/;

/** Splits "/v1.43/containers/json" into version "1.43" and path "/containers/json". */
export function splitVersionedPath(path: string): { version: string | undefined; path: string } {
  const m = VERSIONED_PATH.exec(path);
  if (!m) return { version: undefined, path };
  return { version: m[1]!, path: m[2] ?? "/" };
}

/** Compares dotted versions numerically ("1.9" < "1.10"); a missing component counts as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split("."), pb = b.split(".");
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number.parseInt(pa[i] ?? "0", 10) || 0;
    const y = Number.parseInt(pb[i] ?? "0", 10) || 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export const versionAtLeast = (v: string, min: string): boolean => compareVersions(v, min) >= 0;
export const versionBelow = (v: string, bound: string): boolean => compareVersions(v, bound) < 0;

/**
 * The version a request is served at: the path's, or the newest for an unversioned path. Out of
 * range is an invalid-argument error worded as dockerd words it (clients match on it).
 */
export function negotiatedVersion(requested: string | undefined): string {
  const v = requested ?? MAX_API_VERSION;
  if (versionBelow(v, MIN_API_VERSION)) {
    throw errInvalidArgument(
      `client version ${v} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  if (compareVersions(v, MAX_API_VERSION) > 0) {
    throw errInvalidArgument(`client version ${v} is too new. Maximum supported API version is ${MAX_API_VERSION}`);
  }
  return v;
}
