/** Runs the host tools the network layer needs (unshare, mount, umount, ip) and returns stdout. */
import { launch, LaunchError, type LaunchResult } from "../base/launcher.js";
import { BerthError, errFailedPrecondition } from "./errors.js";

const SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export class CommandError extends BerthError {
  readonly stderr: string;
  readonly exitCode: number | undefined;
  constructor(file: string, args: readonly string[], stderr: string, exitCode: number | undefined, cause: unknown) {
    super("internal", `${file} ${args.join(" ")}: ${stderr.trim() || (cause instanceof Error ? cause.message : String(cause))}`, { cause });
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/** Through the launcher (src/base/launcher.ts): no fork of berthd per command. */
/** `stdin`: what the command reads on its standard input (else nothing). */
export async function runCommand(file: string, args: readonly string[], signal?: AbortSignal, stdin?: string): Promise<string> {
  let r: LaunchResult;
  try {
    r = await launch(file, args, { env: { ...process.env, PATH: SBIN_PATH, LC_ALL: "C" }, ...(signal ? { signal } : {}), ...(stdin !== undefined ? { stdin } : {}) });
  } catch (err) {
    if (err instanceof LaunchError && err.code === "ENOENT") throw errFailedPrecondition(`${file} is not installed`, { cause: err });
    if (signal?.aborted) throw new BerthError("canceled", `${file} canceled`, { cause: err });
    throw new CommandError(file, args, "", undefined, err);
  }
  if (r.code !== 0) throw new CommandError(file, args, r.stderr, r.code, new Error(`exit status ${r.code}`));
  return r.stdout;
}
