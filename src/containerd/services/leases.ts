import { leasesPb } from "../proto.js";
import { createRpcClient, type RpcContext } from "../rpc.js";

// Typed calls straight from the generated stubs (counted, errors as kinds); callers in
// higher layers (images/) compose them.
export function createLeasesService(ctx: RpcContext) {
  return { rpc: createRpcClient(leasesPb.Leases, ctx) };
}
export type LeasesService = ReturnType<typeof createLeasesService>;
