import { versionPb } from "../proto.js";
import { createRpcClient, type RpcContext, type RpcOptions } from "../rpc.js";

export interface ContainerdVersion {
  version: string;
  revision: string;
}

export function createVersionService(ctx: RpcContext) {
  const rpc = createRpcClient(versionPb.Version, ctx);
  return {
    rpc,
    async version(o?: RpcOptions): Promise<ContainerdVersion> {
      const r = await rpc.version({}, o);
      return { version: r.version, revision: r.revision };
    },
  };
}
export type VersionService = ReturnType<typeof createVersionService>;
