import { snapshotsPb } from "../proto.js";
import { createRpcClient, type RpcContext } from "../rpc.js";

// Typed calls straight from the generated stubs (counted, errors as kinds); callers in
// higher layers (images/) compose them.
export function createSnapshotsService(ctx: RpcContext) {
  return { rpc: createRpcClient(snapshotsPb.Snapshots, ctx) };
}
export type SnapshotsService = ReturnType<typeof createSnapshotsService>;
