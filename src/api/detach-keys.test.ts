import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { isBerthError } from "../base/errors.js";
import { DEFAULT_DETACH_KEYS, detachableInput, parseDetachKeys } from "./detach-keys.js";

test("parseDetachKeys: moby/term's names", () => {
  assert.deepEqual([...parseDetachKeys("ctrl-p,ctrl-q")], [...DEFAULT_DETACH_KEYS]);
  assert.deepEqual([...parseDetachKeys("ctrl-x")], [24]);
  assert.deepEqual([...parseDetachKeys("a,ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_")], [97, 0, 27, 28, 29, 30, 31]);
  for (const bad of ["ctrl-1", "ab", "ctrl-", ""]) {
    assert.throws(() => parseDetachKeys(bad), (e: unknown) => isBerthError(e, "invalid-argument"), bad);
  }
});

async function feed(chunks: Buffer[], keys: Buffer) {
  const input = new PassThrough();
  let detached = 0;
  const out = detachableInput(input, keys, () => detached++);
  const got: Buffer[] = [];
  out.on("data", (c: Buffer) => got.push(c));
  let ended = false;
  out.on("end", () => (ended = true));
  for (const c of chunks) {
    input.write(c);
    await new Promise((r) => setImmediate(r));
  }
  input.end();
  await new Promise((r) => setImmediate(r));
  return { data: Buffer.concat(got).toString("latin1"), detached, ended };
}

test("detachableInput: typed keys detach without ending the stream; partial or pasted keys pass through", async () => {
  const b = (s: string) => Buffer.from(s, "latin1");
  const typed = await feed([b("ab"), b("\x10"), b("\x11"), b("after")], DEFAULT_DETACH_KEYS);
  assert.deepEqual(typed, { data: "ab", detached: 1, ended: false }, "stdin is not closed: the process keeps running");
  const partial = await feed([b("\x10"), b("x"), b("\x11")], DEFAULT_DETACH_KEYS);
  assert.deepEqual(partial, { data: "\x10x\x11", detached: 0, ended: true });
  const pasted = await feed([b("\x10\x11")], DEFAULT_DETACH_KEYS);
  assert.deepEqual(pasted, { data: "\x10\x11", detached: 0, ended: true }, "one read of both keys is not a detach (moby/term)");
  const held = await feed([b("\x10")], DEFAULT_DETACH_KEYS);
  assert.deepEqual(held, { data: "\x10", detached: 0, ended: true }, "a held prefix is released at EOF");
  const single = await feed([b("q"), b("\x18")], parseDetachKeys("ctrl-x"));
  assert.deepEqual(single, { data: "q", detached: 1, ended: false });
});
