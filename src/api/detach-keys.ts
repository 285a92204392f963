// Detach keys on attach and exec with a TTY: the key sequence (ctrl-p ctrl-q unless the client
// names another) ends the client's connection and leaves the process running, as dockerd's
// copyEscapable does. Like moby/term's escape proxy, keys count only when they arrive one per
// read — typed, not pasted — and a partial match that fails is passed on unchanged.
import { Readable } from "node:stream";
import { errInvalidArgument } from "../base/errors.js";

/** dockerd's default: ctrl-p, ctrl-q. */
export const DEFAULT_DETACH_KEYS = Buffer.from([0x10, 0x11]);

/** moby/term's ToBytes: comma-separated single characters or ctrl-@, ctrl-a … ctrl-z, ctrl-[, ctrl-\, ctrl-], ctrl-^, ctrl-_. */
export function parseDetachKeys(keys: string): Buffer {
  const codes: number[] = [];
  for (const key of keys.split(",")) {
    if (key.length === 1) {
      codes.push(key.charCodeAt(0) & 0xff);
      continue;
    }
    const m = /^ctrl-(.)$/.exec(key);
    const ch = m?.[1];
    let code = -1;
    if (ch !== undefined && ch >= "a" && ch <= "z") code = ch.charCodeAt(0) - 0x60;
    else if (ch !== undefined) code = "@[\\]^_".indexOf(ch) < 0 ? -1 : [0, 27, 28, 29, 30, 31]["@[\\]^_".indexOf(ch)]!;
    if (code < 0) throw errInvalidArgument(`Invalid detach keys (${keys}) provided: unknown character: '${key}'`);
    codes.push(code);
  }
  return Buffer.from(codes);
}

/**
 * `input` with the detach sequence taken out: `onDetach` runs when it is typed, after which
 * nothing more is passed on — and the stream does not end, so the process's stdin stays open.
 */
export function detachableInput(input: Readable, keys: Buffer, onDetach: () => void): Readable {
  let pos = 0;
  let detached = false;
  const out = new Readable({ read() { input.resume(); } });
  input.on("data", (chunk: Buffer) => {
    if (detached) return;
    if (chunk.length === 1 && chunk[0] === keys[pos]) {
      if (pos === keys.length - 1) {
        detached = true;
        input.pause();
        onDetach();
        return;
      }
      pos++;
      return;
    }
    const held = keys.subarray(0, pos);
    pos = 0;
    if (!out.push(held.length ? Buffer.concat([held, chunk]) : chunk)) input.pause();
  });
  input.once("end", () => {
    if (detached) return;
    if (pos > 0) out.push(keys.subarray(0, pos));
    out.push(null);
  });
  input.on("error", (err) => { if (!detached) out.destroy(err); });
  return out;
}
