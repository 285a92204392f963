// The project's error kinds live in the containerd layer (errdefs names, STYLE.md §9); this layer
// re-exports the part it uses so its modules import errors from one local place.
export {
  BerthError,
  errAlreadyExists,
  errConflict,
  errInternal,
  errInvalidArgument,
  errNotFound,
  isBerthError,
} from "../base/errors.js";
