/** The network layer's vocabulary: what the engine passes in and gets back (no Docker JSON here). */
import type { DnsOverrides } from "./resolv-conf.js";
import type { NetworkDriver } from "./network-record.js";
import type { PortBindings, PortMapView, PublishedPort } from "./ports.js";
import type { AddressPool } from "./subnet-pool.js";
import type { HostRoute } from "./subnet-pool.js";
import type { PortProbe } from "./port-allocator.js";

export interface NetworkManagerOptions {
  /** berth's network state: networks/, endpoints/, ipam/, netns/ below it (e.g. `<berth root>/network`). */
  stateDir: string;
  /** This instance's per-container namespace files (default `<stateDir>/netns`). One directory per
   *  berth instance: reconcile removes whatever in it has no endpoint. */
  netnsDir?: string;
  /** Directories with the CNI plugins (default /usr/lib/cni, then /opt/cni/bin). */
  cniPaths?: string[];
  /** The default `bridge` network: its device name (default berth0) and dockerd's `--bip` form. */
  defaultBridge?: {
    name?: string;
    /** "172.30.0.1/16": gateway address and prefix. Without it berth takes the first candidate that
     *  does not clash with the host's routes (DEFAULT_BRIDGE_CANDIDATES, then the pools). */
    bip?: string;
    mtu?: number;
  };
  /** dockerd's `--default-address-pools` for user networks created without a subnet. */
  defaultAddressPools?: AddressPool[];
  /**
   * FORWARD accepts for each bridge network's subnet (default true): needed where the FORWARD policy
   * is DROP. One pair of rules per network (network-rules.ts), in place of the CNI firewall plugin.
   */
  firewall?: boolean;
  /** Daemon-wide DNS for containers that set none (dockerd's --dns, --dns-search, --dns-opt). */
  defaultDns?: DnsOverrides;
  /** The host's resolv.conf (default /etc/resolv.conf). */
  resolvConfPath?: string;
  /**
   * The embedded DNS of user-defined networks (embedded-dns.ts; default on). `port` and
   * `upstreamPort` (both 53) are for tests.
   */
  embeddedDns?: { enabled?: boolean; port?: number; upstreamPort?: number };
  /** Warnings that fail nothing (an embedded DNS server that cannot listen). */
  warn?: (message: string) => void;
  /** Upper bound of one CNI plugin execution (default 60 s). */
  pluginTimeoutMs?: number;
  /** Injectable for tests: the host's routes, the host port check, the clock. */
  readRoutes?: () => Promise<HostRoute[]>;
  probePort?: PortProbe;
  now?: () => Date;
}

export interface NetworkCreateOptions {
  name: string;
  /** "bridge" (default) is the only driver. */
  driver?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  /** `--aux-address`: name → address, reserved in the subnet and shown by inspect. */
  auxAddresses?: Record<string, string>;
  /** IPAM.Options of the request (only an empty map is accepted): inspect shows null without. */
  ipamOptions?: Record<string, string>;
  /** No outbound NAT, no traffic in or out of the subnet through the host, no published ports. */
  internal?: boolean;
  /** Refuse a name that exists (default true); false allows a second network of the name (dockerd before API 1.44). */
  checkDuplicate?: boolean;
  attachable?: boolean;
  enableIPv6?: boolean;
  labels?: Record<string, string>;
  /** Driver options; berth honours com.docker.network.bridge.name, .driver.mtu and .bridge.enable_ip_masquerade. */
  options?: Record<string, string>;
}

export interface IpamConfigView {
  subnet: string;
  /** Absent for a user subnet without a user gateway (as dockerd echoes the request). */
  gateway?: string;
  ipRange?: string;
  auxAddresses?: Record<string, string>;
}

export interface NetworkContainerView {
  name: string;
  endpointId: string;
  macAddress: string;
  /** "172.18.0.2/16". */
  ipv4Address: string;
  ipv6Address: string;
}

/** What `docker network inspect` shows, in engine vocabulary. */
export interface NetworkView {
  id: string;
  name: string;
  driver: NetworkDriver;
  scope: "local";
  created: Date;
  enableIPv6: false;
  internal: boolean;
  attachable: boolean;
  ingress: false;
  configOnly: false;
  ipam: { driver: "default"; options: Record<string, string> | null; config: IpamConfigView[] };
  options: Record<string, string>;
  labels: Record<string, string>;
  /** Containers with a live endpoint, by container ID. */
  containers: Record<string, NetworkContainerView>;
}

export interface NetworkAttachmentRequest {
  /** Name, ID or unique ID prefix of the network. */
  network: string;
  /** Extra names on this network (user-defined networks only). */
  aliases?: string[];
  /** `--ip`: a fixed address (user-defined networks with a configured subnet only). */
  ipv4Address?: string;
  /** `--mac-address`. */
  macAddress?: string;
  /**
   * `--link name[:alias]` on this network, as given: the linked container's address under the
   * alias in this container's /etc/hosts, once both are on the network (dockerd's DNS answers it).
   */
  links?: string[];
  /** Endpoint driver options: dockerd's bridge driver reads none of a user's; recorded and shown, as dockerd. */
  driverOpts?: Record<string, string>;
  /** `--link-local-ip`: extra 169.254.0.0/16 addresses on the container's interface. */
  linkLocalIPs?: string[];
}

