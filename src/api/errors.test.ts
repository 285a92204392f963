import assert from "node:assert/strict";
import { test } from "node:test";
import { BerthError, type ErrorKind } from "../base/errors.js";
import { bodyTooLarge, errorBody, httpStatusOf, HttpError, pageNotFound } from "./errors.js";

test("each error kind maps to dockerd's status (httpstatus.FromError)", () => {
  const expected: Record<ErrorKind, number> = {
    "not-found": 404,
    "invalid-argument": 400,
    "already-exists": 409,
    conflict: 409,
    "failed-precondition": 409,
    "permission-denied": 403,
    unavailable: 503,
    "not-implemented": 501,
    canceled: 500,
    "deadline-exceeded": 500,
    "resource-exhausted": 500,
    internal: 500,
    unknown: 500,
  };
  for (const [kind, status] of Object.entries(expected)) {
    assert.equal(httpStatusOf(new BerthError(kind as ErrorKind, "x")), status, kind);
  }
});

test("errors without a kind are 500; protocol errors carry their own status", () => {
  assert.equal(httpStatusOf(new Error("boom")), 500);
  assert.equal(httpStatusOf("string"), 500);
  assert.equal(httpStatusOf(pageNotFound()), 404);
  assert.equal(httpStatusOf(bodyTooLarge(10)), 413);
  assert.equal(httpStatusOf(new HttpError(418, "teapot")), 418);
});

test("the error body is dockerd's {\"message\"} with a trailing newline", () => {
  assert.equal(errorBody(new Error('No such container: "x"')), '{"message":"No such container: \\"x\\""}\n');
  assert.equal(errorBody(pageNotFound()), '{"message":"page not found"}\n');
});
