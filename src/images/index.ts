// Layer: images. Load, import, pull, push, unpack, list, inspect, tag, remove, save and history
// over containerd's content, images, snapshots, diff and leases services (containerd 1.6 has
// no transfer service, so berth does what containerd's Go client does). Engine types only:
// the API layer turns them into Docker's JSON.
export { createImageService } from "./service.js";
export type * from "./types.js";
export {
  parseReference, normalizeReference, familiarReference, formatReference, repositoryName, isSha256Digest,
  DEFAULT_DOMAIN, DEFAULT_TAG,
} from "./reference.js";
export type { ImageReference } from "./reference.js";
export { chainIds, topChainId, sha256Digest } from "./digest.js";
export { MediaType, layerCompression, isManifestType, isIndexType, isConfigType } from "./oci.js";
export type { Manifest, Index, ImageConfigJson, ContainerConfigJson } from "./oci.js";
export { applyConfigChanges } from "./config-changes.js";
export { commitContainer, mergeCommitConfig, parentMounts, EMPTY_LAYER_DIFF_ID } from "./commit.js";
export type { CommitConfig, CommitContext, CommitInput, CommittedParts } from "./commit.js";
export { unsafeEntryReason, checkLayer } from "./layer-check.js";
export type { LayerCheckResult } from "./layer-check.js";
export { buildBusyboxImage, buildImageArchive, busyboxLayer, tarLayer, BUSYBOX_IMAGE_ENV } from "./busybox-image.js";
export type { BusyboxImageOptions, ImageArchiveOptions, LayerEntry } from "./busybox-image.js";
export { defaultPlainHttp } from "./distribution.js";
export { createImageSource } from "./image-source.js";
export { RegistryHosts, parseInsecureRegistries, readCertsDir, ALWAYS_INSECURE, DEFAULT_CERTS_DIRS } from "./registry-hosts.js";
export type { RegistryHostsOptions, RegistryEndpoint } from "./registry-hosts.js";
