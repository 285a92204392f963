// Everything an image operation writes (blobs, snapshots) is written under a lease, so the
// garbage collector keeps it until the gc.ref labels of an image record hold it; a failure
// deletes the lease with sync:true and the collector removes the partial work at once
// (toolchain-facts §4: without the labels, content goes as soon as the lease does).
import { randomBytes } from "node:crypto";
import type { ContainerdClient } from "../containerd/index.js";

export interface Lease {
  readonly id: string;
  /** Headers that put a call under this lease. */
  readonly headers: Record<string, string>;
}

export const LEASE_EXPIRE_LABEL = "containerd.io/gc.expire";

export async function withLease<T>(
  client: ContainerdClient,
  o: { expiryMs: number; now: () => Date; signal?: AbortSignal; prefix: string },
  fn: (lease: Lease) => Promise<T>,
  onFailure?: () => Promise<void>,
): Promise<T> {
  const id = `berth-${o.prefix}-${randomBytes(6).toString("hex")}`;
  const expire = new Date(o.now().getTime() + o.expiryMs).toISOString();
  await client.leases.rpc.create({ id, labels: { [LEASE_EXPIRE_LABEL]: expire } }, o.signal ? { signal: o.signal } : undefined);
  const lease: Lease = { id, headers: { "containerd-lease": id } };
  let result: T;
  try {
    result = await fn(lease);
  } catch (e) {
    // No signal: cleanup must run even when the operation was cancelled.
    try { await onFailure?.(); } catch { /* the lease deletion below still collects */ }
    try { await client.leases.rpc.delete({ id, sync: true }); } catch { /* expires on its own */ }
    throw e;
  }
  await client.leases.rpc.delete({ id, sync: false });
  return result;
}
