import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isBerthError } from "../base/errors.js";
import type { NetworkView } from "../network/index.js";
import { parseFilters } from "./filters.js";
import { networkJson, parseNetworkConnectBody, parseNetworkCreateBody } from "./network-json.js";
import { networkListFilter, networkPruneKeep } from "./networks-router.js";
import { docker, hasDocker, request, startHarness, type Harness } from "./testdata/harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const view = (over: Partial<NetworkView>): NetworkView => ({
  id: "a".repeat(64),
  name: "web",
  driver: "bridge",
  scope: "local",
  created: new Date("2024-05-01T10:00:00.5Z"),
  enableIPv6: false,
  internal: false,
  attachable: false,
  ingress: false,
  configOnly: false,
  ipam: { driver: "default", options: {}, config: [{ subnet: "10.1.0.0/24", gateway: "10.1.0.1" }] },
  options: {},
  labels: { tier: "front" },
  containers: {},
  ...over,
});

// What docker CLI 28 sends at API 1.43 for `docker network create --subnet 10.9.0.0/24 --gateway 10.9.0.254 -l a=b n1`.
const CLI_CREATE = {
  Name: "n1", CheckDuplicate: true, Driver: "bridge", Scope: "", EnableIPv6: false,
  IPAM: { Driver: "default", Options: {}, Config: [{ Subnet: "10.9.0.0/24", Gateway: "10.9.0.254" }] },
  Internal: false, Attachable: false, Ingress: false, ConfigOnly: false, ConfigFrom: null, Options: {}, Labels: { a: "b" },
};

