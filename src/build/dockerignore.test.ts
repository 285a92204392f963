import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePatterns, isExcluded, readDockerignore } from "./dockerignore.js";

const ex = (lines: string, file: string) => isExcluded(file, compilePatterns(readDockerignore(lines)));

test("lines are cleaned: comments, blanks, leading slash, ./ and trailing slash", () => {
  assert.deepEqual(readDockerignore("# c\n\n /abs \n./rel/\n! keep\n!/x/../y\n"), ["abs", "rel", "!keep", "!y"]);
});

test("* and ? stay within a segment; a directory pattern excludes what is under it", () => {
  assert.equal(ex("*.log", "a.log"), true);
  assert.equal(ex("*.log", "d/a.log"), false);
  assert.equal(ex("?.txt", "a.txt"), true);
  assert.equal(ex("?.txt", "ab.txt"), false);
  assert.equal(ex("node_modules", "node_modules/x/y.js"), true);
  assert.equal(ex("d/*", "d/e/f"), true);
  assert.equal(ex("a.b", "aXb"), false);
});

test("** spans directories, even none", () => {
  assert.equal(ex("**/*.go", "x.go"), true);
  assert.equal(ex("**/*.go", "a/b/x.go"), true);
  assert.equal(ex("a/**/z", "a/z"), true);
  assert.equal(ex("a/**/z", "a/b/c/z"), true);
  assert.equal(ex("a/**", "a/b/c"), true);
  assert.equal(ex("a/**", "b/a"), false);
});

test("exceptions: the last matching pattern wins", () => {
  assert.equal(ex("*.md\n!README.md", "README.md"), false);
  assert.equal(ex("*.md\n!README.md", "OTHER.md"), true);
  assert.equal(ex("*.md\n!README*.md\nREADME-secret.md", "README-secret.md"), true);
  assert.equal(ex("docs\n!docs/keep.txt", "docs/keep.txt"), false);
  assert.equal(ex("docs\n!docs/keep.txt", "docs/other.txt"), true);
});

test("classes and escapes as filepath.Match", () => {
  assert.equal(ex("[abc].txt", "b.txt"), true);
  assert.equal(ex("[!abc].txt", "b.txt"), false);
  assert.equal(ex("[!abc].txt", "d.txt"), true);
  assert.equal(ex("[a-c]x", "bx"), true);
  assert.equal(ex("\\*x", "*x"), true);
  assert.equal(ex("\\*x", "ax"), false);
});
