// The network layer: bridge networks and container endpoints over the standard CNI plugins.
// docs/network.md describes the design and where the engine calls it.
export { createNetworkManager } from "./manager.js";
export type {
  AttachRequest,
  AttachResult,
  EndpointView,
  IpamConfigView,
  NetworkAttachmentRequest,
  NetworkContainerView,
  NetworkCreateOptions,
  NetworkManager,
  NetworkManagerOptions,
  NetworkSettingsView,
  NetworkView,
  ReconcileReport,
} from "./types.js";
export {
  ANY_IPV4,
  mergePortBindings,
  parsePortKey,
  parsePublish,
  portBindingsFromApi,
  portBindingsToApi,
  portMapView,
  withPublishAll,
  type PortBindingRequest,
  type PortBindings,
  type PortMapView,
  type PortProtocol,
  type PublishedPort,
} from "./ports.js";
export { DEFAULT_ADDRESS_POOLS, DEFAULT_BRIDGE_CANDIDATES, type AddressPool, type HostRoute } from "./subnet-pool.js";
export { DEFAULT_HOSTS_LINES, renderHosts, parseExtraHosts, type HostsEntry } from "./hosts-file.js";
export { renderResolvConf, type DnsOverrides, type ResolvConf } from "./resolv-conf.js";
export { cniChannel, type CniInvocation } from "./cni.js";
export { DEFAULT_NETWORK, HOST_NETWORK, NONE_NETWORK, PREDEFINED_NETWORKS, type NetworkDriver } from "./network-record.js";
export type { PortProbe } from "./port-allocator.js";
