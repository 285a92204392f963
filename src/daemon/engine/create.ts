// docker create: validate, plan mounts and networks, reserve the name, then make what a
// container is (intent note, directory, volumes, rootfs, network files, containerd container)
// with an undo for each step, and acknowledge only after the record is durable.
import fs from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { containerConfig, defaultNetworkName, hostConfig as makeHostConfig, isDefaultNetwork, newContainerRecord, type RootfsRecord } from "../../container/index.js";
import { errInvalidArgument, isNotFound } from "../../base/errors.js";
import { syncDir, unlinkIfExists, writeNewFileDurably } from "../../base/durable-fs.js";
import { remapOf, writeNetworkFiles } from "../container-spec.js";
import { remappedRoot, type IdMappings } from "../userns.js";
import { resolveCgroupnsMode } from "../cgroups.js";
import type { PreparedRootfs, ResolvedImage } from "../image-source.js";
import { validateHealthcheck } from "../health-probe.js";
import { createContainerMounts, mergeVolumesFrom, parseVolumesFrom, planMounts, releaseContainerMounts, volumesFromPlan, type MountSpec } from "../../volumes/index.js";
import type { CreateOptions, CreateResult } from "../types.js";
import {
  attachRequest,
  containerDir,
  emit,
  entryOf,
  networked,
  newEntry,
  persist,
  rootfsArg,
  RUNTIME,
  runcOptionsOf,
  specOf,
  type EngineContext,
} from "./context.js";
import { checkContainerName } from "./names.js";
import { SHIM_GROUP_KEY } from "../shim-groups.js";
import { joinedRef, resolveJoinedAtCreate } from "./joined.js";
import { resolveLinksAtCreate } from "./links.js";


