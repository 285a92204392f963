// Engine shapes of an image (summary, inspect, history) from its records and config.
import type { ImageRecord, ResolvedImage } from "./image-store.js";
import { isDanglingName, LABEL_BUILD_INTERMEDIATE, LABEL_FROM_REGISTRY, LABEL_PARENT } from "./image-store.js";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
import type { ContainerConfigJson } from "./oci.js";
import { parseReference, repositoryName } from "./reference.js";
import type { HistoryEntry, ImageInspect, ImageRuntimeConfig, ImageSummary } from "./types.js";

function date(s: string | undefined): Date | undefined {
  if (!s) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function repoTagsOf(records: ImageRecord[]): string[] {
  return records.map((r) => r.name).filter((n) => !isDanglingName(n) && !n.includes("@")).sort();
}

export function repoDigestsOf(image: ResolvedImage, records: ImageRecord[]): string[] {
  const out = new Set<string>();
  for (const r of records) {
    if (isDanglingName(r.name)) continue;
    let ref;
    try { ref = parseReference(r.name); } catch { continue; }
    if (ref.digest !== undefined || r.labels[LABEL_FROM_REGISTRY] !== undefined) out.add(`${repositoryName(ref)}@${image.target.digest}`);
  }
  return [...out].sort();
}

export function summaryOf(image: ResolvedImage, records: ImageRecord[]): ImageSummary {
  return {
    id: image.id,
    repoTags: repoTagsOf(records),
    repoDigests: repoDigestsOf(image, records),
    created: date(image.config.created),
    size: image.size,
    labels: { ...(image.config.config?.Labels ?? {}) },
    ...(records.length > 0 && records.every((r) => r.labels[LABEL_BUILD_INTERMEDIATE] === "true") ? { intermediate: true } : {}),
  };
}

export function runtimeConfigOf(c: ContainerConfigJson | undefined): ImageRuntimeConfig {
  const hc = c?.Healthcheck;
  return {
    cmd: c?.Cmd ?? undefined,
    entrypoint: c?.Entrypoint ?? undefined,
    env: c?.Env ?? [],
    workingDir: c?.WorkingDir ?? "",
    user: c?.User ?? "",
    exposedPorts: Object.keys(c?.ExposedPorts ?? {}).sort(),
    labels: { ...(c?.Labels ?? {}) },
    healthcheck: hc?.Test ? {
      test: hc.Test, intervalNs: hc.Interval ?? 0, timeoutNs: hc.Timeout ?? 0, startPeriodNs: hc.StartPeriod ?? 0, retries: hc.Retries ?? 0,
    } : undefined,
    volumes: Object.keys(c?.Volumes ?? {}).sort(),
    stopSignal: c?.StopSignal || undefined,
    onBuild: c?.OnBuild ?? [],
    shell: c?.Shell ?? undefined,
  };
}

export function inspectOf(image: ResolvedImage, records: ImageRecord[]): ImageInspect {
  const cfg = image.config;
  return {
    ...summaryOf(image, records),
    target: image.target,
    manifestDigest: image.manifestDesc.digest,
    architecture: cfg.architecture,
    os: cfg.os,
    variant: cfg.variant,
    author: cfg.author ?? "",
    // dockerd falls back to the last history entry's comment (a commit's message is only there).
    comment: cfg.comment || (cfg.history?.at(-1)?.comment ?? ""),
    parent: records.map((r) => r.labels[LABEL_PARENT]).find((p) => p !== undefined) ?? "",
    container: typeof cfg.container === "string" ? cfg.container : "",
    ...(isObject(cfg.container_config) ? { containerConfig: { ...cfg.container_config } } : {}),
    dockerVersion: cfg.docker_version ?? "",
    config: runtimeConfigOf(cfg.config),
    rootfs: { type: cfg.rootfs.type, diffIds: [...cfg.rootfs.diff_ids] },
    chainId: image.chainId,
  };
}

/** Newest first, as `docker history` prints it; layer sizes are the blobs' sizes. */
export function historyOf(image: ResolvedImage, records: ImageRecord[]): HistoryEntry[] {
  const hist = image.config.history ?? [];
  const layers = image.manifest.layers;
  const entries: HistoryEntry[] = [];
  let li = 0;
  if (hist.length === 0) {
    // No history: one entry per layer, as dockerd shows it.
    for (const l of layers) entries.push({ id: undefined, created: undefined, createdBy: "", comment: "", tags: [], size: l.size, emptyLayer: false });
  }
  for (const h of hist) {
    const empty = h.empty_layer === true;
    const size = empty ? 0 : (layers[li++]?.size ?? 0);
    entries.push({ id: undefined, created: date(h.created), createdBy: h.created_by ?? "", comment: h.comment ?? "", tags: [], size, emptyLayer: empty });
  }
  entries.reverse();
  if (entries[0]) {
    entries[0].id = image.id;
    entries[0].tags = repoTagsOf(records);
  }
  return entries;
}
