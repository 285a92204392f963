// berthd's configuration file, read as dockerd reads daemon.json: the same key names where an
// option exists in both, every key checked (a dockerd key berth does not implement is refused by
// name, an unknown key too), and an option given both as a flag and in the file is an error.
// Pure: text in, values out; berthd.ts reads the file and applies the result.
import { isIP } from "node:net";
import { errInvalidArgument } from "../base/errors.js";
import { parseUlimitFlag } from "../daemon/daemon-security.js";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";
export const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal"];

export interface AddressPoolConfig {
  base: string;
  size: number;
}

/** The options a configuration file may set, by their key in the file. */
export interface DaemonConfig {
  "data-root"?: string;
  hosts?: string[];
  group?: string;
  "log-level"?: LogLevel;
  "log-format"?: "text" | "json";
  debug?: boolean;
  pidfile?: string;
  containerd?: string;
  "containerd-state"?: string;
  "containerd-namespace"?: string;
  bridge?: string;
  bip?: string;
  mtu?: number;
  dns?: string[];
  "dns-search"?: string[];
  "dns-opts"?: string[];
  "default-address-pools"?: AddressPoolConfig[];
  "metrics-addr"?: string;
  labels?: string[];
  "registry-mirrors"?: string[];
  "insecure-registries"?: string[];
  "max-concurrent-downloads"?: number;
  "max-concurrent-uploads"?: number;
  "live-restore"?: boolean;
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  "seccomp-profile"?: string;
  /** native.cgroupdriver=cgroupfs|systemd (daemon/cgroups.ts). */
  "exec-opts"?: string[];
  "no-new-privileges"?: boolean;
  /**
   * dockerd's `{"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}`, held as the flag's
   * `name=soft:hard` values so that the file and --default-ulimit mean the same.
   */
  "default-ulimits"?: string[];
  /** default, USER or USER:GROUP (daemon/userns.ts). */
  "userns-remap"?: string;
  /** berth's own: plain TCP on a non-loopback address (listeners.ts). */
  "insecure-tcp"?: boolean;
  /** berth's own: containers per shared runc v2 shim (daemon/shim-groups.ts); 1 is a shim each. */
  "shim-group-size"?: number;
}

export type ConfigKey = keyof DaemonConfig;
type Kind = "string" | "boolean" | "strings" | "int" | "pools" | "log-level" | "log-format" | "ulimits";

/** Each key berth reads, its type, and the flag that sets the same option (for conflicts). */
export const CONFIG_KEYS: { readonly [K in ConfigKey]-?: { kind: Kind; flag: string } } = {
  "data-root": { kind: "string", flag: "data-root" },
  hosts: { kind: "strings", flag: "host" },
  group: { kind: "string", flag: "group" },
  "log-level": { kind: "log-level", flag: "log-level" },
  "log-format": { kind: "log-format", flag: "log-format" },
  debug: { kind: "boolean", flag: "debug" },
  pidfile: { kind: "string", flag: "pidfile" },
  containerd: { kind: "string", flag: "containerd" },
  "containerd-state": { kind: "string", flag: "containerd-state" },
  "containerd-namespace": { kind: "string", flag: "containerd-namespace" },
  bridge: { kind: "string", flag: "bridge" },
  bip: { kind: "string", flag: "bip" },
  mtu: { kind: "int", flag: "mtu" },
  dns: { kind: "strings", flag: "dns" },
  "dns-search": { kind: "strings", flag: "dns-search" },
  "dns-opts": { kind: "strings", flag: "dns-opt" },
  "default-address-pools": { kind: "pools", flag: "default-address-pool" },
  "metrics-addr": { kind: "string", flag: "metrics-addr" },
  labels: { kind: "strings", flag: "label" },
  "registry-mirrors": { kind: "strings", flag: "registry-mirror" },
  "insecure-registries": { kind: "strings", flag: "insecure-registry" },
  "max-concurrent-downloads": { kind: "int", flag: "max-concurrent-downloads" },
  "max-concurrent-uploads": { kind: "int", flag: "max-concurrent-uploads" },
  "live-restore": { kind: "boolean", flag: "live-restore" },
  tls: { kind: "boolean", flag: "tls" },
  tlsverify: { kind: "boolean", flag: "tlsverify" },
  tlscacert: { kind: "string", flag: "tlscacert" },
  tlscert: { kind: "string", flag: "tlscert" },
  tlskey: { kind: "string", flag: "tlskey" },
  "insecure-tcp": { kind: "boolean", flag: "insecure-tcp" },
  "seccomp-profile": { kind: "string", flag: "seccomp-profile" },
  "exec-opts": { kind: "strings", flag: "exec-opt" },
  "no-new-privileges": { kind: "boolean", flag: "no-new-privileges" },
  "default-ulimits": { kind: "ulimits", flag: "default-ulimit" },
  "userns-remap": { kind: "string", flag: "userns-remap" },
  "shim-group-size": { kind: "int", flag: "shim-group-size" },
};

