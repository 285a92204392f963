import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, GrpcError } from "./grpc-status.js";
import { BerthError, isBerthError } from "../base/errors.js";
import { fromRpcError } from "./rpc-errors.js";

test("gRPC codes map to kinds", () => {
  const cases: [Code, string][] = [
    [Code.NotFound, "not-found"], [Code.AlreadyExists, "already-exists"],
    [Code.InvalidArgument, "invalid-argument"], [Code.FailedPrecondition, "failed-precondition"],
    [Code.Unavailable, "unavailable"], [Code.Unimplemented, "not-implemented"],
    [Code.DeadlineExceeded, "deadline-exceeded"], [Code.Canceled, "canceled"],
    [Code.Aborted, "conflict"], [Code.Internal, "internal"], [Code.Unknown, "unknown"],
  ];
  for (const [code, kind] of cases) {
    const e = fromRpcError(new GrpcError("boom", code), "Tasks/Get");
    assert.equal(e.kind, kind, Code[code]);
    assert.equal(e.rpc, "Tasks/Get");
    assert.equal(e.message, "containerd Tasks/Get: boom");
    assert.ok(e.cause instanceof GrpcError);
  }
});

test("a containerd that is down arrives as Internal 'connect ENOENT' and maps to unavailable", () => {
  const sock = Object.assign(new Error("connect ENOENT /x.sock"), { code: "ENOENT" });
  const viaCause = new GrpcError("connect ENOENT /x.sock", Code.Internal, sock);
  assert.equal(fromRpcError(viaCause).kind, "unavailable");
  const viaMessage = new GrpcError("connect ECONNREFUSED /x.sock", Code.Internal);
  assert.equal(fromRpcError(viaMessage).kind, "unavailable");
  // Streams reset by a containerd that stops under the call: unavailable, not canceled.
  assert.equal(fromRpcError(new GrpcError("http/2 stream closed with error code CANCEL (0x8)", Code.Canceled)).kind, "unavailable");
  assert.equal(fromRpcError(new GrpcError("test abort", Code.Canceled)).kind, "canceled");
  // An Internal error that is not about the socket stays internal.
  assert.equal(fromRpcError(new GrpcError("shim failed", Code.Internal)).kind, "internal");
  // NotFound that merely mentions a missing file is still not-found.
  assert.equal(fromRpcError(new GrpcError("open /x: ENOENT", Code.NotFound)).kind, "not-found");
});

test("containerd's own context errors keep their kind when sent as Unknown", () => {
  assert.equal(fromRpcError(new GrpcError("context deadline exceeded: unknown", Code.Unknown)).kind, "deadline-exceeded");
  assert.equal(fromRpcError(new GrpcError("context canceled: unknown", Code.Unknown)).kind, "canceled");
  assert.equal(fromRpcError(new GrpcError("something else", Code.Unknown)).kind, "unknown");
});

test("BerthError carries a stable code and passes through the translator unchanged", () => {
  const e = new BerthError("failed-precondition", "nope");
  assert.equal(e.code, "ERR_BERTH_FAILED_PRECONDITION");
  assert.equal(fromRpcError(e), e);
  assert.ok(isBerthError(e, "failed-precondition"));
  assert.ok(!isBerthError(e, "not-found"));
  assert.ok(!isBerthError(new Error("x")));
});
