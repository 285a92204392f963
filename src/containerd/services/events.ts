import type { Message } from "@bufbuild/protobuf";
import { decodeEvent } from "../any.js";
import { eventsPb } from "../proto.js";
import { createRpcClient, type RpcContext } from "../rpc.js";
import { timestampToDate } from "./tasks.js";

export interface ContainerdEvent {
  timestamp: Date | undefined;
  namespace: string;
  topic: string;
  /** Decoded payload (e.g. TaskExit); undefined for a type this client does not know. */
  event: Message | undefined;
}

export function createEventsService(ctx: RpcContext) {
  const rpc = createRpcClient(eventsPb.Events, ctx);
  return {
    rpc,
    /**
     * One Events/Subscribe stream. Filters are AND-ed within one string and OR-ed across
     * strings, e.g. `namespace==berth,topic~="^/tasks/"`. The stream ends when `signal` aborts.
     */
    async *subscribe(filters: string[], signal: AbortSignal): AsyncGenerator<ContainerdEvent> {
      for await (const env of rpc.subscribe({ filters }, { signal })) {
        yield {
          timestamp: env.timestamp ? timestampToDate(env.timestamp) : undefined,
          namespace: env.namespace,
          topic: env.topic,
          event: decodeEvent(env.event),
        };
      }
    },
  };
}
export type EventsService = ReturnType<typeof createEventsService>;
