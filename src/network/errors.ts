/** The error kinds of the network layer: containerd's errdefs names (src/base/errors.ts). */
import { BerthError, type BerthErrorOptions } from "../base/errors.js";

export {
  BerthError,
  errAlreadyExists,
  errConflict,
  errFailedPrecondition,
  errInternal,
  errInvalidArgument,
  errNotFound,
  errNotImplemented,
  isBerthError,
} from "../base/errors.js";

export const errResourceExhausted = (msg: string, o?: BerthErrorOptions) => new BerthError("resource-exhausted", msg, o);
export const errPermissionDenied = (msg: string, o?: BerthErrorOptions) => new BerthError("permission-denied", msg, o);
