/**
 * Runs CNI plugins as the CNI spec (1.0) describes: the plugin binary is executed with CNI_COMMAND,
 * CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH in its environment and the network configuration
 * on stdin; it answers a result (ADD) or an error object on stdout. A configuration list is run as
 * libcni runs a conflist: ADD in order, each plugin getting the previous one's result as
 * `prevResult` and the runtime values of the capabilities it declares as `runtimeConfig`; DEL in
 * reverse order with the cached ADD result as `prevResult`.
 *
 * Every invocation is published on the `berth:network:cni` diagnostics channel (libraries don't log).
 */
import diagnostics_channel from "node:diagnostics_channel";
import { accessSync, constants } from "node:fs";
import path from "node:path";
import { launch } from "../base/launcher.js";
import { BuiltinBridge, isBuiltinBridge, type BridgeConf } from "./bridge-builtin.js";
import { BerthError, errFailedPrecondition, errInternal } from "./errors.js";

export const CNI_VERSION = "1.0.0";

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniIpConfig {
  interface?: number;
  /** CIDR notation: "172.30.0.2/16". */
  address: string;
  gateway?: string;
}

/** A CNI 1.0 result (the fields berth reads; the rest is kept as the plugin wrote it). */
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
  [extra: string]: unknown;
}

/** One plugin of a configuration list: `type` names the binary. */
export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface NetworkConfList {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
}

/** What a runtime passes besides the configuration. */
export interface RuntimeConf {
  containerId: string;
  /** Path of the network namespace; "" on a DEL whose namespace is already gone (IPAM release only). */
  netns: string;
  ifName: string;
  /** Values for capabilities (portMappings, ips, mac): given to the plugins that declare them. */
  capabilityArgs?: Record<string, unknown>;
  /**
   * On DEL: the caller removes the namespace right after, and the interfaces in it go with it, so
   * the built-in bridge (bridge-builtin.ts) deletes none.
   */
  namespaceGoes?: boolean;
}

export interface CniInvocation {
  command: "ADD" | "DEL" | "CHECK";
  plugin: string;
  network: string;
  containerId: string;
  ifName: string;
  durationMs: number;
  error?: string;
}

export const cniChannel = diagnostics_channel.channel("berth:network:cni");

/** A plugin's error object (CNI spec "Error"), with the plugin that wrote it. */
export class CniPluginError extends BerthError {
  readonly plugin: string;
  readonly cniCode: number | undefined;
  constructor(plugin: string, command: string, message: string, cniCode: number | undefined, cause?: unknown) {
    super("internal", `CNI plugin ${plugin} ${command} failed: ${message}`, cause === undefined ? {} : { cause });
    this.plugin = plugin;
    this.cniCode = cniCode;
  }
}

export interface CniRunnerOptions {
  /** Directories holding the plugin binaries, searched in order (CNI_PATH). */
  paths: readonly string[];
  /**
   * berth's own `bridge` + `host-local` (bridge-builtin.ts) for the configurations it covers,
   * instead of the two plugin binaries (default true; BERTH_CNI_BRIDGE=plugin turns it off).
   */
  builtinBridge?: boolean;
  /** Upper bound for one plugin execution (default 60 s). */
  timeoutMs?: number;
}

export interface CniRunner {
  readonly paths: readonly string[];
  /** The binary of a plugin type; throws failed-precondition when no directory has it. */
  find(type: string): string;
  /** `onResult` runs after each plugin, before the next (to persist what DEL will need). */
  add(list: NetworkConfList, rt: RuntimeConf, signal?: AbortSignal, onResult?: (plugin: string, result: CniResult) => Promise<void> | void): Promise<CniResult>;
  /** Runs every plugin's DEL even when one fails; throws the first failure afterwards. */
  del(list: NetworkConfList, rt: RuntimeConf, prevResult: CniResult | undefined, signal?: AbortSignal): Promise<void>;
  check(list: NetworkConfList, rt: RuntimeConf, prevResult: CniResult, signal?: AbortSignal): Promise<void>;
}

/**
 * The configuration one plugin of a list receives (libcni's buildOneConfig): the list's name and
 * version, the previous result, and the runtime values of the capabilities it declares.
 */
export function pluginConfig(list: NetworkConfList, plugin: PluginConf, rt: RuntimeConf, prevResult: CniResult | undefined): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  if (prevResult !== undefined) conf.prevResult = prevResult;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
    if (on && rt.capabilityArgs && rt.capabilityArgs[cap] !== undefined) runtimeConfig[cap] = rt.capabilityArgs[cap];
  }
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  return conf;
}

export function createCniRunner(o: CniRunnerOptions): CniRunner {
  return new Runner(o);
}

class Runner implements CniRunner {
  readonly paths: readonly string[];
  readonly #timeoutMs: number;
  readonly #found = new Map<string, string>();
  readonly #bridge: BuiltinBridge | undefined;

  constructor(o: CniRunnerOptions) {
    this.paths = o.paths;
    this.#timeoutMs = o.timeoutMs ?? 60_000;
    this.#bridge = o.builtinBridge ?? process.env.BERTH_CNI_BRIDGE !== "plugin" ? new BuiltinBridge() : undefined;
  }

  find(type: string): string {
    const hit = this.#found.get(type);
    if (hit) return hit;
    if (!/^[A-Za-z0-9_.-]+$/.test(type)) throw errFailedPrecondition(`invalid CNI plugin type ${JSON.stringify(type)}`);
    for (const dir of this.paths) {
      const p = path.join(dir, type);
      try {
        accessSync(p, constants.X_OK);
        this.#found.set(type, p);
        return p;
      } catch {
        // not in this directory
      }
    }
    throw errFailedPrecondition(
      `CNI plugin ${type} not found in ${this.paths.join(":")} (install the containernetworking-plugins package)`,
    );
  }

