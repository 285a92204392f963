import { create, createRegistry, fromBinary, toBinary, type Message } from "@bufbuild/protobuf";
import { anyUnpack, type Any, AnySchema } from "@bufbuild/protobuf/wkt";
import { errInvalidArgument } from "../base/errors.js";
import type { Process as OciProcess, Spec } from "./oci/spec-types.js";
import {
  cgroupsV1Pb,
  cgroupsV2Pb,
  containerEventsPb,
  contentEventsPb,
  imageEventsPb,
  namespaceEventsPb,
  runcOptionsPb,
  snapshotEventsPb,
  taskEventsPb,
} from "./proto.js";

// containerd decodes Any values by their bare type URL. protobuf-es' anyPack() would prefix
// "type.googleapis.com/", which the shim rejects ("type with url ... not found"), so every Any
// berth sends is built by hand here (toolchain-facts §2).
export const SPEC_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
export const PROCESS_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process";
export const LINUX_RESOURCES_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
export const RUNC_OPTIONS_TYPE_URL = "containerd.runc.v1.Options";
export const RUNC_CHECKPOINT_OPTIONS_TYPE_URL = "containerd.runc.v1.CheckpointOptions";
export const CGROUPS_V1_METRICS_TYPE_URL = "io.containerd.cgroups.v1.Metrics";
export const CGROUPS_V2_METRICS_TYPE_URL = "io.containerd.cgroups.v2.Metrics";

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function jsonAny(typeUrl: string, value: unknown): Any {
  return create(AnySchema, { typeUrl, value: utf8.encode(JSON.stringify(value)) });
}

function jsonFromAny<T>(any: Any | undefined, typeUrl: string, what: string): T {
  if (!any) throw errInvalidArgument(`${what}: missing`);
  if (any.typeUrl !== typeUrl) throw errInvalidArgument(`${what}: unexpected type URL ${any.typeUrl}`);
  try {
    return JSON.parse(fromUtf8.decode(any.value)) as T;
  } catch (e) {
    throw errInvalidArgument(`${what}: not valid JSON`, { cause: e });
  }
}

export const specToAny = (spec: Spec): Any => jsonAny(SPEC_TYPE_URL, spec);
export const specFromAny = (any: Any | undefined): Spec => jsonFromAny<Spec>(any, SPEC_TYPE_URL, "OCI spec");
export const processToAny = (p: OciProcess): Any => jsonAny(PROCESS_TYPE_URL, p);

export type RuncOptions = runcOptionsPb.Options;
export type RuncOptionsInit = Partial<Omit<runcOptionsPb.Options, "$typeName" | "$unknown">>;

export function runcOptionsToAny(opts: RuncOptionsInit): Any {
  const msg = create(runcOptionsPb.OptionsSchema, opts);
  return create(AnySchema, { typeUrl: RUNC_OPTIONS_TYPE_URL, value: toBinary(runcOptionsPb.OptionsSchema, msg) });
}

export function runcOptionsFromAny(any: Any | undefined): RuncOptions | undefined {
  if (!any || any.typeUrl !== RUNC_OPTIONS_TYPE_URL) return undefined;
  return fromBinary(runcOptionsPb.OptionsSchema, any.value);
}

export function checkpointOptionsToAny(
  opts: Partial<Omit<runcOptionsPb.CheckpointOptions, "$typeName" | "$unknown">>,
): Any {
  const msg = create(runcOptionsPb.CheckpointOptionsSchema, opts);
  return create(AnySchema, {
    typeUrl: RUNC_CHECKPOINT_OPTIONS_TYPE_URL,
    value: toBinary(runcOptionsPb.CheckpointOptionsSchema, msg),
  });
}

export type CgroupsV1Metrics = cgroupsV1Pb.Metrics;

/** Tasks/Metrics data on a cgroup v1 host. */
export function cgroupsV1MetricsFromAny(any: Any | undefined): CgroupsV1Metrics | undefined {
  if (!any || any.typeUrl !== CGROUPS_V1_METRICS_TYPE_URL) return undefined;
  return fromBinary(cgroupsV1Pb.MetricsSchema, any.value);
}

export type CgroupsV2Metrics = cgroupsV2Pb.Metrics;

/** Tasks/Metrics data on a cgroup v2 (unified) host. */
export function cgroupsV2MetricsFromAny(any: Any | undefined): CgroupsV2Metrics | undefined {
  if (!any || any.typeUrl !== CGROUPS_V2_METRICS_TYPE_URL) return undefined;
  return fromBinary(cgroupsV2Pb.MetricsSchema, any.value);
}

/** A task's metrics as the host's cgroup version shapes them. */
export type CgroupMetrics = { version: 1; v1: CgroupsV1Metrics } | { version: 2; v2: CgroupsV2Metrics };

/** Either version's Tasks/Metrics data; undefined for another type (or none). */
export function cgroupMetricsFromAny(any: Any | undefined): CgroupMetrics | undefined {
  const v1 = cgroupsV1MetricsFromAny(any);
  if (v1) return { version: 1, v1 };
  const v2 = cgroupsV2MetricsFromAny(any);
  return v2 ? { version: 2, v2 } : undefined;
}

/** Every event payload containerd 1.6 publishes. */
export const eventRegistry = createRegistry(
  taskEventsPb.file_github_com_containerd_containerd_api_events_task,
  containerEventsPb.file_github_com_containerd_containerd_api_events_container,
  contentEventsPb.file_github_com_containerd_containerd_api_events_content,
  imageEventsPb.file_github_com_containerd_containerd_api_events_image,
  namespaceEventsPb.file_github_com_containerd_containerd_api_events_namespace,
  snapshotEventsPb.file_github_com_containerd_containerd_api_events_snapshot,
);

/** Decodes an event payload (bare type URL such as `containerd.events.TaskExit`). */
export function decodeEvent(any: Any | undefined): Message | undefined {
  if (!any) return undefined;
  return anyUnpack(any, eventRegistry);
}
