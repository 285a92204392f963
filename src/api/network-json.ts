// Networks: NetworkView → dockerd's NetworkResource (`docker network inspect` / `ls`), and the
// create / connect / disconnect bodies → the network layer's and the engine's options.
import { errInvalidArgument } from "../base/errors.js";
import type { NetworkCreateOptions, NetworkView } from "../network/index.js";
import { PREDEFINED_NETWORKS } from "../network/index.js";
import { isZeroValue, Problems, readBool, readEndpointSettings, readString, readStringMap, type EndpointSettingsInit } from "./create-body.js";
import { isPlainObject } from "./http-io.js";
import { rfc3339Nano } from "./json-time.js";

export const isPredefinedNetwork = (name: string) => PREDEFINED_NETWORKS.includes(name);

/**
 * dockerd's NetworkResource. `containers: false` is the list form: since API 1.28 dockerd lists
 * networks without their endpoints (`Containers: {}`); inspect has them.
 */
export function networkJson(n: NetworkView, o: { containers: boolean }) {
  const predefined = isPredefinedNetwork(n.name);
  return {
    Name: n.name,
    Id: n.id,
    Created: rfc3339Nano(n.created),
    Scope: n.scope,
    Driver: n.driver,
    EnableIPv6: n.enableIPv6,
    IPAM: {
      Driver: n.ipam.driver,
      // dockerd: null for the predefined networks and a request without IPAM options, the request's map otherwise.
      Options: n.ipam.options && !predefined ? { ...n.ipam.options } : null,
      Config: n.ipam.config.map((c) => ({
        Subnet: c.subnet,
        ...(c.ipRange ? { IPRange: c.ipRange } : {}),
        ...(c.gateway ? { Gateway: c.gateway } : {}),
        ...(c.auxAddresses ? { AuxiliaryAddresses: { ...c.auxAddresses } } : {}),
      })),
    },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: n.ingress,
    ConfigFrom: { Network: "" },
    ConfigOnly: n.configOnly,
    Containers: o.containers
      ? Object.fromEntries(
          Object.entries(n.containers).map(([id, c]) => [
            id,
            { Name: c.name, EndpointID: c.endpointId, MacAddress: c.macAddress, IPv4Address: c.ipv4Address, IPv6Address: c.ipv6Address },
          ]),
        )
      : {},
    Options: { ...n.options },
    Labels: { ...n.labels },
  };
}

/** Driver options dockerd's bridge driver has that berth honours (docs/network.md). */
const HONOURED_OPTIONS = new Set([
  "com.docker.network.bridge.name",
  "com.docker.network.driver.mtu",
  "com.docker.network.bridge.enable_ip_masquerade",
]);

/** Driver options whose value is what berth does anyway: accepted, no effect. */
const DEFAULT_OPTIONS: ReadonlyMap<string, string> = new Map([
  ["com.docker.network.bridge.enable_icc", "true"],
  ["com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"],
]);

/**
 * POST /networks/create. Read: Name, Driver (bridge), Internal, Attachable, Labels, Options,
 * IPAM.Config[0] Subnet/Gateway/IPRange/AuxiliaryAddresses, IPAM.Options (empty only),
 * CheckDuplicate (absent means false, as dockerd before API 1.44: berth serves up to 1.43).
 * Anything else non-zero — another driver, IPv6, ingress/config-only networks, a second IPAM
 * config, IPAM options, dockerd driver options berth does not implement — is 400 naming it, as for
 * container create.
 */
