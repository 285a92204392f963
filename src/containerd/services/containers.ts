import type { Any } from "@bufbuild/protobuf/wkt";
import { specFromAny, specToAny } from "../any.js";
import type { Spec } from "../oci/spec-types.js";
import { containersPb } from "../proto.js";
import { createRpcClient, type RpcContext, type RpcOptions } from "../rpc.js";

export type ContainerRecord = containersPb.Container;

export interface NewContainerRecord {
  id: string;
  spec: Spec;
  /** Shim name, e.g. "io.containerd.runc.v2", and its options (see any.ts: runcOptionsToAny). */
  runtime: { name: string; options?: Any };
  labels?: Record<string, string>;
  image?: string;
  snapshotter?: string;
  snapshotKey?: string;
  extensions?: Record<string, Any>;
}

export function createContainersService(ctx: RpcContext) {
  const rpc = createRpcClient(containersPb.Containers, ctx);
  return {
    rpc,
    async get(id: string, o?: RpcOptions): Promise<ContainerRecord> {
      return (await rpc.get({ id }, o)).container!;
    },
    /** Filters use containerd's syntax, e.g. `labels."berth.id"==x`; several are OR-ed. */
    async list(filters: string[] = [], o?: RpcOptions): Promise<ContainerRecord[]> {
      return (await rpc.list({ filters }, o)).containers;
    },
    async create(c: NewContainerRecord, o?: RpcOptions): Promise<ContainerRecord> {
      const r = await rpc.create(
        {
          container: {
            id: c.id,
            labels: c.labels ?? {},
            image: c.image ?? "",
            runtime: { name: c.runtime.name, ...(c.runtime.options ? { options: c.runtime.options } : {}) },
            spec: specToAny(c.spec),
            snapshotter: c.snapshotter ?? "",
            snapshotKey: c.snapshotKey ?? "",
            extensions: c.extensions ?? {},
          },
        },
        o,
      );
      return r.container!;
    },
    /** Updates only the named fields ("spec", "labels", "labels.x", "image", ...). */
    async update(
      id: string,
      fields: { spec?: Spec; labels?: Record<string, string>; image?: string },
      o?: RpcOptions,
    ): Promise<ContainerRecord> {
      const paths: string[] = [];
      if (fields.spec) paths.push("spec");
      if (fields.labels) paths.push("labels");
      if (fields.image !== undefined) paths.push("image");
      const r = await rpc.update(
        {
          container: {
            id,
            ...(fields.spec ? { spec: specToAny(fields.spec) } : {}),
            labels: fields.labels ?? {},
            image: fields.image ?? "",
          },
          updateMask: { paths },
        },
        o,
      );
      return r.container!;
    },
    async delete(id: string, o?: RpcOptions): Promise<void> {
      await rpc.delete({ id }, o);
    },
  };
}
export type ContainersService = ReturnType<typeof createContainersService>;

export const containerSpec = (c: ContainerRecord): Spec => specFromAny(c.spec);
