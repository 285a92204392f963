import type { Transport } from "@connectrpc/connect";
import { introspectionPb } from "../proto.js";
import { createRpcClient, type RpcContext } from "../rpc.js";

// Typed calls straight from the generated stubs (counted, errors as kinds); callers in
// higher layers (images/) compose them.
export function createIntrospectionService(transport: Transport, ctx: RpcContext) {
  return { rpc: createRpcClient(introspectionPb.Introspection, transport, ctx) };
}
export type IntrospectionService = ReturnType<typeof createIntrospectionService>;