export async function create(ctx: EngineContext, o: CreateOptions): Promise<CreateResult> {
  const warnings: string[] = [];
  if (o.name !== undefined && o.name !== "") checkContainerName(o.name);
  if (!o.config.image) throw errInvalidArgument("No image was specified");
  const image = await ctx.o.images.resolve(o.config.image, { ...(o.signal ? { signal: o.signal } : {}) });
  const config = mergeImageConfig(o.config, image);
  if (config.entrypoint.length === 0 && config.cmd.length === 0) throw errInvalidArgument("No command specified");
  const badHealth = validateHealthcheck(config.healthcheck);
  if (badHealth) throw errInvalidArgument(badHealth);
  const hc = makeHostConfig(o.hostConfig ?? {});
  // Recorded resolved, as dockerd does: inspect shows it and a later daemon default does not move it.
  hc.cgroupnsMode = resolveCgroupnsMode(hc.cgroupnsMode, hc.privileged === true, ctx.cgroups);
  if (hc.restartPolicy.name !== "no" && hc.autoRemove) {
    throw errInvalidArgument("can't create 'AutoRemove' container with restart policy");
  }
  if (hc.restartPolicy.name !== "on-failure" && hc.restartPolicy.maximumRetryCount !== 0) {
    throw errInvalidArgument(`maximum retry count cannot be used with restart policy '${hc.restartPolicy.name}'`);
  }
  if (hc.restartPolicy.maximumRetryCount < 0) throw errInvalidArgument("maximum retry count cannot be negative");
  if (hc.logConfig.type !== "json-file" && hc.logConfig.type !== "none" && hc.logConfig.type !== "") {
    throw errInvalidArgument(`logger: no log driver named '${hc.logConfig.type}' is registered`);
  }
  if (!hc.logConfig.type) hc.logConfig = { type: "json-file", config: hc.logConfig.config };
  ctx.o.logs.validate(hc.logConfig.config);
  if (!ctx.o.network && !isDefaultNetwork(hc.networkMode) && hc.networkMode !== "none" && hc.networkMode !== "host" && !joinedRef(hc.networkMode)) {
    throw errInvalidArgument(`network ${hc.networkMode} not found: networking is disabled (bridge none)`);
  }
  if (config.macAddress && (hc.networkMode === "host" || joinedRef(hc.networkMode) !== undefined)) {
    throw errInvalidArgument("conflicting options: mac-address and the network mode");
  }
  if (!ctx.o.network && isDefaultNetwork(hc.networkMode) && config.macAddress) {
    throw errInvalidArgument("a MAC address cannot be set: networking is disabled (bridge none)");
  }
  if (!ctx.o.network && isDefaultNetwork(hc.networkMode) && (Object.keys(hc.portBindings ?? {}).length > 0 || hc.publishAllPorts)) {
    throw errInvalidArgument("ports cannot be published: networking is disabled (bridge none)");
  }

  const record = newContainerRecord({ name: "/pending", config, hostConfig: hc, imageId: image.id, driver: "overlayfs", now: ctx.now });
  resolveJoinedAtCreate(ctx, record, { hostname: o.config.hostname ?? "", exposedPorts: o.config.exposedPorts ?? [] });
  resolveLinksAtCreate(ctx, record);
  if (networked(ctx, record)) {
    record.networks = { [defaultNetworkName(hc.networkMode)]: { aliases: [] } };
    for (const [n, ep] of Object.entries(o.networks ?? {})) {
      record.networks[defaultNetworkName(n)] = { ...ep, aliases: [...ep.aliases] };
    }
    ctx.o.network!.validate(attachRequest(record));
  } else if (o.networks && Object.keys(o.networks).length > 0) {
    throw errInvalidArgument(`container in network mode ${JSON.stringify(hc.networkMode)} cannot have endpoint settings`);
  }
  // Volumes, binds and --mount: validated and planned before anything is created.
  const own = planMounts(
    { binds: hc.binds, mounts: (hc.mounts ?? []) as unknown as MountSpec[], tmpfs: hc.tmpfs, volumes: config.volumes, volumeDriver: hc.volumeDriver ?? "" },
    { exists: existsSync },
  );
  // --volumes-from: the donors' mounts as they are now (dockerd: a missing donor is a 400 at create).
  const inherited = (hc.volumesFrom ?? []).flatMap((spec) => {
    const { ref, readonly } = parseVolumesFrom(spec);
    let donor;
    try {
      donor = entryOf(ctx, ref);
    } catch (e) {
      throw isNotFound(e) ? errInvalidArgument(e.message) : e;
    }
    return volumesFromPlan(donor.record.mountPoints ?? [], readonly);
  });
  const plan = mergeVolumesFrom(own, inherited);
  // The name is reserved synchronously: of two creates racing for it, one gets a conflict.
  record.name = o.name ? ctx.names.reserve(o.name, record.id) : ctx.names.reserveGenerated(record.id);
  const undo: (() => Promise<unknown>)[] = [async () => ctx.names.releaseAll(record.id)];
  // Its shared shim (--shim-group-size): a slot taken now, fixed in the record and the spec.
  if (ctx.shimGroups) {
    record.shimGroup = ctx.shimGroups.assign(record.id);
    undo.push(async () => ctx.shimGroups!.release(record.id));
  }
  try {
    // A create cut short by a crash leaves objects no record explains and the restore's two
    // list calls cannot see (a prepared snapshot): this durable note names them.
    await createIntent(ctx, record.id, "write");
    undo.push(() => createIntent(ctx, record.id, "remove"));
    const dir = containerDir(ctx, record.id);
    await fs.mkdir(dir, { recursive: true, mode: 0o710 });
    undo.push(() => fs.rm(dir, { recursive: true, force: true }));
    const mounts = await createContainerMounts(ctx.o.volumes, record.id, plan, o.signal ? { signal: o.signal } : {});
    record.mountPoints = mounts;
    undo.push(() => releaseContainerMounts(ctx.o.volumes, record.id, mounts, { removeAnonymous: true }));
    const remap = remapOf(record, ctx.o.security);
    if (remap) await shareWithRemappedRoot(dir, remap);
    const rootfs = await ctx.o.images.prepareRootfs(record.id, image, { ...(o.signal ? { signal: o.signal } : {}), ...(remap ? { remap } : {}) });
    undo.push(() => ctx.o.images.removeRootfs(record.id, rootfs));
    record.rootfs = toRootfsRecord(rootfs);
    record.driver = rootfs.kind === "snapshot" ? rootfs.snapshotter : "dir";
    record.rootfsSnapshotKey = rootfs.kind === "snapshot" ? rootfs.key : "";
    // Validating the spec before containerd sees it: a bad bind or user fails here.
    await writeNetworkFiles(containerDir(ctx, record.id), record);
    const spec = await specOf(ctx, record, { joinedAt: "create" });
    const container = await ctx.lcd.newContainer(record.id, {
      spec,
      rootfs: rootfsArg(record),
      runtime: RUNTIME,
      ...runcOptionsOf(ctx),
      labels: { "berth.name": record.name.slice(1), ...(record.shimGroup ? { [SHIM_GROUP_KEY]: record.shimGroup } : {}) },
      image: image.name,
    });
    undo.push(() => container.delete().catch(() => {}));
    const entry = newEntry(ctx, record);
    entry.state.attachContainer(container);
    // Acknowledge after persisting: what the client was told exists survives a crash.
    await persist(ctx, entry);
    await createIntent(ctx, record.id, "remove");
    ctx.index.add(record.id, entry);
    emit(ctx, entry, "create");
    return { id: record.id, warnings };
  } catch (e) {
    for (const u of undo.reverse()) await u().catch(() => {});
    throw e;
  }
}