export interface AttachRequest {
  /** The container's name without the leading "/": its name on user-defined networks. */
  name: string;
  hostname: string;
  domainname?: string;
  /** In priority order: the first gets the default route and the published ports (eth0). */
  networks: NetworkAttachmentRequest[];
  portBindings?: PortBindings;
  publishAllPorts?: boolean;
  /** Config.ExposedPorts keys ("80/tcp"): published by -P, shown as null in Ports otherwise. */
  exposedPorts?: readonly string[];
  /** `--add-host` values ("name:ip", "name:host-gateway"). */
  extraHosts?: readonly string[];
  dns?: DnsOverrides;
  /** Host paths of the files bind-mounted as the container's /etc/hosts and /etc/resolv.conf:
   *  berth writes them now and keeps /etc/hosts current while peers come and go. */
  files?: { hosts?: string; resolvConf?: string };
  signal?: AbortSignal;
}

/** One network of a container (`NetworkSettings.Networks.<name>`). */
export interface EndpointView {
  networkId: string;
  networkName: string;
  endpointId: string;
  /** The interface in the container: eth0, eth1, ... */
  ifName: string;
  ipAddress: string;
  ipPrefixLen: number;
  gateway: string;
  macAddress: string;
  /** The aliases the container was given on this network (null-equivalent: []). */
  aliases: string[];
  /** Every name that resolves to this endpoint on the network (name, short ID, aliases); [] on the default bridge. */
  dnsNames: string[];
  /** The requested fixed address and link-local addresses, when there were any. */
  ipamConfig?: { ipv4Address?: string; linkLocalIPs?: string[] };
  /** As requested ("name:alias"), when there were any. */
  links?: string[];
  driverOpts?: Record<string, string>;
}

/** `NetworkSettings` of a running container, in engine vocabulary. */
export interface NetworkSettingsView {
  sandboxId: string;
  /** The namespace path (dockerd's /var/run/docker/netns/<id>). */
  sandboxKey: string;
  /** dockerd's top-level fields: those of the endpoint on the default `bridge` network, else "" / 0. */
  ipAddress: string;
  ipPrefixLen: number;
  gateway: string;
  macAddress: string;
  ports: PortMapView;
  published: PublishedPort[];
  /** By network name. */
  networks: Record<string, EndpointView>;
}

export interface AttachResult {
  /** Join it from the OCI spec: `withNetworkMode(mode, { netnsPath })`; equals `netnsPath(id)`. */
  netnsPath: string;
  settings: NetworkSettingsView;
}

export interface ReconcileReport {
  /** Containers whose endpoints were torn down (CNI DEL, namespace, leases). */
  detached: string[];
  /** Namespace files without a container, removed. */
  netns: string[];
  /** host-local lease files without an endpoint, removed. */
  leases: string[];
  /** What could not be cleaned; the endpoint record stays for the next reconcile. */
  errors: { containerId: string; message: string }[];
}

export interface NetworkManager {
  // ---- networks ----
  createNetwork(o: NetworkCreateOptions): Promise<NetworkView>;
  /** Sorted by name. */
  listNetworks(): NetworkView[];
  /** By name, ID or unique ID prefix; not-found otherwise. */
  inspectNetwork(ref: string): NetworkView;
  /** permission-denied for predefined networks; conflict while containers are attached. */
  removeNetwork(ref: string): Promise<void>;
  /** Removes user networks without endpoints (that `keep` does not keep); returns their names. */
  pruneNetworks(keep?: (n: NetworkView) => boolean): Promise<string[]>;

  // ---- container endpoints ----
  /** The namespace path a container's spec names; valid before attach (the spec is built at create). */
  netnsPath(containerId: string): string;
  /**
   * At create: the checks attach makes without doing anything (networks exist, aliases and fixed
   * addresses allowed there, port bindings and extra hosts well-formed), so `docker create` fails
   * as dockerd's does. Host ports are checked only at attach.
   */
  validate(req: Omit<AttachRequest, "signal" | "files">): void;
  /** Before the task starts: namespace, CNI ADD per network, ports, /etc/hosts and resolv.conf. */
  attach(containerId: string, req: AttachRequest): Promise<AttachResult>;
  /** `docker network connect` on a running (attached) container. */
  connect(containerId: string, req: NetworkAttachmentRequest, signal?: AbortSignal): Promise<EndpointView>;
  /** `docker network disconnect` on a running (attached) container. */
  disconnect(containerId: string, networkRef: string, signal?: AbortSignal): Promise<void>;
  /** After the task exited, on remove: CNI DEL, namespace and leases released. Idempotent. */
  detach(containerId: string, signal?: AbortSignal): Promise<void>;
  /** After a container rename: peers' /etc/hosts follow the new name. */
  rename(containerId: string, name: string): Promise<void>;
  /** CNI CHECK of every attachment: throws when the plugins find the setup broken. */
  check(containerId: string, signal?: AbortSignal): Promise<void>;
  /** undefined when the container has no endpoint (not running, or none/host mode). */
  settings(containerId: string): NetworkSettingsView | undefined;
  /** Daemon start: tears down endpoints of containers not in `liveContainerIds`, stray namespaces and leases. */
  reconcile(liveContainerIds: Iterable<string>, signal?: AbortSignal): Promise<ReconcileReport>;
  /** Records that did not load at open (renamed to `<file>.corrupt`): for the daemon to log. */
  readonly loadProblems: readonly { path: string; message: string }[];
  /** The default bridge's gateway (what `host-gateway` stands for). */
  readonly hostGateway: string | undefined;
  /** Waits for operations in flight; endpoints stay (containers outlive the daemon). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