describe("network JSON and bodies", () => {
  test("inspect: dockerd's NetworkResource; the list form has no containers", () => {
    const v = view({ containers: { ["c".repeat(64)]: { name: "srv", endpointId: "e".repeat(64), macAddress: "02:42:0a:01:00:02", ipv4Address: "10.1.0.2/24", ipv6Address: "" } } });
    const j = networkJson(v, { containers: true });
    assert.deepEqual(j, {
      Name: "web", Id: "a".repeat(64), Created: "2024-05-01T10:00:00.5Z", Scope: "local", Driver: "bridge", EnableIPv6: false,
      IPAM: { Driver: "default", Options: {}, Config: [{ Subnet: "10.1.0.0/24", Gateway: "10.1.0.1" }] },
      Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: "" }, ConfigOnly: false,
      Containers: { ["c".repeat(64)]: { Name: "srv", EndpointID: "e".repeat(64), MacAddress: "02:42:0a:01:00:02", IPv4Address: "10.1.0.2/24", IPv6Address: "" } },
      Options: {}, Labels: { tier: "front" },
    });
    assert.deepEqual(networkJson(v, { containers: false }).Containers, {});
    const none = networkJson(view({ name: "none", driver: "null", ipam: { driver: "default", options: {}, config: [] } }), { containers: true });
    assert.equal(none.IPAM.Options, null);
    assert.deepEqual(none.IPAM.Config, []);
    const ranged = networkJson(view({ ipam: { driver: "default", options: {}, config: [{ subnet: "10.1.0.0/24", gateway: "10.1.0.1", ipRange: "10.1.0.128/25" }] } }), { containers: false });
    assert.deepEqual(ranged.IPAM.Config, [{ Subnet: "10.1.0.0/24", IPRange: "10.1.0.128/25", Gateway: "10.1.0.1" }]);
  });

  test("create body: the CLI's full body; unsupported fields are 400 naming them", () => {
    assert.deepEqual(parseNetworkCreateBody(CLI_CREATE), {
      name: "n1", driver: "bridge", attachable: false, labels: { a: "b" }, options: {}, subnet: "10.9.0.0/24", gateway: "10.9.0.254",
      checkDuplicate: true, ipamOptions: {},
    });
    // No CheckDuplicate: false, as dockerd before API 1.44; no IPAM options: none (inspect shows null).
    assert.deepEqual(parseNetworkCreateBody({ Name: "x" }), { name: "x", checkDuplicate: false });
    assert.deepEqual(parseNetworkCreateBody({ Name: "test 01" }).name, "test 01");
    // docker-py's test_create_network_with_ipam_config and test_create_internal_networks.
    assert.deepEqual(
      parseNetworkCreateBody({
        Name: "i", Internal: true, CheckDuplicate: null,
        IPAM: { Driver: "default", Config: [{ Subnet: "172.28.0.0/16", IPRange: "172.28.5.0/24", Gateway: "172.28.5.254", AuxiliaryAddresses: { a: "172.28.1.5", b: "172.28.1.6" } }] },
      }),
      { name: "i", checkDuplicate: false, internal: true, subnet: "172.28.0.0/16", ipRange: "172.28.5.0/24", gateway: "172.28.5.254", auxAddresses: { a: "172.28.1.5", b: "172.28.1.6" } },
    );
    const rejects = (body: unknown, re: RegExp) =>
      assert.throws(() => parseNetworkCreateBody(body), (e: unknown) => isBerthError(e, "invalid-argument") && re.test(e.message), JSON.stringify(body));
    rejects({ ...CLI_CREATE, Driver: "macvlan" }, /^unsupported network option: Driver="macvlan" \(berth does not implement it/);
    rejects({ ...CLI_CREATE, Internal: true, EnableIPv6: true }, /unsupported network option: EnableIPv6=true/);
    rejects({ ...CLI_CREATE, IPAM: { Driver: "default", Config: [{ Subnet: "10.9.0.0/24", AuxiliaryAddresses: { h: "fd00::5" } }] } }, /IPAM\.Config=/);
    rejects({ ...CLI_CREATE, IPAM: { Driver: "default", Options: { x: "y" } } }, /IPAM\.Options=/);
    rejects({ ...CLI_CREATE, IPAM: { Config: [{ Subnet: "10.9.0.0/24" }, { Subnet: "10.8.0.0/24" }] } }, /IPAM\.Config=/);
    rejects({ ...CLI_CREATE, IPAM: { Config: [{ Subnet: "fd00::/64" }] } }, /IPAM\.Config=/);
    rejects({ ...CLI_CREATE, IPAM: { Driver: "dhcp" } }, /IPAM\.Driver="dhcp"/);
    rejects({ ...CLI_CREATE, Options: { "com.docker.network.bridge.enable_icc": "false" } }, /Options\.com\.docker\.network\.bridge\.enable_icc="false"/);
    rejects({ ...CLI_CREATE, Ingress: true }, /Ingress=true/);
    rejects({ ...CLI_CREATE, ConfigFrom: { Network: "base" } }, /ConfigFrom=/);
    rejects({ ...CLI_CREATE, Name: "" }, /network name must not be empty/);
    rejects({ Name: 3 }, /invalid Name: expected a string/);
    // What berth does anyway, or honours.
    assert.deepEqual(parseNetworkCreateBody({ Name: "y", EnableIPv4: true, Options: { "com.docker.network.bridge.enable_icc": "true", "com.docker.network.driver.mtu": "1400", mine: "x" } }).options,
      { "com.docker.network.bridge.enable_icc": "true", "com.docker.network.driver.mtu": "1400", mine: "x" });
  });

  test("connect body: aliases, links, driver options, a fixed and link-local addresses; IPv6 is refused", () => {
    assert.deepEqual(parseNetworkConnectBody({ Container: "c1", EndpointConfig: { Aliases: ["db"], IPAMConfig: { IPv4Address: "10.1.0.9", IPv6Address: "" }, Links: null, DriverOpts: {} } }), {
      container: "c1", aliases: ["db"], ipv4Address: "10.1.0.9",
    });
    assert.deepEqual(parseNetworkConnectBody({ Container: "c1" }), { container: "c1", aliases: [] });
    assert.deepEqual(
      parseNetworkConnectBody({ Container: "c1", EndpointConfig: { Links: ["a:b"], DriverOpts: { "com.docker-py.setting": "on" }, IPAMConfig: { LinkLocalIPs: ["169.254.8.8"] } } }),
      { container: "c1", aliases: [], links: ["a:b"], driverOpts: { "com.docker-py.setting": "on" }, linkLocalIPs: ["169.254.8.8"] },
    );
    assert.throws(() => parseNetworkConnectBody({ Container: "c1", EndpointConfig: { Links: "a:b" } }), /invalid EndpointConfig\.Links/);
    assert.deepEqual(parseNetworkConnectBody({ Container: "c1", EndpointConfig: { MacAddress: "02:42:0a:01:00:09" } }), { container: "c1", aliases: [], macAddress: "02:42:0a:01:00:09" });
    assert.throws(() => parseNetworkConnectBody({ Container: "c1", EndpointConfig: { MacAddress: "02:42:0a:01:00:9" } }), /^Error: invalid MAC address 02:42:0a:01:00:9$|invalid MAC address 02:42:0a:01:00:9/);
    assert.throws(() => parseNetworkConnectBody({ Container: "c1", EndpointConfig: { IPAMConfig: { IPv6Address: "fd00::2" } } }), /IPAMConfig\.IPv6Address/);
    assert.throws(() => parseNetworkConnectBody({ EndpointConfig: {} }), /a container is required/);
  });

  test("list filters as dockerd's FilterNetworks", () => {
    const nets = [view({ name: "bridge", id: "b".repeat(64) }), view({ name: "host", driver: "host", id: "h".repeat(64) }), view({ name: "web" }), view({ name: "db", id: "d".repeat(64), labels: {} })];
    const used = new Set(["web"]);
    const pick = (f: unknown) => nets.filter(networkListFilter(parseFilters(JSON.stringify(f)), (n) => used.has(n.name))).map((n) => n.name);
    assert.deepEqual(pick({}), ["bridge", "host", "web", "db"]);
    assert.deepEqual(pick({ type: ["custom"] }), ["web", "db"]);
    assert.deepEqual(pick({ type: ["builtin"] }), ["bridge", "host"]);
    assert.deepEqual(pick({ driver: ["host"] }), ["host"]);
    assert.deepEqual(pick({ name: ["ri"] }), ["bridge"], "name is a regular expression (substring)");
    assert.deepEqual(pick({ name: ["^[dw]"] }), ["web", "db"]);
    assert.deepEqual(pick({ id: ["^dd"] }), ["db"]);
    assert.deepEqual(pick({ label: ["tier=front"] }), ["bridge", "host", "web"]);
    assert.deepEqual(pick({ dangling: ["true"] }), ["db"]);
    assert.deepEqual(pick({ dangling: ["false"] }), ["bridge", "host", "web"]);
    assert.throws(() => pick({ type: ["odd"] }), /invalid filter: 'type'='odd'/);
    assert.throws(() => pick({ dangling: ["maybe"] }), /invalid value for filter 'dangling'/);
    assert.throws(() => pick({ colour: ["red"] }), /invalid filter 'colour'/);
  });

  test("prune filters: until, label, label!", () => {
    const now = new Date("2024-05-02T10:00:00Z");
    const keep = (f: unknown, n: NetworkView) => networkPruneKeep(parseFilters(JSON.stringify(f)), now)(n);
    const n = view({});
    assert.equal(keep({}, n), false);
    assert.equal(keep({ until: ["1h"] }, n), false, "created a day before: pruned");
    assert.equal(keep({ until: ["48h"] }, n), true, "created after until: kept");
    assert.equal(keep({ until: ["2024-05-01T09:00:00Z"] }, n), true);
    assert.equal(keep({ until: [String(Date.parse("2024-05-01T11:00:00Z") / 1000)] }, n), false);
    assert.equal(keep({ label: ["tier=front"] }, n), false);
    assert.equal(keep({ label: ["tier=back"] }, n), true);
    assert.equal(keep({ "label!": ["tier"] }, n), true);
    assert.equal(keep({ "label!": ["other"] }, n), false);
    assert.throws(() => keep({ until: ["soon"] }, n), /failed to parse value as time or duration/);
    assert.throws(() => keep({ dangling: ["true"] }, n), /invalid filter 'dangling'/);
  });
});

