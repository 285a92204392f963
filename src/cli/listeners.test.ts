import { test } from "node:test";
import assert from "node:assert/strict";
import { isLoopback, parseHost, planListeners } from "./listeners.js";

test("parseHost takes unix and tcp addresses and refuses others", () => {
  assert.deepEqual(parseHost("unix:///run/b.sock"), { socketPath: "/run/b.sock" });
  assert.deepEqual(parseHost("/run/b.sock"), { socketPath: "/run/b.sock" });
  assert.deepEqual(parseHost("tcp://0.0.0.0:2376"), { host: "0.0.0.0", port: 2376 });
  assert.deepEqual(parseHost("tcp://[::1]:2375"), { host: "::1", port: 2375 });
  assert.throws(() => parseHost("tcp://host"), /invalid --host/);
  assert.throws(() => parseHost("tcp://h:99999"), /port out of range/);
  assert.throws(() => parseHost("fd://"), /invalid --host/);
});

test("isLoopback", () => {
  for (const h of ["127.0.0.1", "127.3.2.1", "::1", "localhost", "::ffff:127.0.0.1"]) assert.equal(isLoopback(h), true, h);
  for (const h of ["0.0.0.0", "10.0.0.1", "::", "example.com", "128.0.0.1"]) assert.equal(isLoopback(h), false, h);
});

test("plain TCP: loopback allowed, any other address refused unless --insecure-tcp", () => {
  assert.deepEqual(planListeners(["tcp://127.0.0.1:2375"], {}), [{ host: "127.0.0.1", port: 2375, insecure: true }]);
  assert.throws(() => planListeners(["tcp://0.0.0.0:2375"], {}), (e: Error) => /refusing to serve tcp:\/\/0\.0\.0\.0:2375 without TLS/.test(e.message) && /--insecure-tcp/.test(e.message));
  assert.deepEqual(planListeners(["tcp://0.0.0.0:2375"], { insecureTcp: true }), [{ host: "0.0.0.0", port: 2375, insecure: true }]);
});

test("--tlsverify: every TCP listener asks for a client certificate; unix sockets stay plain", () => {
  const l = planListeners(["unix:///s.sock", "tcp://0.0.0.0:2376"], { tlsverify: true, tlscacert: "/c/ca", tlscert: "/c/cert", tlskey: "/c/key" });
  assert.deepEqual(l, [{ socketPath: "/s.sock" }, { host: "0.0.0.0", port: 2376, tls: { cert: "/c/cert", key: "/c/key", ca: "/c/ca" }, insecure: false }]);
});

test("--tls without verify: encrypted but no client certificate (insecure); default paths as dockerd's", () => {
  const l = planListeners(["tcp://0.0.0.0:2376"], { tls: true }, "/home/u/.docker");
  assert.deepEqual(l, [{ host: "0.0.0.0", port: 2376, tls: { cert: "/home/u/.docker/cert.pem", key: "/home/u/.docker/key.pem" }, insecure: true }]);
  assert.deepEqual(planListeners(["tcp://0.0.0.0:2376"], { tlsverify: true }, "/d")[0], { host: "0.0.0.0", port: 2376, tls: { cert: "/d/cert.pem", key: "/d/key.pem", ca: "/d/ca.pem" }, insecure: false });
});

test("certificate flags without --tls are an error, not ignored", () => {
  assert.throws(() => planListeners(["tcp://127.0.0.1:1"], { tlscert: "/x" }), /need --tls or --tlsverify/);
});
