import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chainIds, digestHex, sha256Digest, topChainId } from "./digest.js";

const sha = (s: string) => "sha256:" + createHash("sha256").update(s).digest("hex");

test("chainID(1) = diffID(1); chainID(n) = sha256(chainID(n-1) + ' ' + diffID(n))", () => {
  const d = [sha("a"), sha("b"), sha("c")];
  const c2 = sha(`${d[0]} ${d[1]}`);
  const c3 = sha(`${c2} ${d[2]}`);
  assert.deepEqual(chainIds(d), [d[0], c2, c3]);
  assert.equal(topChainId(d), c3);
  assert.equal(topChainId([]), undefined);
  assert.deepEqual(chainIds([]), []);
});

test("a known chain ID (OCI image spec example)", () => {
  // The spec's example: ChainID(A|B) = Digest(ChainID(A) + " " + DiffID(B)).
  const a = "sha256:a9561eb1b190625c9adb5a9513e72c4dedafc1cb2d4c5236c9a6957ec7dfd5a9";
  const b = "sha256:3b8e4a5f8bb7f1a3f3b4ea1bb5ebd2f5f3b0f1d1f0b4d2f1d3d9d9b6e0d1a1b1";
  assert.equal(chainIds([a, b])[1], sha(`${a} ${b}`));
});

test("digest helpers", () => {
  assert.equal(sha256Digest("x"), sha("x"));
  assert.equal(digestHex("sha256:abc"), "abc");
  assert.equal(digestHex("abc"), "abc");
});
