// In-memory stand-ins for the network layer (plus the engine's connect/disconnect) and an empty
// volume backend, for router tests. Networks behave as berth's NetworkManager documents: the
// predefined bridge/host/none, unique names, ID-prefix lookup, permission-denied for predefined
// networks, conflict while endpoints are live.
import { createHash } from "node:crypto";
import { BerthError, errConflict, errInvalidArgument, errNotFound } from "../../base/errors.js";
import type { NetworkCreateOptions, NetworkView } from "../../network/index.js";
import type { NetworkBackend, VolumeBackend } from "../backends.js";

const idOf = (name: string) => createHash("sha256").update(`fake-network/${name}`).digest("hex");

export class FakeNetworks implements NetworkBackend {
  readonly networks = new Map<string, NetworkView>();
  /** Network names a (possibly stopped) container is configured on. */
  readonly configured = new Set<string>();
  readonly calls: { method: string; args: unknown[] }[] = [];
  #subnet = 20;

  constructor() {
    this.#add({ name: "bridge", driver: "bridge", subnet: "172.30.0.0/16", gateway: "172.30.0.1", options: { "com.docker.network.bridge.default_bridge": "true" } });
    this.#add({ name: "host", driver: "host" });
    this.#add({ name: "none", driver: "null" });
  }

  #add(o: { name: string; driver: NetworkView["driver"]; subnet?: string; gateway?: string; ipRange?: string; options?: Record<string, string>; labels?: Record<string, string>; attachable?: boolean }): NetworkView {
    const v: NetworkView = {
      // A second network of a name (CheckDuplicate=false) gets its own ID.
      id: idOf([...this.networks.values()].some((n) => n.name === o.name) ? `${o.name}#${this.networks.size}` : o.name),
      name: o.name,
      driver: o.driver,
      scope: "local",
      created: new Date("2024-05-01T10:00:00.123456789Z"),
      enableIPv6: false,
      internal: false,
      attachable: o.attachable ?? false,
      ingress: false,
      configOnly: false,
      ipam: { driver: "default", options: {}, config: o.subnet ? [{ subnet: o.subnet, gateway: o.gateway ?? "", ...(o.ipRange ? { ipRange: o.ipRange } : {}) }] : [] },
      options: { ...(o.options ?? {}) },
      labels: { ...(o.labels ?? {}) },
      containers: {},
    };
    this.networks.set(v.id, v);
    return v;
  }

  listNetworks(): NetworkView[] {
    return [...this.networks.values()].sort((a, b) => a.name.localeCompare(b.name)).map((n) => structuredClone(n));
  }

  #find(ref: string): NetworkView {
    for (const n of this.networks.values()) if (n.id === ref || n.name === ref) return n;
    const hits = [...this.networks.values()].filter((n) => n.id.startsWith(ref));
    if (hits.length === 1) return hits[0]!;
    throw errNotFound(`network ${ref} not found`);
  }

  inspectNetwork(ref: string): NetworkView {
    return structuredClone(this.#find(ref));
  }

  async createNetwork(o: NetworkCreateOptions): Promise<NetworkView> {
    this.calls.push({ method: "createNetwork", args: [o] });
    if ((o.checkDuplicate ?? true) && [...this.networks.values()].some((n) => n.name === o.name)) throw errConflict(`network with name ${o.name} already exists`);
    if (o.gateway && !o.subnet) throw errInvalidArgument("a gateway or an IP range needs a subnet (--subnet)");
    const subnet = o.subnet ?? `172.${this.#subnet++}.0.0/16`;
    return structuredClone(
      this.#add({
        name: o.name, driver: "bridge", subnet, gateway: o.gateway ?? subnet.replace(/0\/\d+$/, "1"), ...(o.ipRange ? { ipRange: o.ipRange } : {}),
        options: o.options ?? {}, labels: o.labels ?? {}, attachable: o.attachable ?? false,
      }),
    );
  }

  async removeNetwork(ref: string): Promise<void> {
    this.calls.push({ method: "removeNetwork", args: [ref] });
    const n = this.#find(ref);
    if (["bridge", "host", "none"].includes(n.name)) throw new BerthError("permission-denied", `${n.name} is a pre-defined network and cannot be removed`);
    if (Object.keys(n.containers).length > 0) throw errConflict(`error while removing network: network ${n.name} has active endpoints`);
    this.networks.delete(n.id);
  }

  async pruneNetworks(keep?: (n: NetworkView) => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const n of [...this.networks.values()]) {
      if (["bridge", "host", "none"].includes(n.name) || Object.keys(n.containers).length > 0 || keep?.(structuredClone(n))) continue;
      this.networks.delete(n.id);
      removed.push(n.name);
    }
    return removed.sort();
  }

  async connectNetwork(ref: string, network: string, o: { aliases?: string[]; ipv4Address?: string } = {}): Promise<void> {
    this.calls.push({ method: "connectNetwork", args: [ref, network, o] });
    const n = this.#find(network);
    if (n.containers[ref]) throw errConflict(`endpoint with name ${ref} already exists in network ${n.name}`);
    n.containers[ref] = { name: ref, endpointId: "e".repeat(64), macAddress: "02:42:ac:14:00:02", ipv4Address: "172.20.0.2/16", ipv6Address: "" };
  }

  async disconnectNetwork(ref: string, network: string): Promise<void> {
    this.calls.push({ method: "disconnectNetwork", args: [ref, network] });
    const n = this.#find(network);
    if (!n.containers[ref]) throw errNotFound(`container ${ref} is not connected to network ${n.name}`);
    delete n.containers[ref];
  }

  networkInUse(name: string): boolean {
    return this.configured.has(name);
  }
}

/** A volume backend with no volumes (router tests of volumes use the real store). */
export const noVolumes: VolumeBackend = {
  async create() {
    throw errInvalidArgument("no volumes in this fake");
  },
  get(name) {
    throw errNotFound(`get ${name}: no such volume`);
  },
  async list() {
    return [];
  },
  async remove(name) {
    throw errNotFound(`get ${name}: no such volume`);
  },
  async prune() {
    return { volumesDeleted: [], spaceReclaimed: 0 };
  },
};