/**
 * dockerd 20.10's daemon.json keys that berth does not implement: refused by name so that a file
 * written for dockerd never half-applies. A key moves to CONFIG_KEYS when berth honours it.
 */
export const DOCKERD_ONLY_KEYS: readonly string[] = [
  "allow-nondistributable-artifacts", "api-cors-header", "authorization-plugins", "bridge-nf-call-iptables",
  "builder", "cgroup-parent", "cluster-advertise", "cluster-store", "cluster-store-opts", "containerd-plugins-namespace",
  "cpu-rt-period", "cpu-rt-runtime", "cri-containerd", "default-cgroupns-mode", "default-gateway", "default-gateway-v6",
  "default-ipc-mode", "default-runtime", "default-shm-size",
  "exec-root", "experimental", "features", "fixed-cidr", "fixed-cidr-v6", "host-gateway-ip", "icc",
  "init", "init-path", "ip", "ip-forward", "ip-masq", "ip6tables", "iptables", "ipv6", "log-driver", "log-opts",
  "max-download-attempts", "network-control-plane-mtu", "node-generic-resources",
  "oom-score-adjust", "raw-logs", "runtimes", "selinux-enabled", "shutdown-timeout",
  "storage-driver", "storage-opts", "swarm-default-advertise-addr", "userland-proxy", "userland-proxy-path",
  "rootless", "debug-address", "proxies",
];

/** Why a dockerd key is refused, when there is more to say than "not supported". */
const REFUSAL_HINTS: Record<string, string> = {
  "log-driver": "berth writes json-file logs (or none per container)",
  "storage-driver": "containerd's overlayfs snapshotter is used",
};

/** Options SIGHUP applies to a running daemon (what dockerd's reload applies, where berth has it). */
export const RELOADABLE_KEYS: readonly ConfigKey[] = [
  "debug", "log-level", "labels", "registry-mirrors", "insecure-registries",
  "max-concurrent-downloads", "max-concurrent-uploads", "live-restore",
];

function describe(v: unknown): string {
  return Array.isArray(v) ? `[${v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(" ")}]` : typeof v === "object" ? JSON.stringify(v) : String(v);
}

function checkValue(key: ConfigKey, kind: Kind, v: unknown): unknown {
  const bad = (what: string) => errInvalidArgument(`invalid value for "${key}": ${what}, got ${JSON.stringify(v)}`);
  switch (kind) {
    case "string":
      if (typeof v !== "string") throw bad("a string is expected");
      return v;
    case "boolean":
      if (typeof v !== "boolean") throw bad("true or false is expected");
      return v;
    case "int":
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw bad("a non-negative integer is expected");
      return v;
    case "strings":
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw bad("a list of strings is expected");
      return [...v];
    case "log-level":
      if (typeof v !== "string" || !LOG_LEVELS.includes(v as LogLevel)) throw bad(`one of ${LOG_LEVELS.join(", ")} is expected`);
      return v;
    case "log-format":
      if (v !== "text" && v !== "json") throw bad('"text" or "json" is expected');
      return v;
    case "pools":
      if (!Array.isArray(v)) throw bad("a list of {\"base\": CIDR, \"size\": prefix length} is expected");
      return v.map((p: unknown) => {
        const o = p as { base?: unknown; size?: unknown };
        if (typeof o !== "object" || o === null || typeof o.base !== "string" || typeof o.size !== "number" || !Number.isInteger(o.size)) {
          throw bad("each pool needs \"base\" (a CIDR) and \"size\" (a prefix length)");
        }
        const extra = Object.keys(o).filter((k) => k !== "base" && k !== "size");
        if (extra.length) throw bad(`unknown pool field ${extra.join(", ")}`);
        return { base: o.base, size: o.size };
      });
    case "ulimits": {
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad('an object {"NAME": {"Name": "NAME", "Soft": N, "Hard": N}} is expected');
      return Object.entries(v).map(([name, u]: [string, unknown]) => {
        const o = u as { Name?: unknown; Soft?: unknown; Hard?: unknown };
        if (typeof o !== "object" || o === null || !Number.isInteger(o.Soft) || !Number.isInteger(o.Hard)) throw bad(`"${name}" needs integer "Soft" and "Hard"`);
        if (o.Name !== undefined && o.Name !== name) throw bad(`"${name}" has "Name" ${JSON.stringify(o.Name)}`);
        const extra = Object.keys(o).filter((k) => k !== "Name" && k !== "Soft" && k !== "Hard");
        if (extra.length) throw bad(`unknown ulimit field ${extra.join(", ")}`);
        const value = `${name}=${String(o.Soft)}:${String(o.Hard)}`;
        try {
          parseUlimitFlag(value);
        } catch (e) {
          throw bad((e as Error).message);
        }
        return value;
      });
    }
  }
}

