// GET /distribution/{name}/json: what a registry holds for a reference — the descriptor of the
// manifest (or index) it answers with, and the platforms it covers (an index lists them; a
// single manifest's come from its config), as dockerd's distribution router reports them.
import { errInvalidArgument } from "../base/errors.js";
import { sha256Digest } from "./digest.js";
import type { DistributionClient } from "./distribution.js";
import { parseConfig, parseManifestOrIndex, type Descriptor, type Platform } from "./oci.js";
import { manifestMediaType } from "./pull.js";
import type { ImageReference } from "./reference.js";

export interface DistributionInspect {
  descriptor: Descriptor;
  platforms: Platform[];
}

export async function inspectDistribution(dc: DistributionClient, r: ImageReference): Promise<DistributionInspect> {
  const reference = r.digest ?? r.tag!;
  const what = `manifest ${dc.what}${r.digest ? "@" : ":"}${reference}`;
  const got = await dc.getManifest(reference);
  const digest = sha256Digest(got.bytes);
  if (r.digest && digest !== r.digest) throw errInvalidArgument(`${what}: content has digest ${digest}`);
  const descriptor: Descriptor = { mediaType: manifestMediaType(got.mediaType, got.bytes, what), digest, size: got.bytes.length };
  const parsed = parseManifestOrIndex(got.bytes, descriptor);
  if (parsed.kind === "index") {
    return { descriptor, platforms: parsed.index.manifests.flatMap((m) => (m.platform ? [platformJson(m.platform)] : [])) };
  }
  const config = parsed.manifest.config;
  const { res } = await dc.getBlob(config.digest, 0);
  const bytes = Buffer.from(await res.arrayBuffer());
  if (sha256Digest(bytes) !== config.digest) throw errInvalidArgument(`config ${config.digest}: content does not match its digest`);
  const c = parseConfig(bytes, config.digest) as { architecture?: string; os?: string; variant?: string; "os.version"?: string; "os.features"?: string[] };
  return { descriptor, platforms: [platformJson({ architecture: c.architecture ?? "", os: c.os ?? "", ...(c.variant ? { variant: c.variant } : {}), ...(c["os.version"] ? { "os.version": c["os.version"] } : {}), ...(c["os.features"] ? { "os.features": c["os.features"] } : {}) } as Platform)] };
}

/** ocispec.Platform as Go writes it: architecture, os, os.version, os.features, variant; empty ones left out. */
function platformJson(p: Platform & { "os.features"?: string[] }): Platform {
  return {
    architecture: p.architecture,
    os: p.os,
    ...(p["os.version"] ? { "os.version": p["os.version"] } : {}),
    ...(p["os.features"]?.length ? { "os.features": p["os.features"] } : {}),
    ...(p.variant ? { variant: p.variant } : {}),
  } as Platform;
}
