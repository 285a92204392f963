import { cgroupMetricsFromAny, cgroupsV1MetricsFromAny, type CgroupMetrics, type CgroupsV1Metrics } from "../any.js";
import { tasksPb, taskTypesPb } from "../proto.js";
import { createRpcClient, type RpcContext, type RpcOptions } from "../rpc.js";

export const TaskStatus = taskTypesPb.Status;
export type TaskStatus = taskTypesPb.Status;
export type TaskProcess = taskTypesPb.Process;

/** Exit status as containerd reports it; 255 means "unknown" (containerd's convention). */
export interface ExitStatus {
  exitCode: number;
  exitedAt: Date | undefined;
}

export function createTasksService(ctx: RpcContext) {
  const rpc = createRpcClient(tasksPb.Tasks, ctx);
  return {
    rpc,
    /** Tasks/Wait is a long poll: no default deadline. */
    async wait(containerId: string, execId = "", o?: RpcOptions): Promise<ExitStatus> {
      const r = await rpc.wait({ containerId, execId }, { timeoutMs: Infinity, ...o });
      return { exitCode: r.exitStatus, exitedAt: r.exitedAt ? timestampToDate(r.exitedAt) : undefined };
    },
    /** One Tasks/Metrics call for any number of tasks (filters like `id==x`, OR-ed). */
    async metricsV1(filters: string[], o?: RpcOptions): Promise<Map<string, CgroupsV1Metrics>> {
      const r = await rpc.metrics({ filters }, o);
      const out = new Map<string, CgroupsV1Metrics>();
      for (const m of r.metrics) {
        const decoded = cgroupsV1MetricsFromAny(m.data);
        if (decoded) out.set(m.id, decoded);
      }
      return out;
    },
    /** Like metricsV1, for a host of either cgroup version (containerd answers in the host's). */
    async metrics(filters: string[], o?: RpcOptions): Promise<Map<string, CgroupMetrics>> {
      const r = await rpc.metrics({ filters }, o);
      const out = new Map<string, CgroupMetrics>();
      for (const m of r.metrics) {
        const decoded = cgroupMetricsFromAny(m.data);
        if (decoded) out.set(m.id, decoded);
      }
      return out;
    },
  };
}
export type TasksService = ReturnType<typeof createTasksService>;

export function timestampToDate(t: { seconds: bigint; nanos: number }): Date {
  return new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6));
}
