import assert from "node:assert/strict";
import { test } from "node:test";

import { isInvalidArgument } from "../base/errors.js";
import { linkEnv, parseLink } from "./legacy-links.js";

test("parseLink: name:alias, name alone, bad formats", () => {
  assert.deepEqual(parseLink("db:my-db"), { name: "db", alias: "my-db" });
  assert.deepEqual(parseLink("/db"), { name: "db", alias: "db" });
  assert.throws(() => parseLink("a:b:c"), isInvalidArgument);
  assert.throws(() => parseLink(":x"), isInvalidArgument);
});

test("linkEnv: dockerd 20.10's variables, its port runs and tcp-first order included", () => {
  // What dockerd 20.10 gave `--link o2db:my-db` for --expose 80 81 82 82/udp 5432 -e FOO=bar -e X=a=b.
  const env = linkEnv({ linkName: "/o2l/my-db", ip: "", exposedPorts: ["82/udp", "5432/tcp", "80/tcp", "82/tcp", "81/tcp"], env: ["PATH=/bin", "FOO=bar", "X=a=b", "HOME=/root"] });
  assert.deepEqual([...env].sort(), [
    "MY_DB_ENV_FOO=bar",
    "MY_DB_ENV_X=a=b",
    "MY_DB_NAME=/o2l/my-db",
    "MY_DB_PORT=tcp://:80",
    "MY_DB_PORT_5432_TCP=tcp://:5432",
    "MY_DB_PORT_5432_TCP_ADDR=",
    "MY_DB_PORT_5432_TCP_PORT=5432",
    "MY_DB_PORT_5432_TCP_PROTO=tcp",
    "MY_DB_PORT_80_TCP=tcp://:80",
    "MY_DB_PORT_80_TCP_ADDR=",
    "MY_DB_PORT_80_TCP_PORT=80",
    "MY_DB_PORT_80_TCP_PORT_START=80",
    "MY_DB_PORT_80_TCP_PROTO=tcp",
    "MY_DB_PORT_80_TCP_START=tcp://:80",
    "MY_DB_PORT_80_UDP_END=udp://:82",
    "MY_DB_PORT_80_UDP_PORT_END=82",
    "MY_DB_PORT_81_TCP=tcp://:81",
    "MY_DB_PORT_81_TCP_ADDR=",
    "MY_DB_PORT_81_TCP_PORT=81",
    "MY_DB_PORT_81_TCP_PROTO=tcp",
    "MY_DB_PORT_82_TCP=tcp://:82",
    "MY_DB_PORT_82_TCP_ADDR=",
    "MY_DB_PORT_82_TCP_PORT=82",
    "MY_DB_PORT_82_TCP_PROTO=tcp",
    "MY_DB_PORT_82_UDP=udp://:82",
    "MY_DB_PORT_82_UDP_ADDR=",
    "MY_DB_PORT_82_UDP_PORT=82",
    "MY_DB_PORT_82_UDP_PROTO=udp",
  ]);
});

test("linkEnv: an address, two ports apart (no run), no ports", () => {
  assert.deepEqual(linkEnv({ linkName: "/me/db", ip: "172.17.0.2", exposedPorts: ["6379/tcp", "6380/tcp"], env: [] }), [
    "DB_PORT=tcp://172.17.0.2:6379",
    "DB_PORT_6379_TCP=tcp://172.17.0.2:6379", "DB_PORT_6379_TCP_ADDR=172.17.0.2", "DB_PORT_6379_TCP_PORT=6379", "DB_PORT_6379_TCP_PROTO=tcp",
    "DB_PORT_6380_TCP=tcp://172.17.0.2:6380", "DB_PORT_6380_TCP_ADDR=172.17.0.2", "DB_PORT_6380_TCP_PORT=6380", "DB_PORT_6380_TCP_PROTO=tcp",
    "DB_NAME=/me/db",
  ]);
  assert.deepEqual(linkEnv({ linkName: "/me/x", ip: "", exposedPorts: [], env: [] }), ["X_NAME=/me/x"]);
});
