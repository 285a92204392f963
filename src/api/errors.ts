// The one translator from berth's error kinds to HTTP statuses (STYLE.md §9), and the JSON error
// body dockerd writes: {"message": "..."}.
import { BerthError, errInvalidArgument, errNotFound, type ErrorKind } from "../base/errors.js";

/**
 * dockerd's httpstatus.FromError, keyed by berth's kinds. failed-precondition has no errdefs twin:
 * berth uses it for "the object is not in a state that allows this", which dockerd reports as
 * Conflict (409); containerd's own mapping (412) is a pass-through dockerd never shows the CLI.
 */
const STATUS_OF_KIND: Record<ErrorKind, number> = {
  "not-found": 404,
  "invalid-argument": 400,
  "already-exists": 409,
  conflict: 409,
  "failed-precondition": 409,
  "permission-denied": 403,
  unavailable: 503,
  "not-implemented": 501,
  canceled: 500,
  "deadline-exceeded": 500,
  "resource-exhausted": 500,
  internal: 500,
  unknown: 500,
};

/** An error about the HTTP exchange itself (body too large, no such route): carries its status. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

export function httpStatusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof BerthError) return STATUS_OF_KIND[err.kind] ?? 500;
  return 500;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** dockerd's error body, newline-terminated like every JSON body it writes. */
export function errorBody(err: unknown): string {
  return JSON.stringify({ message: errorMessage(err) }) + "\n";
}

export const pageNotFound = () => new HttpError(404, "page not found");
export const bodyTooLarge = (limit: number) => new HttpError(413, `request body exceeds ${limit} bytes`);
export const badParameter = (message: string) => errInvalidArgument(message);
export const noSuchContainer = (ref: string) => errNotFound(`No such container: ${ref}`);
