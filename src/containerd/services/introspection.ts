import { introspectionPb } from "../proto.js";
import { createRpcClient, type RpcContext } from "../rpc.js";

// Typed calls straight from the generated stubs (counted, errors as kinds); callers in
// higher layers (images/) compose them.
export function createIntrospectionService(ctx: RpcContext) {
  return { rpc: createRpcClient(introspectionPb.Introspection, ctx) };
}
export type IntrospectionService = ReturnType<typeof createIntrospectionService>;
