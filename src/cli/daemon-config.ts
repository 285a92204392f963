// From berthd's command line and configuration file to DaemonOptions: which options the command
// line set (commander knows each value's source), the file read and merged (config-file.ts), the
// defaults applied last. berthd.ts defines the flags; this module decides what they mean.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { errInvalidArgument } from "../base/errors.js";
import { CONFIG_KEYS, effectiveLogLevel, mergeConfig, parseDaemonConfig, type ConfigKey, type DaemonConfig } from "./config-file.js";
import type { DaemonOptions } from "./daemon.js";

export const DEFAULT_CONFIG_FILE = "/etc/berth/daemon.json";
export const DEFAULT_HOST = "unix:///run/berth/berth.sock";

/** commander's attribute name of a config key's flag ("log-level" → "logLevel"). */
function attributeOf(key: ConfigKey): string {
  return CONFIG_KEYS[key].flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The options set on the command line, by config key (defaults are not "set"). `--root` is the
 * older spelling of `--data-root`; giving both is an error.
 */
export function flagsSet(program: Pick<Command, "opts" | "getOptionValueSource">): DaemonConfig {
  const opts = program.opts<Record<string, unknown>>();
  const fromCli = (attr: string) => program.getOptionValueSource(attr) === "cli" && opts[attr] !== undefined;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(CONFIG_KEYS) as ConfigKey[]) {
    const attr = attributeOf(key);
    if (fromCli(attr)) out[key] = opts[attr];
  }
  // commander names --no-new-privileges as the negation of "newPrivileges".
  if (fromCli("newPrivileges") && opts.newPrivileges === false) out["no-new-privileges"] = true;
  if (fromCli("root")) {
    if (out["data-root"] !== undefined) throw errInvalidArgument("--root and --data-root name the same option: give one");
    out["data-root"] = opts.root;
  }
  return out as DaemonConfig;
}

/**
 * Reads the configuration file. The default file may be missing (no configuration); a file named
 * with --config-file must exist.
 */
export async function readConfigFile(file: string, explicit: boolean): Promise<DaemonConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" && !explicit) return {};
    throw errInvalidArgument(`cannot read the configuration file ${file}: ${(e as Error).message}`);
  }
  return parseDaemonConfig(text, file);
}

/** The command line and the file together (see mergeConfig for conflicts). */
export async function loadDaemonConfig(flags: DaemonConfig, file: string, explicit: boolean): Promise<DaemonConfig> {
  return mergeConfig(flags, await readConfigFile(file, explicit), file);
}

/**
 * DaemonOptions from the merged configuration, with berthd's defaults. `groupExists` tells
 * whether the default socket group (docker) exists on this host.
 */
export function toDaemonOptions(c: DaemonConfig, o: { groupExists: (name: string) => boolean }): DaemonOptions {
  // dockerd's default group: the socket belongs to `docker` when that group exists, so its
  // members use the API without sudo; an explicit empty group keeps root's.
  const group = c.group !== undefined ? c.group : o.groupExists("docker") ? "docker" : undefined;
  return {
    root: c["data-root"] ?? "/var/lib/berth",
    hosts: c.hosts?.length ? c.hosts : [DEFAULT_HOST],
    ...(group ? { group } : {}),
    ...(c.containerd ? { containerd: c.containerd, containerdState: c["containerd-state"] ?? "/run/containerd" } : {}),
    namespace: c["containerd-namespace"] ?? "berth",
    tls: {
      ...(c.tls ? { tls: true } : {}),
      ...(c.tlsverify ? { tlsverify: true } : {}),
      ...(c.tlscacert ? { tlscacert: c.tlscacert } : {}),
      ...(c.tlscert ? { tlscert: c.tlscert } : {}),
      ...(c.tlskey ? { tlskey: c.tlskey } : {}),
      ...(c["insecure-tcp"] ? { insecureTcp: true } : {}),
    },
    bridge: c.bridge ?? "berth0",
    ...(c.bip ? { bip: c.bip } : {}),
    ...(c.mtu !== undefined ? { mtu: c.mtu } : {}),
    ...(c.dns || c["dns-search"] || c["dns-opts"]
      ? { dns: { ...(c.dns ? { servers: c.dns } : {}), ...(c["dns-search"] ? { search: c["dns-search"] } : {}), ...(c["dns-opts"] ? { options: c["dns-opts"] } : {}) } }
      : {}),
    ...(c["default-address-pools"] ? { defaultAddressPools: c["default-address-pools"] } : {}),
    ...(c["metrics-addr"] ? { metricsAddress: c["metrics-addr"] } : {}),
    ...(c["seccomp-profile"] !== undefined ? { seccompProfile: c["seccomp-profile"] } : {}),
    ...(c["exec-opts"]?.length ? { execOpts: c["exec-opts"] } : {}),
    ...(c["shim-group-size"] !== undefined && c["shim-group-size"] > 1 ? { shimGroupSize: c["shim-group-size"] } : {}),
    ...(c["no-new-privileges"] || c["default-ulimits"]?.length || c["userns-remap"]
      ? {
        security: {
          ...(c["no-new-privileges"] ? { noNewPrivileges: true } : {}),
          ...(c["default-ulimits"]?.length ? { defaultUlimits: c["default-ulimits"] } : {}),
          ...(c["userns-remap"] ? { usernsRemap: c["userns-remap"] } : {}),
        },
      }
      : {}),
    logLevel: effectiveLogLevel(c),
    logFormat: c["log-format"] ?? "text",
    live: liveSettings(c),
  };
}

/** The settings SIGHUP may change while the daemon runs (read by the daemon at each use). */
export interface LiveSettings {
  debug: boolean;
  labels: string[];
  registryMirrors: string[];
  insecureRegistries: string[];
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
}

export function liveSettings(c: DaemonConfig): LiveSettings {
  return {
    debug: c.debug ?? false,
    labels: c.labels ?? [],
    registryMirrors: c["registry-mirrors"] ?? [],
    insecureRegistries: c["insecure-registries"] ?? [],
    // dockerd's defaults: 3 downloads, 5 uploads at a time.
    maxConcurrentDownloads: c["max-concurrent-downloads"] ?? 3,
    maxConcurrentUploads: c["max-concurrent-uploads"] ?? 5,
  };
}

/** Whether /etc/group names `name` (the docker group's default use). */
export function groupExists(name: string, etcGroup = "/etc/group"): boolean {
  try {
    return readFileSync(etcGroup, "utf8").split("\n").some((l) => l.split(":")[0] === name);
  } catch {
    return false;
  }
}
