// berthd (after its entry, berthd.ts): parses flags (and the configuration file), starts the daemon, tells systemd it is
// ready, reloads on SIGHUP, stops on SIGTERM/SIGINT. Nothing else lives here.
import { createRequire } from "node:module";
import { Command, Option } from "commander";
import { startDaemon, type DaemonOptions } from "./daemon.js";
import { heapStarted, startIdleCollector } from "./heap.js";
// ---- service (config file, systemd, pid file, reload) ----
import { DEFAULT_CONFIG_FILE, flagsSet, groupExists, loadDaemonConfig, toDaemonOptions } from "./daemon-config.js";
import type { DaemonConfig } from "./config-file.js";
import { writePidFile } from "./pidfile.js";
import { reloadConfiguration } from "./reload.js";
import { sdNotify, takeListenFds, takeNotifySocket } from "./systemd.js";

const pkg = createRequire(import.meta.url)("../../package.json") as { version: string };
const collect = (v: string, prev: string[]) => [...prev, v];
const positiveInt = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: a positive integer is expected, got ${v}`);
  return n;
};
const pool = (v: string, prev: { base: string; size: number }[]) => {
  const kv = Object.fromEntries(v.split(",").map((p) => p.split("=") as [string, string]));
  if (!kv.base || !kv.size || Object.keys(kv).some((k) => k !== "base" && k !== "size")) throw new Error(`--default-address-pool ${v}: base=CIDR,size=PREFIX is expected`);
  return [...prev, { base: kv.base, size: Number(kv.size) }];
};
// ---- end service ----

const program = new Command()
  .name("berthd")
  .description("berth: a container engine on containerd serving the Docker Engine API")
  .option("-H, --host <address...>", "where to serve the API: unix:///path.sock, fd:// (systemd socket activation), or tcp://HOST:PORT (with --tlsverify, or plain on loopback)", ["unix:///run/berth/berth.sock"])
  .option("--tls", "serve TCP hosts with TLS (--tlscert, --tlskey); clients are not verified")
  .option("--tlsverify", "serve TCP hosts with TLS and accept only clients with a certificate signed by --tlscacert")
  .option("--tlscacert <file>", "CA that signs client certificates (default $DOCKER_CERT_PATH or ~/.docker: ca.pem)")
  .option("--tlscert <file>", "the server's certificate (default cert.pem there)")
  .option("--tlskey <file>", "the server's key (default key.pem there)")
  .option("--insecure-tcp", "allow a TCP host on a non-loopback address without TLS: whoever reaches it is root on this host")
  .option("-G, --group <group>", "group owning the API socket, mode 0660 (default: docker, when that group exists)")
  .option("--root <dir>", "state directory (same as --data-root)", "/var/lib/berth")
  .option("--containerd <address>", "use this containerd socket instead of an embedded containerd")
  .option("--containerd-state <dir>", "state dir of the external containerd", "/run/containerd")
  .option("--containerd-namespace <name>", "containerd namespace for berth's objects", "berth")
  .option("-b, --bridge <name>", "device of the default bridge network, or none to run without networking", "berth0")
  .option("--bip <cidr>", "address and prefix of the default bridge, e.g. 172.30.0.1/16 (default: a free subnet)")
  .option("--metrics-addr <host:port>", "serve Prometheus metrics on this loopback address (e.g. 127.0.0.1:9323)")
  .option("--exec-opt <key=value>", "runtime option: native.cgroupdriver=cgroupfs|systemd (default systemd on a cgroup v2 host booted by systemd; repeatable)", collect, [])
  .option("--seccomp-profile <file>", "default seccomp profile of containers: a profile JSON file, or unconfined (default: dockerd's built-in profile)")
  .option("--no-new-privileges", "containers get no-new-privileges unless they ask for no-new-privileges=false")
  .option("--default-ulimit <ulimit>", "a default ulimit of containers, name=soft[:hard], repeatable (a container's own ulimit of the same name wins)", collect, [])
  .option("--userns-remap <default|user[:group]>", "run containers in a user namespace mapped to the user's subordinate ids (/etc/subuid, /etc/subgid); default: the user dockremap")
  .option("--shim-group-size <n>", "up to N containers share one containerd shim (less memory per container; a shim that dies takes its N containers with it); default 1, a shim per container", positiveInt("--shim-group-size"))
  .addOption(new Option("-l, --log-level <level>", "log level").choices(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"))
  // ---- service flags (names and meaning as dockerd's; daemon-config.ts maps them) ----
  .option("--config-file <file>", "daemon configuration file (dockerd's daemon.json keys)", DEFAULT_CONFIG_FILE)
  .option("--data-root <dir>", "state directory (default /var/lib/berth)")
  .option("-D, --debug", "debug logging (log level debug)")
  .addOption(new Option("--log-format <format>", "log line format").choices(["text", "json"]).default("text"))
  .option("-p, --pidfile <file>", "write berthd's pid here (refused while a live process holds it)")
  .option("--label <key=value>", "a daemon label, shown by docker info (repeatable)", collect, [])
  .option("--registry-mirror <url>", "a Docker Hub mirror, tried before Docker Hub (repeatable)", collect, [])
  .option("--insecure-registry <host|cidr>", "a registry reached over HTTPS without verification or plain HTTP (repeatable)", collect, [])
  .option("--dns <ip>", "DNS server for containers that set none (repeatable)", collect, [])
  .option("--dns-search <domain>", "DNS search domain for containers that set none (repeatable)", collect, [])
  .option("--dns-opt <option>", "resolv.conf option for containers that set none (repeatable)", collect, [])
  .option("--mtu <bytes>", "MTU of the default bridge", positiveInt("--mtu"))
  .option("--default-address-pool <base=CIDR,size=N>", "subnets for networks created without one (repeatable)", pool, [])
  .option("--max-concurrent-downloads <n>", "layer downloads at a time per pull (default 3)", positiveInt("--max-concurrent-downloads"))
  .option("--max-concurrent-uploads <n>", "layer uploads at a time per push (default 5)", positiveInt("--max-concurrent-uploads"))
  .option("--live-restore", "containers keep running while berthd stops (always on; accepted for dockerd's unit files)")
  // ---- end service flags ----
  .version(`berthd version ${pkg.version}`, "-v, --version");

program.parse();
const configFile = program.opts<{ configFile: string }>().configFile;
const configExplicit = program.getOptionValueSource("configFile") === "cli";

// ---- service: configuration, pid file ----
let options: DaemonOptions;
let flags: DaemonConfig;
let config: DaemonConfig;
let removePidFile: (() => void) | undefined;
try {
  flags = flagsSet(program);
  config = await loadDaemonConfig(flags, configFile, configExplicit);
  options = { ...toDaemonOptions(config, { groupExists }), listenFds: takeListenFds() };
  takeNotifySocket();
  if (config.pidfile) removePidFile = writePidFile(config.pidfile);
} catch (e) {
  process.stderr.write(`berthd: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
process.on("exit", () => removePidFile?.());
// ---- end service ----

try {
  const daemon = await startDaemon(options);
  heapStarted();
  startIdleCollector();
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    daemon.logger.info({ signal: sig }, "shutting down");
    sdNotify("STOPPING=1");
    daemon.close().then(() => process.exit(0), (e: unknown) => {
      process.stderr.write(`berthd: shutdown failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  // ---- service: reload, readiness ----
  const reload = { file: configFile, explicit: configExplicit, flags, current: config, live: options.live!, logger: daemon.logger };
  let reloading = Promise.resolve();
  process.on("SIGHUP", () => {
    daemon.logger.info({ signal: "SIGHUP" }, "reloading the configuration");
    reloading = reloading.then(async () => {
      sdNotify(`RELOADING=1\nMONOTONIC_USEC=${(process.hrtime.bigint() / 1000n).toString()}`);
      await reloadConfiguration(reload);
      sdNotify("READY=1");
    });
  });
  sdNotify(`READY=1\nMAINPID=${process.pid}`);
  // ---- end service ----
} catch (e) {
  process.stderr.write(`berthd: ${e instanceof Error ? e.message : String(e)}\n`);
  removePidFile?.();
  process.exit(1);
}
