import { test } from "node:test";
import assert from "node:assert/strict";
import { isBerthError } from "./errors.js";
import { createContainerIndex } from "./lookup.js";
import {
  createNameRegistry,
  generateContainerName,
  isValidContainerName,
  normalizeContainerName,
  type RandomInt,
} from "./names.js";

const A = "a1".repeat(32);
const B = "b2".repeat(32);
const C = "a1ff".repeat(16);

function expectKind(fn: () => unknown, kind: string, message?: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isBerthError(e), String(e));
    assert.equal(e.kind, kind);
    if (message) assert.match(e.message, message);
    return true;
  });
}

test("container names: valid forms, canonical with a leading slash", () => {
  for (const [input, canonical] of [
    ["web", "/web"],
    ["/web", "/web"],
    ["a1", "/a1"],
    ["My_app.v2-beta", "/My_app.v2-beta"],
    ["0abc", "/0abc"],
  ]) {
    assert.equal(isValidContainerName(input!), true, input);
    assert.equal(normalizeContainerName(input!), canonical);
  }
});

test("container names: invalid forms are invalid-argument with docker's message", () => {
  for (const bad of ["", "/", "a", "/a", "_web", "-web", ".web", "we b", "web/x", "//web", "wéb", "web!"]) {
    assert.equal(isValidContainerName(bad), false, bad);
    expectKind(
      () => normalizeContainerName(bad),
      "invalid-argument",
      /^Invalid container name \(.*\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed$/,
    );
  }
});

test("reserve: canonical name back; idempotent for the same id; conflict for another", () => {
  const r = createNameRegistry();
  assert.equal(r.reserve("web", A), "/web");
  assert.equal(r.reserve("/web", A), "/web");
  assert.equal(r.size, 1);
  assert.throws(
    () => r.reserve("web", B),
    (e: unknown) =>
      isBerthError(e, "conflict") &&
      e.message ===
        `Conflict. The container name "/web" is already in use by container "${A}". ` +
          "You have to remove (or rename) that container to be able to reuse that name.",
  );
  assert.equal(r.get("web"), A);
  assert.equal(r.get("/web"), A);
});

test("release frees a name for someone else; releasing an unknown or invalid name is false", () => {
  const r = createNameRegistry();
  r.reserve("web", A);
  assert.equal(r.release("/web"), true);
  assert.equal(r.release("web"), false);
  assert.equal(r.release("!!"), false);
  assert.equal(r.reserve("web", B), "/web");
  assert.equal(r.get("web"), B);
  assert.deepEqual(r.namesOf(A), []);
});

test("releaseAll frees every name of one container only", () => {
  const r = createNameRegistry();
  r.reserve("one", A);
  r.reserve("two", A);
  r.reserve("three", B);
  assert.deepEqual(r.releaseAll(A).sort(), ["/one", "/two"]);
  assert.equal(r.get("one"), undefined);
  assert.equal(r.get("three"), B);
  assert.equal(r.size, 1);
});

test("rename moves the name; a taken target is a conflict and keeps the old name", () => {
  const r = createNameRegistry();
  r.reserve("old", A);
  r.reserve("taken", B);
  assert.equal(r.rename("old", "new"), "/new");
  assert.equal(r.get("new"), A);
  assert.equal(r.get("old"), undefined);
  assert.deepEqual(r.namesOf(A), ["/new"]);
  expectKind(() => r.rename("/new", "taken"), "conflict");
  assert.equal(r.get("new"), A);
  assert.equal(r.get("taken"), B);
  expectKind(() => r.rename("new", "/new"), "invalid-argument", /same name/);
  expectKind(() => r.rename("ghost", "other"), "not-found");
  expectKind(() => r.rename("new", "x"), "invalid-argument", /Invalid container name/);
  assert.equal(r.get("new"), A);
});

test("two concurrent creates with one name: exactly one wins, the other gets a conflict", async () => {
  const r = createNameRegistry();
  const created: string[] = [];
  // A create awaits before and after reserving (image lookup, writing the record); the
  // reservation itself is one synchronous step, so the interleaving cannot double-book.
  const create = async (id: string) => {
    await new Promise((res) => setTimeout(res, 1));
    const name = r.reserve("db", id);
    await new Promise((res) => setTimeout(res, 1));
    created.push(id);
    return name;
  };
  const results = await Promise.allSettled([create(A), create(B)]);
  const won = results.filter((x) => x.status === "fulfilled");
  const lost = results.filter((x): x is PromiseRejectedResult => x.status === "rejected");
  assert.equal(won.length, 1);
  assert.equal(lost.length, 1);
  assert.ok(isBerthError(lost[0]!.reason, "conflict"));
  assert.deepEqual(created, [r.get("db")]);
});

/** Replays a fixed sequence of "random" numbers. */
const scripted = (values: number[]): RandomInt => {
  let i = 0;
  return (n) => {
    const v = values[i++ % values.length]!;
    assert.ok(v < n);
    return v;
  };
};

test("generated names are adjective_surname, with a digit on retries", () => {
  for (let i = 0; i < 200; i++) assert.match(generateContainerName(), /^[a-z]+_[a-z]+$/);
  for (let i = 0; i < 200; i++) assert.match(generateContainerName(1), /^[a-z]+_[a-z]+[0-9]$/);
  assert.equal(generateContainerName(0, scripted([0, 0])), "admiring_agnesi");
});

test("boring_wozniak is never generated", () => {
  // boring is adjective #4, wozniak surname #48; the generator must draw again.
  assert.equal(generateContainerName(0, scripted([4, 48, 0, 0])), "admiring_agnesi");
});

test("reserveGenerated: a fresh name; on collisions six tries, then the short ID", () => {
  const r = createNameRegistry();
  const name = r.reserveGenerated(A);
  assert.match(name, /^\/[a-z]+_[a-z]+$/);
  assert.equal(r.get(name), A);

  // The same draws every time: the first six candidates are taken, so the short ID is used.
  const rand = scripted([0, 0, 0]);
  r.reserve("admiring_agnesi", B);
  for (let d = 0; d < 10; d++) r.reserve(`admiring_agnesi${d}`, B);
  assert.equal(r.reserveGenerated(C, rand), "/" + C.slice(0, 12));
  assert.equal(r.get(C.slice(0, 12)), C);
});

test("lookup: full ID, then name with or without slash, then unique prefix", () => {
  const names = createNameRegistry();
  const idx = createContainerIndex<string>(names);
  idx.add(A, "container A");
  idx.add(B, "container B");
  idx.add(C, "container C");
  names.reserve("web", B);
  assert.deepEqual(idx.resolve(A), { id: A, value: "container A" });
  assert.deepEqual(idx.resolve("web"), { id: B, value: "container B" });
  assert.deepEqual(idx.resolve("/web"), { id: B, value: "container B" });
  assert.deepEqual(idx.resolve("b2b2"), { id: B, value: "container B" });
  assert.deepEqual(idx.resolve("a1a1"), { id: A, value: "container A" });
  assert.deepEqual(idx.resolve("a1f"), { id: C, value: "container C" });
});

test("lookup: a name wins over an ID prefix it happens to look like", () => {
  const names = createNameRegistry();
  const idx = createContainerIndex<string>(names);
  idx.add(A, "A");
  idx.add(B, "B");
  names.reserve("a1a1", B);
  assert.equal(idx.resolve("a1a1").id, B);
});

test("lookup: ambiguous prefix is invalid-argument; unknown is not-found; empty is invalid-argument", () => {
  const names = createNameRegistry();
  const idx = createContainerIndex<string>(names);
  idx.add(A, "A");
  idx.add(C, "C");
  expectKind(() => idx.resolve("a1"), "invalid-argument", /^multiple IDs found with provided prefix: a1$/);
  expectKind(() => idx.resolve("ff"), "not-found", /^No such container: ff$/);
  expectKind(() => idx.resolve("nosuchname"), "not-found", /^No such container: nosuchname$/);
  expectKind(() => idx.resolve(""), "invalid-argument");
  names.reserve("dangling", B); // a name whose container is not in the index
  expectKind(() => idx.resolve("dangling"), "not-found");
});

test("index: add refuses a duplicate ID; delete removes it from lookups", () => {
  const names = createNameRegistry();
  const idx = createContainerIndex<number>(names);
  idx.add(A, 1);
  expectKind(() => idx.add(A, 2), "already-exists");
  assert.equal(idx.get(A), 1);
  assert.equal(idx.size, 1);
  assert.deepEqual([...idx.values()], [1]);
  assert.equal(idx.delete(A), true);
  assert.equal(idx.delete(A), false);
  expectKind(() => idx.resolve("a1"), "not-found");
});
