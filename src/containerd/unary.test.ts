import assert from "node:assert/strict";
import http2 from "node:http2";
import { test } from "node:test";
import { fromRpcError } from "./rpc-errors.js";
import { grpcStatusOf, streamEndError } from "./unary.js";

test("grpcStatusOf: code and percent-decoded message; none without grpc-status", () => {
  assert.deepEqual(grpcStatusOf({ "grpc-status": "5", "grpc-message": "container%20%22x%22%3A%20not%20found" }), { code: 5, message: 'container "x": not found' });
  assert.deepEqual(grpcStatusOf({ "grpc-status": "0" }), { code: 0, message: "" });
  assert.deepEqual(grpcStatusOf({ "grpc-status": "2", "grpc-message": "100%" }), { code: 2, message: "100%" }, "a bad escape is kept as sent");
  assert.equal(grpcStatusOf({ "content-type": "application/grpc" }), undefined);
});

test("streamEndError: a stream that ends without a status gets the kind its reset means", () => {
  const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = http2.constants;
  const kind = (rst: number | undefined, cause?: unknown) => fromRpcError(streamEndError(rst, cause), "Tasks/Start").kind;
  // containerd stopping: it refuses new streams and cancels the ones it had
  assert.equal(kind(NGHTTP2_REFUSED_STREAM), "unavailable");
  assert.equal(kind(NGHTTP2_CANCEL), "unavailable");
  // the connection closing under the call
  assert.equal(kind(undefined), "unavailable");
  assert.equal(kind(NGHTTP2_NO_ERROR), "unavailable");
  assert.equal(kind(NGHTTP2_INTERNAL_ERROR), "internal");
  assert.equal(kind(NGHTTP2_INTERNAL_ERROR, Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })), "unavailable");
  assert.match(streamEndError(NGHTTP2_INTERNAL_ERROR).message, /NGHTTP2_INTERNAL_ERROR/);
});
