/** Runs the host tools the network layer needs (unshare, mount, umount, ip) and returns stdout. */
import { execFile } from "node:child_process";
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

export function runCommand(file: string, args: readonly string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { env: { ...process.env, PATH: SBIN_PATH, LC_ALL: "C" }, maxBuffer: 64 * 1024 * 1024, ...(signal ? { signal } : {}) },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const code = (err as { code?: unknown }).code;
        if (code === "ENOENT") return reject(errFailedPrecondition(`${file} is not installed`, { cause: err }));
        if (signal?.aborted) return reject(new BerthError("canceled", `${file} canceled`, { cause: err }));
        reject(new CommandError(file, args, stderr, typeof code === "number" ? code : undefined, err));
      },
    );
  });
}
