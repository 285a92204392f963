import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeFrames, frame, FrameDecoder, STDERR, STDOUT, SYSTEMERR } from "./stdcopy.js";

test("a frame is stream type, three zero bytes, big-endian length, payload", () => {
  assert.deepEqual([...frame(STDOUT, "line1\n")], [1, 0, 0, 0, 0, 0, 0, 6, ...Buffer.from("line1\n")]);
  assert.deepEqual([...frame(STDERR, Buffer.from("e"))], [2, 0, 0, 0, 0, 0, 0, 1, 101]);
  const big = frame(SYSTEMERR, Buffer.alloc(300, 120));
  assert.deepEqual([...big.subarray(0, 8)], [3, 0, 0, 0, 0, 0, 1, 44]);
  assert.equal(big.length, 308);
});

test("an empty payload yields no frame", () => {
  assert.equal(frame(STDOUT, "").length, 0);
});

test("the decoder reassembles frames split anywhere", () => {
  const data = Buffer.concat([frame(STDOUT, "hello "), frame(STDERR, "oops\n"), frame(STDOUT, "world\n")]);
  for (let cut = 0; cut <= data.length; cut++) {
    const d = new FrameDecoder();
    const frames = [...d.push(data.subarray(0, cut)), ...d.push(data.subarray(cut))];
    assert.deepEqual(
      frames.map((f) => [f.stream, f.payload.toString()]),
      [
        [1, "hello "],
        [2, "oops\n"],
        [1, "world\n"],
      ],
    );
    assert.equal(d.pending, 0);
  }
});

test("truncated input and unknown stream types are errors", () => {
  assert.throws(() => decodeFrames(frame(STDOUT, "abc").subarray(0, 9)), /truncated frame/);
  assert.throws(() => decodeFrames(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0])), /unrecognized stream type 9/);
});
