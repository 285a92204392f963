import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  bindingsClash,
  mergePortBindings,
  parsePortKey,
  parsePublish,
  portBindingsFromApi,
  portBindingsToApi,
  portMapView,
  portRequests,
  withPublishAll,
} from "./ports.js";
import { isBerthError } from "./errors.js";

const invalid = (re: RegExp) => (e: unknown) => isBerthError(e, "invalid-argument") && re.test((e as Error).message);

describe("parsePublish (-p)", () => {
  test("the forms the docker CLI accepts", () => {
    assert.deepEqual(parsePublish("80"), { "80/tcp": [{ hostIp: "", hostPort: "" }] });
    assert.deepEqual(parsePublish("8080:80"), { "80/tcp": [{ hostIp: "", hostPort: "8080" }] });
    assert.deepEqual(parsePublish("127.0.0.1:8080:80"), { "80/tcp": [{ hostIp: "127.0.0.1", hostPort: "8080" }] });
    assert.deepEqual(parsePublish("127.0.0.1::80/udp"), { "80/udp": [{ hostIp: "127.0.0.1", hostPort: "" }] });
    assert.deepEqual(parsePublish("53:53/UDP"), { "53/udp": [{ hostIp: "", hostPort: "53" }] });
  });

  test("ranges: equal lengths pair up; a host range for one port is the range to pick from", () => {
    assert.deepEqual(parsePublish("8000-8001:80-81"), {
      "80/tcp": [{ hostIp: "", hostPort: "8000" }],
      "81/tcp": [{ hostIp: "", hostPort: "8001" }],
    });
    assert.deepEqual(parsePublish("8000-8010:80"), { "80/tcp": [{ hostIp: "", hostPort: "8000-8010" }] });
    assert.deepEqual(parsePublish("80-81"), { "80/tcp": [{ hostIp: "", hostPort: "" }], "81/tcp": [{ hostIp: "", hostPort: "" }] });
    assert.throws(() => parsePublish("8000-8002:80-81"), invalid(/invalid ranges specified for container and host Ports: 80-81 and 8000-8002/));
  });

  test("bad input with dockerd's messages", () => {
    assert.throws(() => parsePublish("8080:"), invalid(/no port specified: 8080:<empty>/));
    assert.throws(() => parsePublish("x:80"), invalid(/invalid hostPort: x/));
    assert.throws(() => parsePublish("80000"), invalid(/invalid containerPort: 80000/));
    assert.throws(() => parsePublish("1.2.3:80:80"), invalid(/invalid IP address: 1\.2\.3/));
    assert.throws(() => parsePublish("80/icmp"), invalid(/invalid proto: icmp/));
    assert.throws(() => parsePublish("[::1]:80:80"), invalid(/IPv6 host addresses are not supported/));
    assert.throws(() => parsePublish("80/sctp"), invalid(/sctp/));
  });
});

describe("API map form", () => {
  test("PortBindings: null/empty lists and missing HostPort mean any port", () => {
    const b = portBindingsFromApi({ "80/tcp": [{ HostIp: "", HostPort: "8080" }], "53/udp": null, "443": [], "22/tcp": [{}] });
    assert.deepEqual(b, {
      "80/tcp": [{ hostIp: "", hostPort: "8080" }],
      "53/udp": [{ hostIp: "", hostPort: "" }],
      "443/tcp": [{ hostIp: "", hostPort: "" }],
      "22/tcp": [{ hostIp: "", hostPort: "" }],
    });
    assert.deepEqual(portBindingsToApi({ "80/tcp": [{ hostIp: "127.0.0.1", hostPort: "1" }] }), { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "1" }] });
    assert.deepEqual(portBindingsFromApi(null), {});
    assert.throws(() => portBindingsFromApi({ "80/tcp": [{ HostPort: "abc" }] }), invalid(/invalid hostPort: abc/));
    assert.throws(() => portBindingsFromApi([]), invalid(/must be an object/));
  });

  test("parsePortKey defaults to tcp", () => {
    assert.deepEqual(parsePortKey("80"), { port: 80, protocol: "tcp" });
    assert.deepEqual(parsePortKey("53/udp"), { port: 53, protocol: "udp" });
    assert.throws(() => parsePortKey("0/tcp"), invalid(/invalid port/));
  });

  test("-P publishes exposed ports that have no binding; explicit ones stay", () => {
    const b = withPublishAll(parsePublish("8080:80"), ["80/tcp", "443/tcp", "53/udp"]);
    assert.deepEqual(b, {
      "80/tcp": [{ hostIp: "", hostPort: "8080" }],
      "443/tcp": [{ hostIp: "", hostPort: "" }],
      "53/udp": [{ hostIp: "", hostPort: "" }],
    });
  });

  test("merge keeps every binding of a port", () => {
    assert.deepEqual(mergePortBindings(parsePublish("8080:80"), parsePublish("127.0.0.1:9090:80")), {
      "80/tcp": [{ hostIp: "", hostPort: "8080" }, { hostIp: "127.0.0.1", hostPort: "9090" }],
    });
  });
});

describe("requests and views", () => {
  test("requests sorted by port then protocol; empty host IP is 0.0.0.0; port 0 is any", () => {
    const r = portRequests({ "443/tcp": [{ hostIp: "", hostPort: "0" }], "80/udp": [{ hostIp: "", hostPort: "" }], "80/tcp": [{ hostIp: "127.0.0.1", hostPort: "8000-8010" }] });
    assert.deepEqual(r, [
      { containerPort: 80, protocol: "tcp", hostIp: "127.0.0.1", hostPorts: { from: 8000, to: 8010 } },
      { containerPort: 80, protocol: "udp", hostIp: "0.0.0.0", hostPorts: undefined },
      { containerPort: 443, protocol: "tcp", hostIp: "0.0.0.0", hostPorts: undefined },
    ]);
  });

  test("clashes: same port and protocol on the same or a wildcard address", () => {
    const at = (hostIp: string, hostPort = 80, protocol: "tcp" | "udp" = "tcp") => ({ hostIp, hostPort, protocol });
    assert.ok(bindingsClash(at("0.0.0.0"), at("127.0.0.1")));
    assert.ok(bindingsClash(at("127.0.0.1"), at("127.0.0.1")));
    assert.ok(!bindingsClash(at("127.0.0.1"), at("127.0.0.2")));
    assert.ok(!bindingsClash(at("0.0.0.0"), at("0.0.0.0", 80, "udp")));
    assert.ok(!bindingsClash(at("0.0.0.0"), at("0.0.0.0", 81)));
  });

  test("NetworkSettings.Ports: exposed-only ports are null", () => {
    const v = portMapView(["80/tcp", "443/tcp"], [
      { containerPort: 80, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 32768 },
      { containerPort: 80, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 8080 },
      { containerPort: 53, protocol: "udp", hostIp: "0.0.0.0", hostPort: 5353 },
    ]);
    assert.deepEqual(v, {
      "80/tcp": [{ hostIp: "0.0.0.0", hostPort: "32768" }, { hostIp: "127.0.0.1", hostPort: "8080" }],
      "443/tcp": null,
      "53/udp": [{ hostIp: "0.0.0.0", hostPort: "5353" }],
    });
  });
});
