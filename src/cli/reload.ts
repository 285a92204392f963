// SIGHUP: the configuration file read again and what dockerd reloads applied to the running
// daemon (debug, log-level, labels, registry mirrors, insecure registries, concurrent downloads
// and uploads). A file that does not parse, or that conflicts with the command line, changes
// nothing: the error is logged and berthd runs on as it was.
import type { Logger } from "pino";
import { parseInsecureRegistries } from "../images/index.js";
import { effectiveLogLevel, mergeConfig, reloadChanges, type DaemonConfig } from "./config-file.js";
import { readConfigFile, type LiveSettings } from "./daemon-config.js";

export interface ReloadContext {
  file: string;
  explicit: boolean;
  /** Options set on the command line (they stay; the file may not set them too). */
  flags: DaemonConfig;
  /** The configuration in force; replaced by a successful reload. */
  current: DaemonConfig;
  live: LiveSettings;
  logger: Logger;
}

/** Reloads; resolves with whether anything was applied. Never rejects. */
export async function reloadConfiguration(c: ReloadContext): Promise<boolean> {
  let next: DaemonConfig;
  try {
    next = mergeConfig(c.flags, await readConfigFile(c.file, c.explicit), c.file);
    parseInsecureRegistries(next["insecure-registries"] ?? []);
  } catch (e) {
    c.logger.error({ file: c.file, err: e }, `configuration reload failed, nothing changed: ${(e as Error).message}`);
    return false;
  }
  const { changes, restartOnly } = reloadChanges(c.current, next);
  const merged: DaemonConfig = { ...c.current, ...next };
  for (const ch of changes) {
    switch (ch.key) {
      case "debug":
      case "log-level":
        c.live.debug = merged.debug ?? false;
        c.logger.level = effectiveLogLevel(merged);
        break;
      case "labels": c.live.labels = [...(merged.labels ?? [])]; break;
      case "registry-mirrors": c.live.registryMirrors = [...(merged["registry-mirrors"] ?? [])]; break;
      case "insecure-registries": c.live.insecureRegistries = [...(merged["insecure-registries"] ?? [])]; break;
      case "max-concurrent-downloads": c.live.maxConcurrentDownloads = merged["max-concurrent-downloads"] ?? 3; break;
      case "max-concurrent-uploads": c.live.maxConcurrentUploads = merged["max-concurrent-uploads"] ?? 5; break;
      case "live-restore": break; // always on; false is refused when the file is read
      default: break;
    }
  }
  c.current = merged;
  const changed = Object.fromEntries(changes.map((ch) => [ch.key, { from: ch.from ?? null, to: ch.to }]));
  c.logger.info({ file: c.file, changed }, changes.length ? `configuration reloaded: ${changes.map((ch) => ch.key).join(", ")}` : "configuration reloaded: nothing changed");
  if (restartOnly.length) {
    c.logger.warn({ keys: restartOnly }, `changed in ${c.file} but applied only when berthd starts: ${restartOnly.join(", ")}`);
  }
  return changes.length > 0;
}
