import { namespacesPb } from "../proto.js";
import { createRpcClient, type RpcContext, type RpcOptions } from "../rpc.js";

export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
}

export function createNamespacesService(ctx: RpcContext) {
  const rpc = createRpcClient(namespacesPb.Namespaces, ctx);
  return {
    rpc,
    async list(o?: RpcOptions): Promise<NamespaceInfo[]> {
      const r = await rpc.list({}, o);
      return r.namespaces.map((n) => ({ name: n.name, labels: { ...n.labels } }));
    },
    async get(name: string, o?: RpcOptions): Promise<NamespaceInfo> {
      const n = (await rpc.get({ name }, o)).namespace!;
      return { name: n.name, labels: { ...n.labels } };
    },
    async create(name: string, labels: Record<string, string> = {}, o?: RpcOptions): Promise<void> {
      await rpc.create({ namespace: { name, labels } }, o);
    },
    /** containerd refuses to delete a namespace that still holds objects (failed-precondition). */
    async delete(name: string, o?: RpcOptions): Promise<void> {
      await rpc.delete({ name }, o);
    },
  };
}
export type NamespacesService = ReturnType<typeof createNamespacesService>;
