import { H2Session } from "./session.js";
import { createStreamInvoker } from "./server-stream.js";
import { createUnaryInvoker } from "./unary.js";
import { errUnavailable, errInvalidArgument } from "../base/errors.js";
import { RpcCounter } from "./rpc-counter.js";
import type { RpcContext } from "./rpc.js";
import { createContainersService, type ContainersService } from "./services/containers.js";
import { createContentService, type ContentService } from "./services/content.js";
import { createDiffService, type DiffService } from "./services/diff.js";
import { createEventsService, type EventsService } from "./services/events.js";
import { createImagesService, type ImagesService } from "./services/images.js";
import { createIntrospectionService, type IntrospectionService } from "./services/introspection.js";
import { createLeasesService, type LeasesService } from "./services/leases.js";
import { createNamespacesService, type NamespacesService } from "./services/namespaces.js";
import { createSnapshotsService, type SnapshotsService } from "./services/snapshots.js";
import { createTasksService, type TasksService } from "./services/tasks.js";
import { createVersionService, type VersionService } from "./services/version.js";

export interface ContainerdClientOptions {
  /** Path of containerd's gRPC unix socket (a `unix://` prefix is accepted). */
  address: string;
  /** Namespace sent on every call as `containerd-namespace`. */
  namespace: string;
  /** Default deadline of unary calls, ms (default 30 s). Streams and Tasks/Wait have none. */
  timeoutMs?: number;
  /** Share a counter between clients (e.g. the same daemon in two namespaces). */
  counter?: RpcCounter;
}

export interface ContainerdClient extends AsyncDisposable {
  readonly address: string;
  readonly namespace: string;
  readonly counter: RpcCounter;
  readonly version: VersionService;
  readonly namespaces: NamespacesService;
  readonly containers: ContainersService;
  readonly tasks: TasksService;
  readonly events: EventsService;
  readonly content: ContentService;
  readonly images: ImagesService;
  readonly snapshots: SnapshotsService;
  readonly diff: DiffService;
  readonly leases: LeasesService;
  readonly introspection: IntrospectionService;
  readonly closed: boolean;
  /** A client for another namespace over the same connection and counter. */
  withNamespace(namespace: string): ContainerdClient;
  /** Closes the connection; later calls fail with "unavailable: client is closed". */
  close(): Promise<void>;
}

const NAMESPACE_RE = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/;

export function createContainerdClient(options: ContainerdClientOptions): ContainerdClient {
  const address = options.address.replace(/^unix:\/\//, "");
  const sessionManager = new H2Session(address);
  const shared = { closed: false, sessionManager };
  return build(address, options.namespace, options.counter ?? new RpcCounter(), options.timeoutMs ?? 30_000, shared);
}

function build(
  address: string,
  namespace: string,
  counter: RpcCounter,
  timeoutMs: number,
  shared: { closed: boolean; sessionManager: H2Session },
): ContainerdClient {
  if (!NAMESPACE_RE.test(namespace)) throw errInvalidArgument(`invalid containerd namespace ${JSON.stringify(namespace)}`);
  const ctx: RpcContext = {
    counter,
    defaultTimeoutMs: timeoutMs,
    assertOpen(rpc) {
      if (shared.closed) throw errUnavailable(`containerd ${rpc}: client is closed`, { rpc });
    },
    unary: createUnaryInvoker(shared.sessionManager, namespace),
    stream: createStreamInvoker(shared.sessionManager, namespace),
  };
  const client: ContainerdClient = {
    address,
    namespace,
    counter,
    version: createVersionService(ctx),
    namespaces: createNamespacesService(ctx),
    containers: createContainersService(ctx),
    tasks: createTasksService(ctx),
    events: createEventsService(ctx),
    content: createContentService(ctx, { sessionManager: shared.sessionManager, namespace }),
    images: createImagesService(ctx),
    snapshots: createSnapshotsService(ctx),
    diff: createDiffService(ctx),
    leases: createLeasesService(ctx),
    introspection: createIntrospectionService(ctx),
    get closed() {
      return shared.closed;
    },
    withNamespace: (ns) => build(address, ns, counter, timeoutMs, shared),
    async close() {
      if (shared.closed) return;
      shared.closed = true;
      shared.sessionManager.abort();
    },
    async [Symbol.asyncDispose]() {
      await client.close();
    },
  };
  return client;
}
