import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseExtraHosts, PEERS_MARK, renderHosts, selfNames, writeInPlace } from "./hosts-file.js";
import { isBerthError } from "./errors.js";

describe("hosts file", () => {
  test("dockerd's lines, extra hosts, own entry, then peers", () => {
    const text = renderHosts({
      extra: parseExtraHosts(["db:10.0.0.5", "gw:host-gateway"], "172.30.0.1"),
      self: [{ ip: "172.18.0.2", names: selfNames("web", "example.com") }],
      peers: [{ ip: "172.18.0.3", names: ["api", "0123456789ab", "backend"] }],
    });
    assert.equal(
      text,
      [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "ff00::0\tip6-mcastprefix",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
        "10.0.0.5\tdb",
        "172.30.0.1\tgw",
        "172.18.0.2\tweb.example.com web",
        PEERS_MARK,
        "172.18.0.3\tapi 0123456789ab backend",
        "",
      ].join("\n"),
    );
    assert.ok(!renderHosts({ extra: [], self: [], peers: [] }).includes(PEERS_MARK));
  });

  test("--add-host forms", () => {
    assert.deepEqual(parseExtraHosts(["a=1.2.3.4", "b:[::1]", "c:::1"], undefined), [
      { ip: "1.2.3.4", names: ["a"] },
      { ip: "::1", names: ["b"] },
      { ip: "::1", names: ["c"] },
    ]);
    assert.throws(() => parseExtraHosts(["nohost"], undefined), (e) => isBerthError(e, "invalid-argument"));
    assert.throws(() => parseExtraHosts(["x:host-gateway"], undefined), (e) => isBerthError(e, "invalid-argument") && /host-gateway/.test(e.message));
    assert.throws(() => parseExtraHosts(["x:not an ip"], undefined), (e) => isBerthError(e, "invalid-argument"));
  });

  test("written in place: same inode, shorter content truncates", async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), "berth-hosts-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const f = path.join(dir, "hosts");
    await writeInPlace(f, "a long first version\n");
    const ino = (await stat(f)).ino;
    await writeInPlace(f, "short\n");
    assert.equal(await readFile(f, "utf8"), "short\n");
    assert.equal((await stat(f)).ino, ino);
  });
});

describe("links", () => {
  test("name:alias and a bare name give the aliases per linked name", async () => {
    const { linkAliases } = await import("./sandbox-views.js");
    assert.deepEqual([...linkAliases(["up:bar", "up:baz", "/db", "x:y"])], [["up", ["bar", "baz"]], ["db", ["db"]], ["x", ["y"]]]);
  });
});
