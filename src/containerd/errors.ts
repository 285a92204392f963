import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Error kinds, named after containerd's errdefs. Every error that leaves berth's layers carries
 * one; exactly two translators exist: gRPC status → kind (here) and kind → HTTP status (api/).
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

const kindByCode: Record<Code, ErrorKind> = {
  [Code.Canceled]: "canceled",
  [Code.Unknown]: "unknown",
  [Code.InvalidArgument]: "invalid-argument",
  [Code.DeadlineExceeded]: "deadline-exceeded",
  [Code.NotFound]: "not-found",
  [Code.AlreadyExists]: "already-exists",
  [Code.PermissionDenied]: "permission-denied",
  [Code.ResourceExhausted]: "resource-exhausted",
  [Code.FailedPrecondition]: "failed-precondition",
  // gRPC's Aborted means "concurrency conflict, retry at a higher level": a conflict.
  [Code.Aborted]: "conflict",
  [Code.OutOfRange]: "invalid-argument",
  [Code.Unimplemented]: "not-implemented",
  [Code.Internal]: "internal",
  [Code.Unavailable]: "unavailable",
  [Code.DataLoss]: "internal",
  [Code.Unauthenticated]: "permission-denied",
};

/** Socket errors that mean "containerd is not there right now" (down or restarting). */
const unavailableErrnos = new Set(["ENOENT", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ENOTCONN"]);

function errnoIn(e: unknown, depth = 0): string | undefined {
  if (depth > 5 || e === null || typeof e !== "object") return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && unavailableErrnos.has(code)) return code;
  return errnoIn((e as { cause?: unknown }).cause, depth + 1);
}

/**
 * gRPC status → kind. connect-node reports a containerd that is down or restarting as
 * `Internal "connect ENOENT <sock>"` (toolchain-facts §2), so the socket errno in the cause chain,
 * or in the message, decides "unavailable" before the status code does.
 */
export function fromRpcError(e: unknown, rpc?: string): BerthError {
  if (e instanceof BerthError) return e;
  const ce = ConnectError.from(e);
  const errno = errnoIn(e) ?? /\b(ENOENT|ECONNREFUSED|ECONNRESET|EPIPE)\b/.exec(ce.rawMessage)?.[1];
  let kind: ErrorKind = kindByCode[ce.code] ?? "unknown";
  if (errno !== undefined && (ce.code === Code.Internal || ce.code === Code.Unknown || ce.code === Code.Unavailable)) {
    kind = "unavailable";
  }
  // The HTTP/2 session dying under a call (containerd killed mid-call) is also "unavailable".
  if (ce.code === Code.Internal && /session (closed|destroyed)|GOAWAY|stream closed with error code (NGHTTP2_REFUSED_STREAM|ENHANCE)/i.test(ce.rawMessage)) {
    kind = "unavailable";
  }
  const prefix = rpc ? `containerd ${rpc}: ` : "";
  return new BerthError(kind, prefix + ce.rawMessage, { cause: e, ...(rpc ? { rpc } : {}) });
}