export function parseNetworkCreateBody(body: unknown): NetworkCreateOptions {
  if (body === undefined) throw errInvalidArgument("invalid JSON: got EOF while reading request body");
  if (!isPlainObject(body)) throw errInvalidArgument("invalid JSON: expected an object");
  const p = new Problems("network option");
  const name = readString(p, "Name", body.Name) ?? "";
  const out: NetworkCreateOptions = { name };
  const driver = readString(p, "Driver", body.Driver) ?? "";
  if (driver !== "" && driver !== "bridge") p.unsupportedField("Driver", driver);
  else if (driver) out.driver = driver;
  const scope = readString(p, "Scope", body.Scope) ?? "";
  if (scope !== "" && scope !== "local") p.unsupportedField("Scope", scope);
  out.checkDuplicate = readBool(p, "CheckDuplicate", body.CheckDuplicate) ?? false;
  const internal = readBool(p, "Internal", body.Internal);
  if (internal) out.internal = true;
  const attachable = readBool(p, "Attachable", body.Attachable);
  if (attachable !== undefined) out.attachable = attachable;
  // EnableIPv4 (API 1.47): IPv4 is always on.
  const ipv4 = readBool(p, "EnableIPv4", body.EnableIPv4);
  if (ipv4 === false) p.unsupportedField("EnableIPv4", false);
  const labels = readStringMap(p, "Labels", body.Labels);
  if (labels) out.labels = labels;
  const options = readStringMap(p, "Options", body.Options);
  if (options) {
    for (const [k, v] of Object.entries(options)) {
      if (k.startsWith("com.docker.network.") && !HONOURED_OPTIONS.has(k) && DEFAULT_OPTIONS.get(k) !== v) p.unsupportedField(`Options.${k}`, v);
    }
    out.options = options;
  }
  const ipam = body.IPAM;
  if (ipam !== null && ipam !== undefined) {
    if (!isPlainObject(ipam)) p.invalid.push("invalid IPAM: expected an object");
    else {
      const ipamDriver = readString(p, "IPAM.Driver", ipam.Driver) ?? "";
      if (ipamDriver !== "" && ipamDriver !== "default") p.unsupportedField("IPAM.Driver", ipamDriver);
      if (!isZeroValue(ipam.Options)) p.unsupportedField("IPAM.Options", ipam.Options);
      else if (isPlainObject(ipam.Options)) out.ipamOptions = {};
      const configs = ipam.Config;
      if (configs !== null && configs !== undefined) {
        if (!Array.isArray(configs) || !configs.every(isPlainObject)) p.invalid.push("invalid IPAM.Config: expected a list of objects");
        else {
          if (configs.length > 1) p.unsupportedField("IPAM.Config", configs);
          const c = configs[0] as Record<string, unknown> | undefined;
          if (c) {
            const subnet = readString(p, "IPAM.Config.Subnet", c.Subnet);
            const gateway = readString(p, "IPAM.Config.Gateway", c.Gateway);
            const ipRange = readString(p, "IPAM.Config.IPRange", c.IPRange);
            if (subnet) out.subnet = subnet;
            if (gateway) out.gateway = gateway;
            if (ipRange) out.ipRange = ipRange;
            const aux = readStringMap(p, "IPAM.Config.AuxiliaryAddresses", c.AuxiliaryAddresses);
            if (aux && Object.keys(aux).length > 0) out.auxAddresses = aux;
            for (const [k, v] of Object.entries(c)) {
              if (!["Subnet", "Gateway", "IPRange", "AuxiliaryAddresses"].includes(k) && !isZeroValue(v)) p.unsupportedField(`IPAM.Config.${k}`, v);
            }
            if ([subnet, gateway, ipRange, ...Object.values(aux ?? {})].some((x) => x?.includes(":"))) {
              p.unsupportedField("IPAM.Config", c); // IPv6: see docs/api.md
            }
          }
        }
      }
      for (const [k, v] of Object.entries(ipam)) if (!["Driver", "Options", "Config"].includes(k) && !isZeroValue(v)) p.unsupportedField(`IPAM.${k}`, v);
    }
  }
  const handled = new Set(["Name", "Driver", "Scope", "CheckDuplicate", "Internal", "Attachable", "EnableIPv4", "Labels", "Options", "IPAM"]);
  for (const [k, v] of Object.entries(body)) {
    if (handled.has(k) || isZeroValue(v)) continue;
    p.unsupportedField(k, v);
  }
  p.throwIfAny();
  if (name === "") throw errInvalidArgument("network name must not be empty");
  return out;
}

/** POST /networks/{id}/connect: {Container, EndpointConfig: {Aliases, Links, DriverOpts, IPAMConfig: {IPv4Address, LinkLocalIPs}}}. */
export function parseNetworkConnectBody(body: unknown): { container: string } & EndpointSettingsInit {
  if (body === undefined) throw errInvalidArgument("invalid JSON: got EOF while reading request body");
  if (!isPlainObject(body)) throw errInvalidArgument("invalid JSON: expected an object");
  const p = new Problems("network option");
  const container = readString(p, "Container", body.Container) ?? "";
  const ep = body.EndpointConfig;
  let settings: EndpointSettingsInit = { aliases: [] };
  if (ep !== null && ep !== undefined) {
    if (!isPlainObject(ep)) p.invalid.push("invalid EndpointConfig: expected an object");
    else settings = readEndpointSettings(p, "EndpointConfig", ep);
  }
  for (const [k, v] of Object.entries(body)) if (k !== "Container" && k !== "EndpointConfig" && !isZeroValue(v)) p.unsupportedField(k, v);
  p.throwIfAny();
  if (container === "") throw errInvalidArgument("a container is required (Container)");
  return { container, ...settings };
}

/** POST /networks/{id}/disconnect: {Container, Force}. */
export function parseNetworkDisconnectBody(body: unknown): { container: string; force: boolean } {
  if (body === undefined) throw errInvalidArgument("invalid JSON: got EOF while reading request body");
  if (!isPlainObject(body)) throw errInvalidArgument("invalid JSON: expected an object");
  const p = new Problems("network option");
  const container = readString(p, "Container", body.Container) ?? "";
  const force = readBool(p, "Force", body.Force) ?? false;
  p.throwIfAny();
  if (container === "") throw errInvalidArgument("a container is required (Container)");
  return { container, force };
}
