/**
 * Error kinds, named after containerd's errdefs. Every error that leaves berth's layers carries
 * one; exactly two translators exist: gRPC status → kind (rpc-errors.ts) and kind → HTTP status
 * (api/). This module loads no gRPC code, so every layer can use it cheaply.
 */
export type ErrorKind =
  | "not-found"
  | "already-exists"
  | "invalid-argument"
  | "failed-precondition"
  | "conflict"
  | "unavailable"
  | "not-implemented"
  | "canceled"
  | "deadline-exceeded"
  | "permission-denied"
  | "resource-exhausted"
  | "internal"
  | "unknown";

export interface BerthErrorOptions {
  cause?: unknown;
  /** The containerd call that failed, as "Service/Method", when the error came from one. */
  rpc?: string;
}

/** An error with a kind. `code` is the stable machine-readable form of the kind. */
export class BerthError extends Error {
  readonly kind: ErrorKind;
  readonly rpc: string | undefined;

  constructor(kind: ErrorKind, message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BerthError";
    this.kind = kind;
    this.rpc = options.rpc;
  }

  get code(): string {
    return "ERR_BERTH_" + this.kind.toUpperCase().replaceAll("-", "_");
  }
}

export function isBerthError(e: unknown, kind?: ErrorKind): e is BerthError {
  return e instanceof BerthError && (kind === undefined || e.kind === kind);
}

export const isNotFound = (e: unknown): e is BerthError => isBerthError(e, "not-found");
export const isAlreadyExists = (e: unknown): e is BerthError => isBerthError(e, "already-exists");
export const isConflict = (e: unknown): e is BerthError => isBerthError(e, "conflict");
export const isUnavailable = (e: unknown): e is BerthError => isBerthError(e, "unavailable");
export const isInvalidArgument = (e: unknown): e is BerthError => isBerthError(e, "invalid-argument");
export const isFailedPrecondition = (e: unknown): e is BerthError =>
  isBerthError(e, "failed-precondition");

export const errNotFound = (msg: string, o?: BerthErrorOptions) => new BerthError("not-found", msg, o);
export const errAlreadyExists = (msg: string, o?: BerthErrorOptions) =>
  new BerthError("already-exists", msg, o);
export const errInvalidArgument = (msg: string, o?: BerthErrorOptions) =>
  new BerthError("invalid-argument", msg, o);
export const errFailedPrecondition = (msg: string, o?: BerthErrorOptions) =>
  new BerthError("failed-precondition", msg, o);
export const errConflict = (msg: string, o?: BerthErrorOptions) => new BerthError("conflict", msg, o);
export const errUnavailable = (msg: string, o?: BerthErrorOptions) =>
  new BerthError("unavailable", msg, o);
export const errNotImplemented = (msg: string, o?: BerthErrorOptions) =>
  new BerthError("not-implemented", msg, o);
export const errInternal = (msg: string, o?: BerthErrorOptions) => new BerthError("internal", msg, o);
export const errCanceled = (msg: string, o?: BerthErrorOptions) => new BerthError("canceled", msg, o);
