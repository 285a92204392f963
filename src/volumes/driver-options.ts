/**
 * The local driver's options (`docker volume create -o type=... -o device=... -o o=...`), checked
 * as moby `volume/local/local_unix.go` checks them, with its messages. Pure.
 *
 * With `type` and `device` set, the volume's `_data` directory is a mount point: the device is
 * mounted there while a container uses the volume (`type=tmpfs,device=tmpfs,o=size=100m`, or
 * `type=none,o=bind,device=/host/path`). `size` asks for a filesystem quota, which berth does not
 * implement, so a positive size is refused as dockerd refuses it without quota support.
 */
import { errInvalidArgument } from "../base/errors.js";

/** The driver this module implements; the only one berth has. */
export const LOCAL_DRIVER = "local";

const VALID_OPTIONS = new Set(["type", "o", "device", "size"]);
/** Option → the options it requires (dockerd's `mandatoryOpts`; checked in this order). */
const MANDATORY: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["device", ["type"]],
  ["type", ["device"]],
  ["o", ["device", "type"]],
];

/** What to mount on `_data`, when the options ask for a mount. */
export interface LocalMountOptions {
  /** Filesystem type for mount(8): "tmpfs", "none" (with o=bind), "nfs", ... */
  type: string;
  device: string;
  /** Comma-separated mount options, as given; "" for none. */
  options: string;
}

/** go-units `RAMInBytes`: "100m", "1.5g", "64KiB", "512" (binary multiples). */
export function ramInBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value);
  if (!m) throw errInvalidArgument(`invalid size: '${value}'`);
  const multiplier = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 }[(m[2] ?? "").toLowerCase()] ?? 1;
  return Math.trunc(Number(m[1]) * multiplier);
}

/**
 * Validates driver options for the local driver. Messages are dockerd's (the store prefixes
 * "create <name>: "). The options are kept as given: they show as the volume's `Options`.
 */
export function validateLocalOptions(options: Readonly<Record<string, string>>): void {
  const keys = Object.keys(options);
  if (keys.length === 0) return;
  for (const key of keys) {
    if (!VALID_OPTIONS.has(key)) throw errInvalidArgument(`invalid option: ${JSON.stringify(key)}`);
  }
  const size = options["size"];
  if (size !== undefined && ramInBytes(size) > 0) {
    throw errInvalidArgument("quota size requested but no quota support");
  }
  for (const [option, required] of MANDATORY) {
    if (options[option] === undefined) continue;
    for (const r of required) {
      if (options[r] === undefined) throw errInvalidArgument(`missing required option: ${JSON.stringify(r)}`);
    }
  }
}

/** The mount the options ask for, or undefined when `_data` is a plain directory. */
export function localMountOptions(options: Readonly<Record<string, string>>): LocalMountOptions | undefined {
  const type = options["type"] ?? "";
  const device = options["device"] ?? "";
  // dockerd's needsMount: either of type or device (validation makes them come together).
  if (type === "" && device === "") return undefined;
  return { type, device, options: options["o"] ?? "" };
}

/** Hides a `password=` mount option in messages, as dockerd does for CIFS. */
export function redactMountOptions(text: string, options: string): string {
  const password = options.split(",").find((o) => o.startsWith("password="));
  return password === undefined || password === "password=" ? text : text.replaceAll(password, "password=********");
}