/** Checks the meaning of values that type checks alone do not catch. */
export function validateConfig(c: DaemonConfig): void {
  for (const l of c.labels ?? []) {
    if (!/^[^=]+=/.test(l)) throw errInvalidArgument(`invalid label ${JSON.stringify(l)}: labels are key=value`);
  }
  if (c["live-restore"] === false) {
    throw errInvalidArgument('"live-restore": false is not supported by berth: containers always keep running while berthd stops or restarts (live restore is always on)');
  }
  for (const d of c.dns ?? []) {
    if (!isIP(d)) throw errInvalidArgument(`invalid "dns" entry ${JSON.stringify(d)}: an IP address is expected`);
  }
  if (c.mtu !== undefined && (c.mtu < 68 || c.mtu > 65535)) throw errInvalidArgument(`invalid "mtu" ${c.mtu}: 68 to 65535`);
  for (const k of ["max-concurrent-downloads", "max-concurrent-uploads", "shim-group-size"] as const) {
    if (c[k] === 0) throw errInvalidArgument(`invalid "${k}": at least 1`);
  }
  for (const m of c["registry-mirrors"] ?? []) {
    let u: URL;
    try {
      u = new URL(m);
    } catch {
      throw errInvalidArgument(`invalid registry mirror ${JSON.stringify(m)}: a URL such as https://mirror.example.com is expected`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw errInvalidArgument(`invalid registry mirror ${JSON.stringify(m)}: the scheme must be http or https`);
  }
}

/**
 * Parses a configuration file's text: a JSON object whose keys are all known. `file` names the
 * file in errors.
 */
export function parseDaemonConfig(text: string, file: string): DaemonConfig {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw errInvalidArgument(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw errInvalidArgument(`${file}: a JSON object is expected`);
  const out: Record<string, unknown> = {};
  const unsupported: string[] = [];
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(v)) {
    const spec = (CONFIG_KEYS as Record<string, { kind: Kind } | undefined>)[key];
    if (spec) out[key] = checkValue(key as ConfigKey, spec.kind, value);
    else if (DOCKERD_ONLY_KEYS.includes(key)) unsupported.push(key);
    else unknown.push(key);
  }
  if (unknown.length) {
    throw errInvalidArgument(`${file}: the following directives don't match any configuration option: ${unknown.join(", ")}`);
  }
  if (unsupported.length) {
    const said = unsupported.map((k) => (REFUSAL_HINTS[k] ? `${k} (${REFUSAL_HINTS[k]})` : k));
    throw errInvalidArgument(`${file}: the following directives are not supported by berth: ${said.join(", ")}`);
  }
  const c = out as DaemonConfig;
  try {
    validateConfig(c);
  } catch (e) {
    throw errInvalidArgument(`${file}: ${(e as Error).message}`);
  }
  return c;
}

/**
 * `flags` (options set on the command line, by config key) and `file` together; an option set in
 * both is an error naming each, as dockerd's is.
 */
export function mergeConfig(flags: DaemonConfig, file: DaemonConfig, fileName: string): DaemonConfig {
  const conflicts = (Object.keys(file) as ConfigKey[])
    .filter((k) => flags[k] !== undefined)
    .map((k) => `${k}: (from flag: ${describe(flags[k])}, from file: ${describe(file[k])})`);
  if (conflicts.length) {
    throw errInvalidArgument(
      `unable to configure berthd with file ${fileName}: the following directives are specified both as a flag and in the configuration file: ${conflicts.join(", ")}`,
    );
  }
  const merged = { ...flags, ...file };
  validateConfig(merged);
  return merged;
}

export interface ReloadChange {
  key: ConfigKey;
  from: unknown;
  to: unknown;
}

/**
 * What a reload changes: keys of `next` that SIGHUP applies and whose value differs from
 * `current`. As dockerd's reload, a key absent from `next` keeps its current value; keys that only
 * a restart applies are listed in `restartOnly` when they differ.
 */
export function reloadChanges(current: DaemonConfig, next: DaemonConfig): { changes: ReloadChange[]; restartOnly: ConfigKey[] } {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const changes: ReloadChange[] = [];
  const restartOnly: ConfigKey[] = [];
  for (const k of Object.keys(next) as ConfigKey[]) {
    if (same(current[k], next[k])) continue;
    if (RELOADABLE_KEYS.includes(k)) changes.push({ key: k, from: current[k], to: next[k] });
    else restartOnly.push(k);
  }
  return { changes, restartOnly };
}

/** The log level the options mean: --debug wins over --log-level, as in dockerd. */
export function effectiveLogLevel(c: DaemonConfig): LogLevel {
  return c.debug ? "debug" : c["log-level"] ?? "info";
}
