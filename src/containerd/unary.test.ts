import assert from "node:assert/strict";
import http2 from "node:http2";
import { test } from "node:test";
import { Code } from "./grpc-status.js";
import { fromRpcError } from "./rpc-errors.js";
import { codeOfHttpStatus, grpcStatusOf, streamEndError } from "./unary.js";

test("grpcStatusOf: code and percent-decoded message; none without grpc-status; a bad code is internal", () => {
  assert.deepEqual(grpcStatusOf({ "grpc-status": "5", "grpc-message": "container%20%22x%22%3A%20not%20found" }), { code: 5, message: 'container "x": not found' });
  assert.deepEqual(grpcStatusOf({ "grpc-status": "0" }), { code: 0, message: "" });
  assert.deepEqual(grpcStatusOf({ "grpc-status": "2", "grpc-message": "100%" }), { code: 2, message: "100%" }, "a bad escape is kept as sent");
  assert.equal(grpcStatusOf({ "content-type": "application/grpc" }), undefined);
  const bad = grpcStatusOf({ "grpc-status": "x", "grpc-message": "boom" })!;
  assert.equal(bad.code, Code.Internal);
  assert.match(bad.message, /invalid grpc-status "x": boom/);
  assert.equal(grpcStatusOf({ "grpc-status": "17" })!.code, Code.Internal);
});

test("streamEndError: a stream that ends without a status gets the kind its reset means", () => {
  const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_PROTOCOL_ERROR } = http2.constants;
  const kind = (rst: number | undefined, cause?: unknown) => fromRpcError(streamEndError(rst, cause), "Tasks/Start").kind;
  // containerd stopping: it refuses new streams and cancels the ones it had
  assert.equal(kind(NGHTTP2_REFUSED_STREAM), "unavailable");
  assert.equal(kind(NGHTTP2_CANCEL), "unavailable");
  // the connection or the session closing under the call
  assert.equal(kind(undefined), "unavailable");
  assert.equal(kind(NGHTTP2_NO_ERROR), "unavailable");
  assert.equal(kind(NGHTTP2_INTERNAL_ERROR, Object.assign(new Error("Session closed with error code 2"), { code: "ERR_HTTP2_SESSION_ERROR" })), "unavailable");
  assert.equal(kind(NGHTTP2_INTERNAL_ERROR, Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })), "unavailable");
  assert.equal(kind(NGHTTP2_INTERNAL_ERROR), "internal");
  // codes are named as node names them, not by another constant of the same value
  assert.equal(streamEndError(NGHTTP2_CANCEL).rawMessage, "stream closed with error code NGHTTP2_CANCEL");
  assert.equal(streamEndError(NGHTTP2_PROTOCOL_ERROR).rawMessage, "stream closed with error code NGHTTP2_PROTOCOL_ERROR");
  assert.equal(streamEndError(NGHTTP2_INTERNAL_ERROR).rawMessage, "stream closed with error code NGHTTP2_INTERNAL_ERROR");
  assert.equal(streamEndError(99).rawMessage, "stream closed with error code 99");
});

test("codeOfHttpStatus: gRPC's mapping of a non-200 answer", () => {
  assert.equal(codeOfHttpStatus(503), Code.Unavailable);
  assert.equal(codeOfHttpStatus(429), Code.Unavailable);
  assert.equal(codeOfHttpStatus(404), Code.Unimplemented);
  assert.equal(codeOfHttpStatus(401), Code.Unauthenticated);
  assert.equal(codeOfHttpStatus(500), Code.Unknown);
});
