// gRPC status codes and the one error type every call of this client fails with before
// rpc-errors.ts turns it into a BerthError kind. The codes are gRPC's (grpc/doc/statuscodes.md).

export enum Code {
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/** A failed call: the gRPC code and containerd's message (or what ended the stream). */
export class GrpcError extends Error {
  override readonly name = "GrpcError";
  /** The message as received, without the "[code]" prefix of `message`. */
  readonly rawMessage: string;
  constructor(message: string, readonly code: Code, cause?: unknown) {
    super(`[${Code[code] ?? code}] ${message}`, cause === undefined ? undefined : { cause });
    this.rawMessage = message;
  }

  /** `e` as a GrpcError: itself, Canceled for an abort, Unknown (with `e` as the cause) otherwise. */
  static from(e: unknown): GrpcError {
    if (e instanceof GrpcError) return e;
    if (e instanceof Error && (e.name === "AbortError" || e.name === "TimeoutError")) {
      return new GrpcError(e.message, e.name === "TimeoutError" ? Code.DeadlineExceeded : Code.Canceled, e);
    }
    return new GrpcError(e instanceof Error ? e.message : String(e), Code.Unknown, e);
  }
}
