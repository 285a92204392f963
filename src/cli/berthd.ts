#!/usr/bin/env node
// berthd: parses flags, starts the daemon, stops it on SIGTERM/SIGINT. Nothing else lives here.
import { Command, Option } from "commander";
import { startDaemon, type DaemonOptions } from "./daemon.js";
import { tuneHeap } from "./heap.js";

const program = new Command()
  .name("berthd")
  .description("berth: a container engine on containerd serving the Docker Engine API")
  .option("-H, --host <address...>", "where to serve the API: unix:///path.sock, or tcp://HOST:PORT (with --tlsverify, or plain on loopback)", ["unix:///run/berth/berth.sock"])
  .option("--tls", "serve TCP hosts with TLS (--tlscert, --tlskey); clients are not verified")
  .option("--tlsverify", "serve TCP hosts with TLS and accept only clients with a certificate signed by --tlscacert")
  .option("--tlscacert <file>", "CA that signs client certificates (default $DOCKER_CERT_PATH or ~/.docker: ca.pem)")
  .option("--tlscert <file>", "the server's certificate (default cert.pem there)")
  .option("--tlskey <file>", "the server's key (default key.pem there)")
  .option("--insecure-tcp", "allow a TCP host on a non-loopback address without TLS: whoever reaches it is root on this host")
  .option("-G, --group <group>", "group owning the API socket (mode 0660)")
  .option("--root <dir>", "state directory", "/var/lib/berth")
  .option("--containerd <address>", "use this containerd socket instead of an embedded containerd")
  .option("--containerd-state <dir>", "state dir of the external containerd", "/run/containerd")
  .option("--containerd-namespace <name>", "containerd namespace for berth's objects", "berth")
  .option("-b, --bridge <name>", "device of the default bridge network, or none to run without networking", "berth0")
  .option("--bip <cidr>", "address and prefix of the default bridge, e.g. 172.30.0.1/16 (default: a free subnet)")
  .option("--metrics-addr <host:port>", "serve Prometheus metrics on this loopback address (e.g. 127.0.0.1:9323)")
  .option("--seccomp-profile <file>", "default seccomp profile of containers: a profile JSON file, or unconfined (default: dockerd's built-in profile)")
  .option("--no-new-privileges", "containers get no-new-privileges unless they ask for no-new-privileges=false")
  .option("--default-ulimit <ulimit>", "a default ulimit of containers, name=soft[:hard], repeatable (a container's own ulimit of the same name wins)", (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option("--userns-remap <default|user[:group]>", "run containers in a user namespace mapped to the user's subordinate ids (/etc/subuid, /etc/subgid); default: the user dockremap")
  .addOption(new Option("-l, --log-level <level>", "log level").choices(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"))
  .version(process.env.npm_package_version ?? "0.1.0");

program.parse();
const f = program.opts<{ tls?: boolean; tlsverify?: boolean; tlscacert?: string; tlscert?: string; tlskey?: string; insecureTcp?: boolean; host: string[]; group?: string; root: string; containerd?: string; containerdState: string; containerdNamespace: string; bridge: string; bip?: string; metricsAddr?: string; seccompProfile?: string; newPrivileges?: boolean; defaultUlimit?: string[]; usernsRemap?: string; logLevel: DaemonOptions["logLevel"] }>();

const options: DaemonOptions = {
  root: f.root,
  hosts: f.host,
  tls: {
    ...(f.tls ? { tls: true } : {}),
    ...(f.tlsverify ? { tlsverify: true } : {}),
    ...(f.tlscacert ? { tlscacert: f.tlscacert } : {}),
    ...(f.tlscert ? { tlscert: f.tlscert } : {}),
    ...(f.tlskey ? { tlskey: f.tlskey } : {}),
    ...(f.insecureTcp ? { insecureTcp: true } : {}),
  },
  ...(f.group ? { group: f.group } : {}),
  ...(f.containerd ? { containerd: f.containerd, containerdState: f.containerdState } : {}),
  namespace: f.containerdNamespace,
  bridge: f.bridge,
  ...(f.metricsAddr ? { metricsAddress: f.metricsAddr } : {}),
  ...(f.bip ? { bip: f.bip } : {}),
  ...(f.seccompProfile !== undefined ? { seccompProfile: f.seccompProfile } : {}),
  security: {
    // commander turns --no-new-privileges into newPrivileges=false.
    ...(f.newPrivileges === false ? { noNewPrivileges: true } : {}),
    ...(f.defaultUlimit && f.defaultUlimit.length > 0 ? { defaultUlimits: f.defaultUlimit } : {}),
    ...(f.usernsRemap ? { usernsRemap: f.usernsRemap } : {}),
  },
  logLevel: f.logLevel,
};

tuneHeap();
try {
  const daemon = await startDaemon(options);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    daemon.logger.info({ signal: sig }, "shutting down");
    daemon.close().then(() => process.exit(0), (e: unknown) => {
      process.stderr.write(`berthd: shutdown failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
} catch (e) {
  process.stderr.write(`berthd: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
