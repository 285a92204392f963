import type { Transport } from "@connectrpc/connect";
import { diffPb } from "../proto.js";
import { createRpcClient, type RpcContext } from "../rpc.js";

// Typed calls straight from the generated stubs (counted, errors as kinds); callers in
// higher layers (images/) compose them.
export function createDiffService(transport: Transport, ctx: RpcContext) {
  return { rpc: createRpcClient(diffPb.Diff, transport, ctx) };
}
export type DiffService = ReturnType<typeof createDiffService>;
