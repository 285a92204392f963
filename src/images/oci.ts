// Media types, descriptors, manifests, indexes and image configs (OCI image spec 1.0 and Docker
// image manifest v2 schema 2), parsed with checks that name what is wrong.
import { errInvalidArgument, errNotFound, errNotImplemented } from "../base/errors.js";
import { isSha256Digest } from "./reference.js";

export const MediaType = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  dockerSchema1Manifest: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
} as const;

/** Annotations a saved OCI layout uses for image names (containerd's and OCI's). */
export const ANNOTATION_IMAGE_NAME = "io.containerd.image.name";
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The runtime part of an image config, as the JSON has it (Docker's capitalized keys). */
export interface ContainerConfigJson {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
  OnBuild?: string[] | null;
  Shell?: string[] | null;
  ArgsEscaped?: boolean;
}

export interface HistoryJson {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfigJson {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfigJson;
  rootfs: { type: string; diff_ids: string[] };
  history?: HistoryJson[];
  docker_version?: string;
  comment?: string;
  [k: string]: unknown;
}

export type LayerCompression = "none" | "gzip" | "zstd";

/** The compression a layer media type names; undefined when it is not a layer type. */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  switch (mediaType) {
    case MediaType.dockerLayer:
    case MediaType.ociLayer:
    case "application/vnd.oci.image.layer.nondistributable.v1.tar":
      return "none";
    case MediaType.dockerLayerGzip:
    case MediaType.dockerForeignLayerGzip:
    case MediaType.ociLayerGzip:
    case "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip":
      return "gzip";
    case MediaType.ociLayerZstd:
    case "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd":
      return "zstd";
    default:
      return undefined;
  }
}

export const isManifestType = (mt: string) => mt === MediaType.dockerManifest || mt === MediaType.ociManifest;
export const isIndexType = (mt: string) => mt === MediaType.dockerManifestList || mt === MediaType.ociIndex;
export const isConfigType = (mt: string) => mt === MediaType.dockerConfig || mt === MediaType.ociConfig;

/**
 * Checks that a layer can be handled: a known layer type, not compressed with zstd (Node 20's
 * zlib cannot read it, so berth cannot check its entries before unpacking).
 */
export function checkLayerMediaType(d: Descriptor): LayerCompression {
  const c = layerCompression(d.mediaType);
  if (c === undefined) throw errInvalidArgument(`unknown layer media type ${JSON.stringify(d.mediaType)} (layer ${d.digest})`);
  if (c === "zstd") throw errNotImplemented(`zstd-compressed layers are not supported yet (layer ${d.digest})`);
  if (d.urls?.length) throw errNotImplemented(`foreign layers with URLs are not supported (layer ${d.digest})`);
  return c;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (e) {
    throw errInvalidArgument(`${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObj(v)) throw errInvalidArgument(`${what}: descriptor is not an object`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== "string" || mediaType === "") throw errInvalidArgument(`${what}: descriptor has no mediaType`);
  if (typeof digest !== "string" || !isSha256Digest(digest)) throw errInvalidArgument(`${what}: invalid digest ${JSON.stringify(digest)}`);
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw errInvalidArgument(`${what}: invalid size ${JSON.stringify(size)}`);
  const d: Descriptor = { mediaType, digest, size };
  if (isObj(v.annotations)) d.annotations = v.annotations as Record<string, string>;
  if (isObj(v.platform)) d.platform = v.platform as unknown as Platform;
  if (Array.isArray(v.urls)) d.urls = v.urls as string[];
  return d;
}

/** Parses a manifest or an index and checks its media type agrees with the descriptor's. */
export function parseManifestOrIndex(bytes: Uint8Array, desc: Pick<Descriptor, "digest" | "mediaType">):
  { kind: "manifest"; manifest: Manifest } | { kind: "index"; index: Index } {
  const what = `manifest ${desc.digest}`;
  const v = parseJson(bytes, what);
  if (!isObj(v)) throw errInvalidArgument(`${what} is not a JSON object`);
  const declared = typeof v.mediaType === "string" ? v.mediaType : undefined;
  if (declared && desc.mediaType && declared !== desc.mediaType) {
    throw errInvalidArgument(`${what}: media type ${declared} differs from the descriptor's ${desc.mediaType}`);
  }
  const mt = declared ?? desc.mediaType ?? (Array.isArray(v.manifests) ? MediaType.ociIndex : MediaType.ociManifest);
  if (v.schemaVersion === 1 || mt === MediaType.dockerSchema1Manifest) {
    throw errNotImplemented(`${what}: Docker schema 1 manifests are not supported`);
  }
  if (v.schemaVersion !== 2) throw errInvalidArgument(`${what}: unsupported schemaVersion ${JSON.stringify(v.schemaVersion)}`);
  if (isIndexType(mt)) {
    if (!Array.isArray(v.manifests)) throw errInvalidArgument(`${what}: index has no manifests`);
    const manifests = v.manifests.map((m, i) => parseDescriptor(m, `${what} manifests[${i}]`));
    return { kind: "index", index: { schemaVersion: 2, mediaType: mt, manifests, ...(isObj(v.annotations) ? { annotations: v.annotations as Record<string, string> } : {}) } };
  }
  if (!isManifestType(mt)) throw errInvalidArgument(`${what}: unknown media type ${JSON.stringify(mt)}`);
  if (!Array.isArray(v.layers)) throw errInvalidArgument(`${what}: manifest has no layers`);
  const config = parseDescriptor(v.config, `${what} config`);
  if (!isConfigType(config.mediaType)) throw errInvalidArgument(`${what}: unknown config media type ${JSON.stringify(config.mediaType)}`);
  const layers = v.layers.map((l, i) => parseDescriptor(l, `${what} layers[${i}]`));
  for (const l of layers) checkLayerMediaType(l);
  return { kind: "manifest", manifest: { schemaVersion: 2, mediaType: mt, config, layers, ...(isObj(v.annotations) ? { annotations: v.annotations as Record<string, string> } : {}) } };
}

export function parseConfig(bytes: Uint8Array, digest: string): ImageConfigJson {
  const what = `image config ${digest}`;
  const v = parseJson(bytes, what);
  if (!isObj(v)) throw errInvalidArgument(`${what} is not a JSON object`);
  const rootfs = v.rootfs;
  if (!isObj(rootfs) || !Array.isArray(rootfs.diff_ids)) throw errInvalidArgument(`${what} has no rootfs.diff_ids`);
  for (const d of rootfs.diff_ids) {
    if (typeof d !== "string" || !isSha256Digest(d)) throw errInvalidArgument(`${what}: invalid diff ID ${JSON.stringify(d)}`);
  }
  if (v.config !== undefined && v.config !== null && !isObj(v.config)) throw errInvalidArgument(`${what}: config is not an object`);
  return v as ImageConfigJson;
}

/** The platform berth runs images for. */
export const HOST_PLATFORM: Platform = { os: "linux", architecture: "amd64" };

export function matchesPlatform(p: Platform | undefined, want: Platform = HOST_PLATFORM): boolean {
  return !!p && p.os === want.os && p.architecture === want.architecture && (!want.variant || p.variant === want.variant);
}

/** The manifest of an index for the platform (linux/amd64): not-found when there is none. */
export function selectManifest(index: Index, indexDigest: string, want: Platform = HOST_PLATFORM): Descriptor {
  const candidates = index.manifests.filter((m) => isManifestType(m.mediaType) || isIndexType(m.mediaType));
  const found = candidates.find((m) => matchesPlatform(m.platform, want))
    // An index without platforms (a single-image OCI layout) names its one image.
    ?? (candidates.length === 1 && !candidates[0]!.platform ? candidates[0] : undefined);
  if (!found) throw errNotFound(`no manifest for ${want.os}/${want.architecture} in index ${indexDigest}`);
  return found;
}

/** A descriptor as JSON with the keys in Go's order (mediaType, digest, size, ...). */
export function descriptorJson(d: Descriptor): Descriptor {
  return {
    mediaType: d.mediaType, digest: d.digest, size: d.size,
    ...(d.urls ? { urls: d.urls } : {}),
    ...(d.annotations ? { annotations: d.annotations } : {}),
    ...(d.platform ? { platform: d.platform } : {}),
  };
}
