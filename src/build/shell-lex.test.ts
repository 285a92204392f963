import { test } from "node:test";
import assert from "node:assert/strict";
import { processWord, processWords } from "./shell-lex.js";

const env = ["A=alpha", "EMPTY=", "SP=a b", "A=shadowed"];

test("$VAR and ${VAR} expand; unset is empty; the first entry of a name wins", () => {
  assert.equal(processWord("$A", env), "alpha");
  assert.equal(processWord("${A}x", env), "alphax");
  assert.equal(processWord("x$NOPE.y", env), "x.y");
  assert.equal(processWord("$A$A", env), "alphaalpha");
});

test("modifiers :- :+ :? and nesting inside the word", () => {
  assert.equal(processWord("${NOPE:-def}", env), "def");
  assert.equal(processWord("${EMPTY:-def}", env), "def");
  assert.equal(processWord("${A:-def}", env), "alpha");
  assert.equal(processWord("${A:+set}", env), "set");
  assert.equal(processWord("${EMPTY:+set}", env), "");
  assert.equal(processWord("${NOPE:-$A/x}", env), "alpha/x");
  assert.throws(() => processWord("${NOPE:?must be set}", env), /NOPE: must be set/);
  assert.throws(() => processWord("${A:%x}", env), /unsupported modifier \(%\)/);
  assert.throws(() => processWord("${A-x}", env), /missing ':' in substitution/);
  assert.throws(() => processWord("${A:-x", env), /unexpected end of statement/);
});

test("quotes: single is literal, double expands and escapes only \" $ and the escape", () => {
  assert.equal(processWord("'$A'", env), "$A");
  assert.equal(processWord('"$A b"', env), "alpha b");
  assert.equal(processWord('"\\$A \\" \\\\ \\n"', env), '$A " \\ \\n');
  assert.equal(processWord("\\$A", env), "$A");
  assert.equal(processWord("a\\ b", env), "a b");
  assert.equal(processWord("$", env), "$");
  assert.equal(processWord("$-x", env), "x");
  assert.throws(() => processWord('"abc', env), /double-quote/);
  assert.throws(() => processWord("'abc", env), /single-quote/);
});

test("the backtick escape directive", () => {
  assert.equal(processWord("`$A", env, "`"), "$A");
  assert.equal(processWord("C:\\dir\\$A", env, "`"), "C:\\dir\\alpha");
});

test("processWords splits on unquoted whitespace after expansion of quoted parts", () => {
  assert.deepEqual(processWords('80/tcp "$A b"  c\\ d', env), ["80/tcp", "alpha b", "c d"]);
  assert.deepEqual(processWords('"" x', env), ["", "x"]);
});
