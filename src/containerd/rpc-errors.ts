import { Code, GrpcError } from "./grpc-status.js";
import { BerthError, type ErrorKind } from "../base/errors.js";

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
  const ce = GrpcError.from(e);
  const errno = errnoIn(e) ?? /\b(ENOENT|ECONNREFUSED|ECONNRESET|EPIPE)\b/.exec(ce.rawMessage)?.[1];
  let kind: ErrorKind = kindByCode[ce.code] ?? "unknown";
  if (errno !== undefined && (ce.code === Code.Internal || ce.code === Code.Unknown || ce.code === Code.Unavailable)) {
    kind = "unavailable";
  }
  // The HTTP/2 session dying under a call (containerd killed mid-call) is also "unavailable".
  if (ce.code === Code.Internal && /session (closed|destroyed)|GOAWAY|stream closed with error code (NGHTTP2_REFUSED_STREAM|ENHANCE)/i.test(ce.rawMessage)) {
    kind = "unavailable";
  }
  // containerd stopping under a call resets its HTTP/2 streams: that is containerd going away,
  // not a cancellation of ours (ours carries the abort reason as its message).
  if (ce.code === Code.Canceled && /stream closed with error code (CANCEL|NGHTTP2_CANCEL)/.test(ce.rawMessage)) kind = "unavailable";
  // containerd wraps its handler's context errors as Unknown ("context deadline exceeded:
  // unknown") when its side of a deadline fires first; they are still that kind.
  if (kind === "unknown" && /context deadline exceeded/.test(ce.rawMessage)) kind = "deadline-exceeded";
  if (kind === "unknown" && /context canceled/.test(ce.rawMessage)) kind = "canceled";
  const prefix = rpc ? `containerd ${rpc}: ` : "";
  return new BerthError(kind, prefix + ce.rawMessage, { cause: e, ...(rpc ? { rpc } : {}) });
}