describe("/networks routes", () => {
  test("list has bridge, host and none; inspect by name, ID and prefix; 404", async () => {
    const r = await request(h.socketPath, "GET", "/v1.43/networks");
    assert.equal(r.status, 200);
    const list = r.json<{ Name: string; Driver: string; Containers: object }[]>();
    assert.deepEqual(list.map((n) => [n.Name, n.Driver]), [["bridge", "bridge"], ["host", "host"], ["none", "null"]]);
    const bridge = h.networks.inspectNetwork("bridge");
    for (const ref of ["bridge", bridge.id, bridge.id.slice(0, 12)]) {
      const j = (await request(h.socketPath, "GET", `/networks/${ref}`)).json<{ Id: string; IPAM: { Config: unknown } }>();
      assert.equal(j.Id, bridge.id);
      assert.deepEqual(j.IPAM.Config, [{ Subnet: "172.30.0.0/16", Gateway: "172.30.0.1" }]);
    }
    const missing = await request(h.socketPath, "GET", "/networks/nope");
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json(), { message: "network nope not found" });
  });

  test("create 201 {Id, Warning}; duplicate 409 with CheckDuplicate, 201 with a warning without; unsupported 400", async () => {
    const r = await request(h.socketPath, "POST", "/networks/create", { body: { ...CLI_CREATE, Name: "made" } });
    assert.equal(r.status, 201);
    const j = r.json<{ Id: string; Warning: string }>();
    assert.match(j.Id, /^[0-9a-f]{64}$/);
    assert.equal(j.Warning, "");
    assert.equal((await request(h.socketPath, "POST", "/networks/create", { body: { Name: "made", CheckDuplicate: true } })).status, 409);
    const again = await request(h.socketPath, "POST", "/networks/create", { body: { Name: "made", CheckDuplicate: false } });
    assert.equal(again.status, 201);
    assert.equal(again.json<{ Warning: string }>().Warning, `Network with name made (id : ${j.Id}) already exists`);
    assert.notEqual(again.json<{ Id: string }>().Id, j.Id);
    await h.networks.removeNetwork(again.json<{ Id: string }>().Id);
    const bad = await request(h.socketPath, "POST", "/networks/create", { body: { Name: "m2", Driver: "overlay" } });
    assert.equal(bad.status, 400);
    assert.match(bad.json<{ message: string }>().message, /Driver="overlay"/);
  });

  test("delete: 204, 403 predefined, 409 while a container (also a stopped one) is on it", async () => {
    await request(h.socketPath, "POST", "/networks/create", { body: { Name: "gone" } });
    assert.equal((await request(h.socketPath, "DELETE", "/networks/gone")).status, 204);
    assert.equal((await request(h.socketPath, "DELETE", "/networks/gone")).status, 404);
    const pre = await request(h.socketPath, "DELETE", "/networks/bridge");
    assert.equal(pre.status, 403);
    assert.deepEqual(pre.json(), { message: "bridge is a pre-defined network and cannot be removed" });
    await request(h.socketPath, "POST", "/networks/create", { body: { Name: "busy" } });
    h.networks.configured.add("busy");
    const busy = await request(h.socketPath, "DELETE", "/networks/busy");
    assert.equal(busy.status, 409);
    assert.match(busy.json<{ message: string }>().message, /^error while removing network: network busy id [0-9a-f]{64} has active endpoints$/);
    h.networks.configured.delete("busy");
    assert.equal((await request(h.socketPath, "POST", "/networks/busy/connect", { body: { Container: "c1" } })).status, 200);
    assert.equal((await request(h.socketPath, "DELETE", "/networks/busy")).status, 409, "a live endpoint");
    assert.equal((await request(h.socketPath, "POST", "/networks/busy/disconnect", { body: { Container: "c1", Force: true } })).status, 200);
    assert.equal((await request(h.socketPath, "DELETE", "/networks/busy")).status, 204);
  });

  test("connect/disconnect pass the container, the network's ID and the endpoint settings", async () => {
    await request(h.socketPath, "POST", "/networks/create", { body: { Name: "conn" } });
    const id = h.networks.inspectNetwork("conn").id;
    const r = await request(h.socketPath, "POST", "/networks/conn/connect", { body: { Container: "web", EndpointConfig: { Aliases: ["w"], IPAMConfig: { IPv4Address: "172.20.0.9" } } } });
    assert.equal(r.status, 200);
    assert.deepEqual(h.networks.calls.filter((c) => c.method === "connectNetwork").at(-1)!.args, ["web", id, { aliases: ["w"], ipv4Address: "172.20.0.9" }]);
    const j = (await request(h.socketPath, "GET", "/networks/conn")).json<{ Containers: Record<string, { Name: string; IPv4Address: string }> }>();
    assert.equal(j.Containers.web!.IPv4Address, "172.20.0.2/16");
    assert.equal((await request(h.socketPath, "POST", "/networks/conn/connect", { body: { Container: "web" } })).status, 409);
    assert.equal((await request(h.socketPath, "POST", "/networks/conn/disconnect", { body: { Container: "web" } })).status, 200);
    assert.deepEqual(h.networks.calls.filter((c) => c.method === "disconnectNetwork").at(-1)!.args, ["web", id]);
    assert.equal((await request(h.socketPath, "POST", "/networks/host/connect", { body: { Container: "web" } })).status, 400);
    assert.equal((await request(h.socketPath, "POST", "/networks/nope/connect", { body: { Container: "web" } })).status, 404);
    await request(h.socketPath, "DELETE", "/networks/conn");
  });

  test("prune removes unused custom networks, keeps configured ones and filtered ones", async () => {
    for (const [name, labels] of [["p1", {}], ["p2", { keep: "1" }], ["p3", {}]] as const) {
      await request(h.socketPath, "POST", "/networks/create", { body: { Name: name, Labels: labels } });
    }
    h.networks.configured.add("p3");
    const r = await request(h.socketPath, "POST", `/networks/prune?filters=${encodeURIComponent('{"label!":["keep"]}')}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { NetworksDeleted: ["made", "p1"] });
    h.networks.configured.delete("p3");
    assert.deepEqual((await request(h.socketPath, "POST", "/networks/prune")).json(), { NetworksDeleted: ["p2", "p3"] });
    assert.equal((await request(h.socketPath, "POST", `/networks/prune?filters=${encodeURIComponent('{"dangling":["1"]}')}`)).status, 400);
  });
});

describe("docker CLI 28 over the fake networks", { skip: hasDocker ? false : "no docker CLI" }, () => {
  test("network create, ls, inspect, rm", async () => {
    const made = await docker(h, ["network", "create", "--subnet", "10.77.0.0/24", "--label", "x=y", "clinet"]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /^[0-9a-f]{64}\n$/);
    const ls = await docker(h, ["network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(ls.stdout.trim().split("\n"), ["bridge bridge local", "clinet bridge local", "host host local", "none null local"]);
    const custom = await docker(h, ["network", "ls", "-q", "--filter", "type=custom", "--no-trunc"]);
    assert.equal(custom.stdout.trim(), made.stdout.trim());
    const insp = await docker(h, ["network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Labels.x}}", "clinet"]);
    assert.equal(insp.stdout, "10.77.0.0/24 10.77.0.1 y\n");
    const internal = await docker(h, ["network", "create", "--internal", "inner"]);
    assert.equal(internal.code, 0, internal.stderr);
    assert.equal((h.networks.calls.filter((c) => c.method === "createNetwork").at(-1)!.args[0] as { internal?: boolean }).internal, true);
    assert.equal((await docker(h, ["network", "create", "inner"])).code, 1, "the CLI sends CheckDuplicate=true below API 1.44");
    assert.equal((await docker(h, ["network", "rm", "inner"])).code, 0);
    const rm = await docker(h, ["network", "rm", "clinet"]);
    assert.equal(rm.code, 0, rm.stderr);
    const rmBridge = await docker(h, ["network", "rm", "bridge"]);
    assert.equal(rmBridge.code, 1);
    assert.match(rmBridge.stderr, /bridge is a pre-defined network and cannot be removed/);
  });
});
