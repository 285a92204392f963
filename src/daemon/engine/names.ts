// The one check of a container name given by a client (create, rename), as dockerd words it.
import { isValidContainerName } from "../../container/index.js";
import { errInvalidArgument } from "../../base/errors.js";

export function checkContainerName(name: string): void {
  if (!isValidContainerName(name)) throw errInvalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
}
