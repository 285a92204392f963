import { imagesPb } from "../proto.js";
import { createRpcClient, type RpcContext } from "../rpc.js";

// Typed calls straight from the generated stubs (counted, errors as kinds); callers in
// higher layers (images/) compose them.
export function createImagesService(ctx: RpcContext) {
  return { rpc: createRpcClient(imagesPb.Images, ctx) };
}
export type ImagesService = ReturnType<typeof createImagesService>;
