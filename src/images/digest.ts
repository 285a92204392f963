// Content digests and layer chain IDs (OCI image spec, "Layer ChainID").
import { createHash } from "node:crypto";

export function sha256Digest(data: Uint8Array | string): string {
  return "sha256:" + createHash("sha256").update(data).digest("hex");
}

/** The hex part of "sha256:<hex>". */
export function digestHex(digest: string): string {
  const i = digest.indexOf(":");
  return i < 0 ? digest : digest.slice(i + 1);
}

/**
 * ChainIDs of a stack of layers, bottom first: chainID(1) = diffID(1),
 * chainID(n) = sha256(chainID(n-1) + " " + diffID(n)). The snapshot of the n-th layer is
 * committed under chainID(n), so identical stacks share snapshots.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    out.push(out.length === 0 ? d : sha256Digest(`${out[out.length - 1]} ${d}`));
  }
  return out;
}

/** ChainID of the whole stack (the image's top snapshot); undefined for no layers. */
export function topChainId(diffIds: readonly string[]): string | undefined {
  return chainIds(diffIds).at(-1);
}
