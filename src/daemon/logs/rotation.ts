/**
 * The json-file rotation policy, as dockerd applies it (moby `daemon/logger/loggerutils/
 * logfile.go`, `WriteLogEntry` and `rotate`). Pure: sizes and options in, decisions and file
 * operations out; the writer performs them.
 *
 * - Rotation is checked **before** each record: when the current file already holds `maxSize`
 *   bytes or more, it is rotated and the record starts the new file. A file therefore ends at
 *   `maxSize` or above, by less than one record, and never rotates while empty.
 * - Without `maxSize` nothing rotates, whatever `maxFile` says (dockerd accepts the pair).
 * - With `maxFile` 1 the current file is removed and a new one begins: only the newest records
 *   survive. With `maxFile` N ≥ 2, `x.log.(N−1)` is removed, `x.log.i` → `x.log.(i+1)` from the
 *   oldest down, `x.log` → `x.log.1`, and a new empty `x.log` is opened.
 */

export interface RotationPolicy {
  /** Bytes; undefined: the file grows without bound. */
  readonly maxSize?: number | undefined;
  /** Files kept, the current one included; at least 1. */
  readonly maxFile: number;
}

/** Whether the file must be rotated before a record is appended to a file of `currentSize` bytes. */
export function shouldRotate(currentSize: number, policy: RotationPolicy): boolean {
  return policy.maxSize !== undefined && policy.maxSize > 0 && currentSize >= policy.maxSize;
}

export type RotationStep =
  | { readonly op: "unlink"; readonly path: string }
  | { readonly op: "rename"; readonly from: string; readonly to: string };

/**
 * The file operations of one rotation of `path`, in order, before a fresh `path` is opened
 * (truncated, in case a step failed). A missing source file is not an error.
 */
export function rotationSteps(path: string, maxFile: number): RotationStep[] {
  if (maxFile < 2) return [{ op: "unlink", path }];
  const steps: RotationStep[] = [{ op: "unlink", path: `${path}.${maxFile - 1}` }];
  for (let i = maxFile - 1; i > 1; i--) steps.push({ op: "rename", from: `${path}.${i - 1}`, to: `${path}.${i}` });
  steps.push({ op: "rename", from: path, to: `${path}.1` });
  return steps;
}

/** The rotated files that may exist for `path`, oldest first: `path.(maxFile−1)` … `path.1`. */
export function rotatedPaths(path: string, maxFile: number): string[] {
  const out: string[] = [];
  for (let i = maxFile - 1; i >= 1; i--) out.push(`${path}.${i}`);
  return out;
}

/**
 * Where records of the given sizes land, starting from a current file of `currentSize` bytes:
 * for each record, whether the file is rotated before it; and the size of the current file after
 * the last one. The writer makes the same decisions one record at a time.
 */
export function planAppends(
  currentSize: number, recordSizes: readonly number[], policy: RotationPolicy,
): { rotateBefore: boolean[]; size: number } {
  let size = currentSize;
  const rotateBefore = recordSizes.map((n) => {
    const rotate = shouldRotate(size, policy);
    size = (rotate ? 0 : size) + n;
    return rotate;
  });
  return { rotateBefore, size };
}
