import { BerthError, type ErrorKind } from "../containerd/index.js";

/**
 * A process that could not be started, with the exit code dockerd reports for it: 127 when the
 * command does not exist, 126 when it cannot be executed, 128 otherwise.
 */
export class StartError extends BerthError {
  readonly exitCode: number;
  constructor(kind: ErrorKind, message: string, exitCode: number, cause: unknown) {
    super(kind, message, { cause });
    this.name = "StartError";
    this.exitCode = exitCode;
  }
}

// The messages runc and the shim produce for these cases (as dockerd matches them).
const NOT_FOUND = /executable file not found|no such file or directory|not a directory|system cannot find the file specified/i;
const NOT_EXECUTABLE = /permission denied|exec format error/i;

export function translateStartError(e: unknown, what: string): StartError {
  const base = e instanceof BerthError ? e : undefined;
  const msg = e instanceof Error ? e.message : String(e);
  if (NOT_FOUND.test(msg)) return new StartError("invalid-argument", `${what}: ${msg}`, 127, e);
  if (NOT_EXECUTABLE.test(msg)) return new StartError("invalid-argument", `${what}: ${msg}`, 126, e);
  return new StartError(base?.kind ?? "unknown", `${what}: ${msg}`, 128, e);
}
