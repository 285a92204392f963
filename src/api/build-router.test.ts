import { test } from "node:test";
import assert from "node:assert/strict";
import { goJson, parseBuildQuery } from "./build-router.js";

const q = (s: string) => parseBuildQuery(new URLSearchParams(s));

test("the docker CLI's query: tags, build args, labels; rm defaults to true", () => {
  const p = q("buildargs=%7B%22A%22%3A%221%22%2C%22B%22%3Anull%7D&dockerfile=Dockerfile&labels=%7B%22x%22%3A%22y%22%7D&q=1&t=a%3A1&t=b&version=1");
  assert.deepEqual(p.tags, ["a:1", "b"]);
  assert.deepEqual(p.buildArgs, { A: "1", B: null });
  assert.deepEqual(p.labels, { x: "y" });
  assert.equal(p.quiet, true);
  assert.equal(p.rm, true);
  assert.equal(p.forceRm, false);
  assert.equal(q("rm=0").rm, false);
  assert.equal(q("rm=0&forcerm=1").rm, true);
  assert.deepEqual(q("extrahosts=a%3A1.2.3.4&extrahosts=b%3A5.6.7.8&shmsize=1024&memory=0").run, {
    resources: { memory: 0, memorySwap: 0, cpuShares: 0, cpuQuota: 0, cpuPeriod: 0, cpusetCpus: "" },
    extraHosts: ["a:1.2.3.4", "b:5.6.7.8"], shmSize: 1024,
  });
});

test("what berth cannot do is a 400 naming it", () => {
  for (const [s, re] of [
    ["platform=linux/arm64", /platform "linux\/arm64" is not supported/],
    ["remote=https://github.com/x/y.git", /remote build contexts/],
    ["version=2", /BuildKit/],
    ["squash=1", /squash/],
    ["cgroupparent=/x", /cgroupparent/],
    ["buildargs=%7Bbad", /error reading build args/],
    ["isolation=hyperv", /Invalid isolation/],
  ] as const) {
    assert.throws(() => q(s), (e: Error & { kind?: string }) => re.test(e.message) && e.kind === "invalid-argument", s);
  }
  assert.equal(q("platform=linux/amd64").tags.length, 0);
});

test("JSON as Go's encoder writes it: <, > and & escaped", () => {
  assert.equal(goJson({ stream: "a > b && c < d\n" }), '{"stream":"a \\u003e b \\u0026\\u0026 c \\u003c d\\n"}');
});