  async add(
    list: NetworkConfList,
    rt: RuntimeConf,
    signal?: AbortSignal,
    onResult?: (plugin: string, result: CniResult) => Promise<void> | void,
  ): Promise<CniResult> {
    let prev: CniResult | undefined;
    for (const plugin of list.plugins) {
      const out = await this.#exec("ADD", list, plugin, rt, prev, signal);
      prev = parseResult(plugin.type, out);
      await onResult?.(plugin.type, prev);
    }
    if (!prev) throw errInternal(`CNI network ${list.name} has no plugins`);
    return prev;
  }

  async del(list: NetworkConfList, rt: RuntimeConf, prevResult: CniResult | undefined, signal?: AbortSignal): Promise<void> {
    let first: unknown;
    for (const plugin of [...list.plugins].reverse()) {
      try {
        await this.#exec("DEL", list, plugin, rt, prevResult, signal);
      } catch (e) {
        first ??= e;
        if (signal?.aborted) break;
      }
    }
    if (first !== undefined) throw first;
  }

  async check(list: NetworkConfList, rt: RuntimeConf, prevResult: CniResult, signal?: AbortSignal): Promise<void> {
    for (const plugin of list.plugins) await this.#exec("CHECK", list, plugin, rt, prevResult, signal);
  }

  async #exec(
    command: CniInvocation["command"],
    list: NetworkConfList,
    plugin: PluginConf,
    rt: RuntimeConf,
    prev: CniResult | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const builtin = this.#bridge && isBuiltinBridge(plugin) && !/\s/.test(rt.netns) ? this.#bridge : undefined;
    const conf = pluginConfig(list, plugin, rt, prev);
    const started = performance.now();
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let error: string | undefined;
    try {
      if (builtin) return await runBuiltin(builtin, command, conf as unknown as BridgeConf, rt, combined);
      const env: Record<string, string> = {
        CNI_COMMAND: command,
        CNI_CONTAINERID: rt.containerId,
        CNI_NETNS: rt.netns,
        CNI_IFNAME: rt.ifName,
        CNI_PATH: this.paths.join(":"),
        // The plugins run iptables, which lives in sbin.
        PATH: process.env.PATH && process.env.PATH.includes("sbin") ? process.env.PATH : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      };
      const { code, stdout, stderr } = await run(this.find(plugin.type), env, JSON.stringify(conf), combined);
      if (code !== 0) {
        const parsed = parseError(stdout);
        const msg = parsed?.message ?? (stderr.trim() || stdout.trim() || `exit status ${code}`);
        error = msg;
        throw new CniPluginError(plugin.type, command, msg, parsed?.code);
      }
      return stdout;
    } catch (e) {
      if (error === undefined) error = e instanceof Error ? e.message : String(e);
      // The runner's own errors (a plugin's error object, not found...) as they are; the built-in
      // bridge's failures (its `ip` runs included) are the plugin's failure, as a binary's would be.
      if (e instanceof BerthError && !builtin) throw e;
      if (timeout.aborted && !signal?.aborted) {
        throw new BerthError("deadline-exceeded", `CNI plugin ${plugin.type} ${command} timed out after ${this.#timeoutMs} ms`, { cause: e });
      }
      if (signal?.aborted) throw new BerthError("canceled", `CNI plugin ${plugin.type} ${command} canceled`, { cause: e });
      throw new CniPluginError(plugin.type, command, error, undefined, e);
    } finally {
      publish(command, list, plugin, rt, started, error);
    }
  }
}

/** The built-in bridge with the plugin's contract: its result as the plugin's stdout. */
async function runBuiltin(bridge: BuiltinBridge, command: CniInvocation["command"], conf: BridgeConf, rt: RuntimeConf, signal: AbortSignal): Promise<string> {
  if (command === "ADD") return JSON.stringify(await bridge.add(conf, rt, signal));
  if (command === "DEL") await bridge.del(conf, rt, signal);
  else await bridge.check(conf, rt, signal);
  return "";
}

function publish(command: CniInvocation["command"], list: NetworkConfList, plugin: PluginConf, rt: RuntimeConf, started: number, error: string | undefined): void {
  if (!cniChannel.hasSubscribers) return;
  const ev: CniInvocation = {
    command,
    plugin: plugin.type,
    network: list.name,
    containerId: rt.containerId,
    ifName: rt.ifName,
    durationMs: performance.now() - started,
    ...(error !== undefined ? { error } : {}),
  };
  cniChannel.publish(ev);
}

function parseResult(plugin: string, stdout: string): CniResult {
  try {
    const r = JSON.parse(stdout) as CniResult;
    if (typeof r === "object" && r !== null) return r;
  } catch {
    // fall through
  }
  throw new CniPluginError(plugin, "ADD", `unparseable result: ${stdout.slice(0, 200)}`, undefined);
}

function parseError(stdout: string): { code: number | undefined; message: string } | undefined {
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof e.msg !== "string") return undefined;
    const details = typeof e.details === "string" && e.details !== "" ? `: ${e.details}` : "";
    return { code: typeof e.code === "number" ? e.code : undefined, message: e.msg + details };
  } catch {
    return undefined;
  }
}

/** Through the launcher (src/base/launcher.ts): no fork of berthd per plugin execution. */
async function run(bin: string, env: Record<string, string>, stdin: string, signal: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return await launch(bin, [], { env, stdin, signal });
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    throw e;
  }
}
