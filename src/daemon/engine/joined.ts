// `--pid/--ipc/--network container:<id|name>`: the namespaces of another container, taken from
// its running task's PID (retained by the engine: no RPC). dockerd resolves the reference to the
// full ID at create (a missing PID/IPC donor is a 404 then, a network donor only at start) and
// joins at start, where the donor must be running.
import { errConflict, errInvalidArgument, isNotFound } from "../../base/errors.js";
import type { ContainerRecord } from "../../container/index.js";
import { containerHostname, networkFilePaths, type SpecInputs } from "../container-spec.js";
import { containerDir, entryOf, hasLiveTask, type EngineContext, type Entry } from "./context.js";

const PREFIX = "container:";

export function joinedRef(mode: string | undefined): string | undefined {
  return mode?.startsWith(PREFIX) && mode.length > PREFIX.length ? mode.slice(PREFIX.length) : undefined;
}

/** Whether the container joins another's namespace (its spec is completed at every start). */
export function joinsAnother(record: ContainerRecord): boolean {
  const hc = record.hostConfig;
  return [hc.pidMode, hc.ipcMode, hc.networkMode].some((m) => joinedRef(m) !== undefined);
}

/**
 * At create: dockerd's checks of a `container:` network mode (runconfig's conflicting options)
 * and the references made full IDs: PID and IPC donors must exist, a network donor may be
 * created later (it is then kept as given and resolved at start).
 */
export function resolveJoinedAtCreate(ctx: EngineContext, record: ContainerRecord, user: { exposedPorts: readonly string[]; hostname: string }): void {
  const hc = record.hostConfig;
  const netRef = joinedRef(hc.networkMode);
  if (netRef !== undefined) {
    if (user.hostname) throw errInvalidArgument("conflicting options: hostname and the network mode");
    if ((hc.dns ?? []).length > 0) throw errInvalidArgument("conflicting options: dns and the network mode");
    if ((hc.extraHosts ?? []).length > 0) throw errInvalidArgument("conflicting options: custom host-to-IP mapping and the network mode");
    if (Object.keys(hc.portBindings ?? {}).length > 0 || hc.publishAllPorts) {
      throw errInvalidArgument("conflicting options: port publishing and the container type network mode");
    }
    if (user.exposedPorts.length > 0) throw errInvalidArgument("conflicting options: port exposing and the container type network mode");
    try {
      hc.networkMode = PREFIX + entryOf(ctx, netRef).record.id;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  // A missing PID or IPC donor is a 400 at create in dockerd (a 404 would send the CLI pulling).
  const donorId = (ref: string) => {
    try {
      return entryOf(ctx, ref).record.id;
    } catch (e) {
      throw isNotFound(e) ? errInvalidArgument(e.message) : e;
    }
  };
  const pidRef = joinedRef(hc.pidMode);
  if (pidRef !== undefined) hc.pidMode = PREFIX + donorId(pidRef);
  const ipcRef = joinedRef(hc.ipcMode);
  if (ipcRef !== undefined) hc.ipcMode = PREFIX + donorId(ipcRef);
}

type Joined = Pick<SpecInputs, "namespacePaths"> & { files?: SpecInputs["files"]; hostname?: string };

/**
 * The spec inputs of the joined namespaces. At start (`strict`) every donor must exist and run,
 * with dockerd's errors; otherwise (the spec containerd keeps from create, replaced at start)
 * a donor that does not run yet gives a /proc/0 path, which no runtime could join.
 */
export function joinedInputs(ctx: EngineContext, record: ContainerRecord, strict: boolean): Joined {
  const hc = record.hostConfig;
  const out: Joined = {};
  const paths: NonNullable<SpecInputs["namespacePaths"]> = {};
  const pidOf = (e: Entry | undefined) => (e && hasLiveTask(e) ? e.state.runningTask().pid : 0);
  const lookup = (ref: string): Entry | undefined => {
    try {
      return entryOf(ctx, ref);
    } catch (e) {
      if (strict || !isNotFound(e)) throw e;
      return undefined;
    }
  };
  const pidRef = joinedRef(hc.pidMode);
  if (pidRef !== undefined) {
    const donor = lookup(pidRef);
    if (strict && !hasLiveTask(donor!)) throw errConflict(`container ${donor!.record.id} is not running`);
    paths.pid = `/proc/${pidOf(donor)}/ns/pid`;
  }
  const ipcRef = joinedRef(hc.ipcMode);
  if (ipcRef !== undefined) {
    let donor: Entry | undefined;
    try {
      donor = lookup(ipcRef);
    } catch (e) {
      throw wrapped(e, `can't join IPC of container ${ipcRef}`);
    }
    if (strict) {
      const id = donor!.record.id;
      if (!hasLiveTask(donor!)) throw errConflict(`can't join IPC of container ${id}: container ${id} is not running`);
      const mode = donor!.record.hostConfig.ipcMode ?? "";
      // dockerd joins only a donor whose /dev/shm lives outside it (shareable, or the host's).
      if (mode !== "shareable" && mode !== "host") {
        throw errInvalidArgument(`can't join IPC of container ${id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
      }
    }
    // SysV IPC and message queues are the donor's. Its /dev/shm is not: dockerd binds the donor's
    // host-side tmpfs, which berth does not keep (a mount of another mount namespace cannot be
    // bound), so the joiner has a /dev/shm of its own (docs/api.md).
    paths.ipc = `/proc/${pidOf(donor)}/ns/ipc`;
  }
  const netRef = joinedRef(hc.networkMode);
  if (netRef !== undefined) {
    const donor = lookup(netRef);
    if (strict && !hasLiveTask(donor!)) throw errConflict(`cannot join network of a non running container: ${donor!.record.id}`);
    paths.net = `/proc/${pidOf(donor)}/ns/net`;
    // The donor's /etc/hosts, resolv.conf and hostname, as dockerd shares its files.
    if (donor) {
      out.files = networkFilePaths(containerDir(ctx, donor.record.id));
      out.hostname = containerHostname(donor.record);
    }
  }
  out.namespacePaths = paths;
  return out;
}

function wrapped(e: unknown, prefix: string): unknown {
  if (e instanceof Error) e.message = `${prefix}: ${e.message}`;
  return e;
}
