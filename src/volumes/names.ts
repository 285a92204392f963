/**
 * Volume names, as dockerd's local driver checks them (moby `volume/local/local.go`
 * `validateName`, `daemon/names`): the name becomes a directory under `<root>/volumes`, so it
 * may not contain anything that could escape it. Pure.
 */
import { randomBytes } from "node:crypto";

import { errInvalidArgument } from "../base/errors.js";

/** dockerd's `RestrictedNameChars`, quoted in its message. */
export const RESTRICTED_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]";
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/**
 * The name is one path component (`<root>/volumes/<name>`): longer than the kernel's NAME_MAX
 * it would fail on the disk (ENAMETOOLONG) instead of as the client's error. Names are ASCII,
 * so characters are bytes.
 */
export const MAX_VOLUME_NAME = 255;

/**
 * The label dockerd 23+ puts on every volume created without a name: `docker volume prune`
 * (API 1.42+) removes only volumes that carry it unless `all=true`.
 */
export const ANONYMOUS_LABEL = "com.docker.volume.anonymous";

export function isValidVolumeName(name: string): boolean {
  return name.length <= MAX_VOLUME_NAME && NAME_PATTERN.test(name);
}

/**
 * The local driver's check, with its messages (the store prefixes "create <name>: " as
 * dockerd's OpErr does).
 */
export function volumeNameProblem(name: string): string | undefined {
  if (name.length === 1) {
    return "volume name is too short, names should be at least two alphanumeric characters";
  }
  if (name.length > MAX_VOLUME_NAME) {
    return `volume name is too long (${name.length} characters), names can be at most ${MAX_VOLUME_NAME} characters`;
  }
  if (!NAME_PATTERN.test(name)) {
    return (
      `${JSON.stringify(name)} includes invalid characters for a local volume name, only ` +
      `${JSON.stringify(RESTRICTED_NAME_CHARS)} are allowed. If you intended to pass a host directory, use absolute path`
    );
  }
  return undefined;
}

/** Throws invalid-argument "create <name>: ..." for a name the local driver refuses. */
export function validateVolumeName(name: string): void {
  const problem = volumeNameProblem(name);
  if (problem !== undefined) throw errInvalidArgument(`create ${name}: ${problem}`);
}

/**
 * A random 64-hex name for an anonymous volume. As moby's `stringid.GenerateRandomID`, a name
 * whose 12-character short form is all digits is drawn again.
 */
export function generateVolumeName(random: (bytes: number) => Buffer = randomBytes): string {
  for (;;) {
    const name = random(32).toString("hex");
    if (!/^[0-9]{12}/.test(name)) return name;
  }
}
