import { test } from "node:test";
import assert from "node:assert/strict";
import { fdsForHost, sockaddrUn, takeListenFds } from "./systemd.js";

test("LISTEN_FDS for this pid gives fds from 3 and is removed from the environment", () => {
  const env: NodeJS.ProcessEnv = { LISTEN_FDS: "2", LISTEN_PID: "42", LISTEN_FDNAMES: "a:b", PATH: "/bin" };
  assert.deepEqual(takeListenFds(env, 42), [3, 4]);
  assert.deepEqual(env, { PATH: "/bin" });
  assert.deepEqual(takeListenFds({ LISTEN_FDS: "1", LISTEN_PID: "7" }, 42), [], "meant for another process");
  assert.deepEqual(takeListenFds({}, 42), []);
});

test("fd:// takes every activated socket, fd://N the one numbered N", () => {
  assert.deepEqual(fdsForHost("fd://", [3, 4]), [3, 4]);
  assert.deepEqual(fdsForHost("fd://4", [3, 4]), [4]);
  assert.throws(() => fdsForHost("fd://5", [3, 4]), /descriptor 5 is not among the activated sockets \(3, 4\)/);
  assert.throws(() => fdsForHost("fd://", []), /no sockets were passed by systemd socket activation/);
});

test("sockaddr_un for a path (NUL-terminated) and an abstract name (@)", () => {
  const p = sockaddrUn("/run/systemd/notify");
  assert.equal(p.addr.readUInt16LE(0), 1);
  assert.equal(p.addr.subarray(2, p.length - 1).toString(), "/run/systemd/notify");
  assert.equal(p.length, 2 + "/run/systemd/notify".length + 1);
  const a = sockaddrUn("@sd-notify");
  assert.equal(a.addr[2], 0);
  assert.equal(a.addr.subarray(3, a.length).toString(), "sd-notify");
  assert.throws(() => sockaddrUn("/" + "x".repeat(120)), /too long/);
});
