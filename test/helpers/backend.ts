import { setTimeout as sleep } from "node:timers/promises";
import type { Backend, EventInfo, EventType, LibcontainerdClient } from "../../src/libcontainerd/index.js";

/** A Backend that records every event, per container, in delivery order. */
export class RecordingBackend implements Backend {
  readonly log: { containerId: string; type: EventType; info: EventInfo }[] = [];

  processEvent(containerId: string, type: EventType, info: EventInfo): void {
    this.log.push({ containerId, type, info });
  }
  events(containerId: string) {
    return this.log.filter((e) => e.containerId === containerId);
  }
  types(containerId: string): EventType[] {
    return this.events(containerId).map((e) => e.type);
  }
  /** The subscription is asynchronous: wait until the client reports it live. */
  async waitStreamUp(client: LibcontainerdClient, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!client.eventsLive) {
      if (Date.now() > end) throw new Error("event stream did not come up");
      await sleep(10);
    }
    // The stream is requested; give containerd a moment to register the subscriber.
    await sleep(50);
  }
}
