// Image views → Docker's JSON (types.ImageSummary, ImageInspect, HistoryResponseItem), names in
// the familiar form the docker CLI shows ("busybox:latest", not "docker.io/library/busybox:latest").
import type { ImageHistoryView, ImageInspectView, ImageSummaryView, ImageUsage } from "./backends.js";
import { rfc3339Nano, unixSeconds, ZERO_TIME } from "./json-time.js";

const DOCKER_IO = "docker.io/";
const OFFICIAL = "docker.io/library/";

/** "docker.io/library/busybox:latest" → "busybox:latest"; "docker.io/u/app:1" → "u/app:1". */
export function familiarName(ref: string): string {
  if (ref.startsWith(OFFICIAL)) {
    const rest = ref.slice(OFFICIAL.length);
    const repo = rest.split(/[:@]/)[0]!;
    return repo.includes("/") ? ref.slice(DOCKER_IO.length) : rest;
  }
  if (ref.startsWith(DOCKER_IO)) return ref.slice(DOCKER_IO.length);
  return ref;
}

const setOf = (keys: readonly string[]) => (keys.length === 0 ? null : Object.fromEntries(keys.map((k) => [k, {}])));
const orNull = <T>(a: readonly T[] | undefined): T[] | null => (a === undefined || a.length === 0 ? null : [...a]);

export function repoTagsJson(v: ImageSummaryView): { RepoTags: string[]; RepoDigests: string[] } {
  // dockerd before API 1.44 shows a dangling image as <none>:<none> / <none>@<none>.
  if (v.repoTags.length === 0 && v.repoDigests.length === 0) return { RepoTags: ["<none>:<none>"], RepoDigests: ["<none>@<none>"] };
  return { RepoTags: v.repoTags.map(familiarName), RepoDigests: v.repoDigests.map(familiarName) };
}

export function imageSummaryJson(v: ImageSummaryView | ImageUsage) {
  const usage = "containers" in v ? (v as ImageUsage) : undefined;
  const { RepoTags, RepoDigests } = repoTagsJson(v);
  return {
    Containers: usage ? usage.containers : -1,
    Created: unixSeconds(v.created),
    Id: v.id,
    Labels: Object.keys(v.labels).length === 0 ? null : { ...v.labels },
    ParentId: "",
    RepoDigests,
    RepoTags,
    SharedSize: usage?.sharedSize ?? -1,
    Size: v.size,
    VirtualSize: v.size,
  };
}

export function imageInspectJson(v: ImageInspectView) {
  const c = v.config;
  const { RepoTags, RepoDigests } = repoTagsJson(v);
  const config = {
    Hostname: "",
    Domainname: "",
    User: c.user,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ...(c.exposedPorts.length > 0 ? { ExposedPorts: setOf(c.exposedPorts) } : {}),
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: orNull(c.env),
    Cmd: orNull(c.cmd),
    ...(c.healthcheck
      ? {
          Healthcheck: {
            Test: [...c.healthcheck.test],
            ...(c.healthcheck.intervalNs ? { Interval: c.healthcheck.intervalNs } : {}),
            ...(c.healthcheck.timeoutNs ? { Timeout: c.healthcheck.timeoutNs } : {}),
            ...(c.healthcheck.startPeriodNs ? { StartPeriod: c.healthcheck.startPeriodNs } : {}),
            ...(c.healthcheck.retries ? { Retries: c.healthcheck.retries } : {}),
          },
        }
      : {}),
    Image: "",
    Volumes: setOf(c.volumes),
    WorkingDir: c.workingDir,
    Entrypoint: orNull(c.entrypoint),
    OnBuild: orNull(c.onBuild),
    Labels: Object.keys(c.labels).length === 0 ? null : { ...c.labels },
    ...(c.stopSignal ? { StopSignal: c.stopSignal } : {}),
    ...(c.shell ? { Shell: [...c.shell] } : {}),
  };
  return {
    Id: v.id,
    RepoTags: RepoTags[0] === "<none>:<none>" ? [] : RepoTags,
    RepoDigests: RepoDigests[0] === "<none>@<none>" ? [] : RepoDigests,
    Parent: v.parent ?? "",
    Comment: v.comment,
    Created: v.created ? rfc3339Nano(v.created) : ZERO_TIME,
    Container: v.container ?? "",
    ContainerConfig: v.containerConfig ? { ...v.containerConfig } : { ...config, Cmd: null, Entrypoint: null, Env: null, Labels: null },
    DockerVersion: v.dockerVersion,
    Author: v.author,
    Config: config,
    Architecture: v.architecture,
    ...(v.variant ? { Variant: v.variant } : {}),
    Os: v.os,
    Size: v.size,
    VirtualSize: v.size,
    GraphDriver: { Data: null, Name: "overlayfs" },
    RootFS: { Type: v.rootfs.type, Layers: [...v.rootfs.diffIds] },
    Metadata: { LastTagTime: ZERO_TIME },
  };
}

export function historyJson(entries: ImageHistoryView[]) {
  return entries.map((h) => ({
    Comment: h.comment,
    Created: unixSeconds(h.created),
    CreatedBy: h.createdBy,
    Id: h.id ?? "<missing>",
    Size: h.size,
    Tags: h.tags.length === 0 ? null : h.tags.map(familiarName),
  }));
}
