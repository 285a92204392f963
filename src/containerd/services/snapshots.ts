import type { Transport } from "@connectrpc/connect";
import { snapshotsPb } from "../proto.js";
import { createRpcClient, type RpcContext } from "../rpc.js";

// Typed calls straight from the generated stubs (counted, errors as kinds); callers in
// higher layers (images/) compose them.
export function createSnapshotsService(transport: Transport, ctx: RpcContext) {
  return { rpc: createRpcClient(snapshotsPb.Snapshots, transport, ctx) };
}
export type SnapshotsService = ReturnType<typeof createSnapshotsService>;