/**
 * Under --userns-remap, runc mounts the container's files (/etc/hosts, ...) as the remapped root:
 * the container's directory and its parent are group-owned by the remapped root's gid (mode 0710),
 * as dockerd makes them.
 */
async function shareWithRemappedRoot(dir: string, maps: IdMappings): Promise<void> {
  const { gid } = remappedRoot(maps);
  for (const d of [path.dirname(dir), dir]) {
    await fs.chown(d, 0, gid);
    await fs.chmod(d, 0o710);
  }
}

/** `<root>/creating/<id>`: written and synced before a create makes anything, removed after. */
export async function createIntent(ctx: EngineContext, id: string, op: "write" | "remove"): Promise<void> {
  const dir = path.join(ctx.o.root, "creating");
  const file = path.join(dir, id);
  if (op === "remove") {
    await unlinkIfExists(file);
    return;
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  // A retried create of the same ID (none today: IDs are random) would find the note there.
  await unlinkIfExists(file);
  await writeNewFileDurably(file, "");
  await syncDir(dir);
}

function mergeImageConfig(c: CreateOptions["config"], image: ResolvedImage) {
  const ic = image.config;
  const userEnv = c.env ?? [];
  const keys = new Set(userEnv.map((v) => v.split("=")[0]));
  const env = [...(ic.env ?? []).filter((v) => !keys.has(v.split("=")[0])), ...userEnv];
  // dockerd: an entrypoint given by the user resets the image's cmd.
  const entrypoint = c.entrypoint && c.entrypoint.length > 0 ? c.entrypoint : c.entrypoint ? [] : ic.entrypoint ?? [];
  const cmd = c.cmd && c.cmd.length > 0 ? c.cmd : c.entrypoint && c.entrypoint.length > 0 ? [] : ic.cmd ?? [];
  return containerConfig({
    ...c,
    image: c.image,
    env,
    entrypoint,
    cmd,
    workingDir: c.workingDir || ic.workingDir || "",
    user: c.user || ic.user || "",
    labels: { ...(ic.labels ?? {}), ...(c.labels ?? {}) },
    exposedPorts: [...new Set([...(ic.exposedPorts ?? []), ...(c.exposedPorts ?? [])])],
    volumes: [...new Set([...(ic.volumes ?? []), ...(c.volumes ?? [])])],
    ...(c.healthcheck ?? ic.healthcheck ? { healthcheck: c.healthcheck ?? ic.healthcheck! } : {}),
    ...(c.stopSignal ?? ic.stopSignal ? { stopSignal: c.stopSignal ?? ic.stopSignal! } : {}),
  });
}

function toRootfsRecord(r: PreparedRootfs): RootfsRecord {
  return r.kind === "path" ? { kind: "path", path: r.path } : { kind: "snapshot", snapshotter: r.snapshotter, key: r.key, mounts: r.mounts.map((m) => ({ ...m, options: [...m.options] })) };
}
