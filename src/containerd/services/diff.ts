import { diffPb } from "../proto.js";
import { createRpcClient, type RpcContext } from "../rpc.js";

// Typed calls straight from the generated stubs (counted, errors as kinds); callers in
// higher layers (images/) compose them.
export function createDiffService(ctx: RpcContext) {
  return { rpc: createRpcClient(diffPb.Diff, ctx) };
}
export type DiffService = ReturnType<typeof createDiffService>;
