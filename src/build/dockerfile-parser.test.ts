import { test } from "node:test";
import assert from "node:assert/strict";
import { extractFlags, parseDockerfile, parseMaybeJson, parseNameValues, splitWords } from "./dockerfile-parser.js";

test("continuations join lines, comments inside them are dropped, lines are numbered", () => {
  const df = parseDockerfile([
    "# a comment",
    "FROM busybox",
    "",
    "RUN echo a && \\",
    "# inside",
    "    echo b  \\  ",
    "  && echo c",
    "  run lower",
  ].join("\n"));
  assert.deepEqual(df.nodes.map((n) => n.cmd), ["from", "run", "run"]);
  const run = df.nodes[1]!;
  assert.equal(run.original, "RUN echo a &&     echo b    && echo c");
  assert.equal(run.rest, "echo a &&     echo b    && echo c");
  assert.deepEqual([run.startLine, run.endLine], [4, 7]);
  assert.equal(df.nodes[2]!.original, "run lower");
});

test("parser directives: only at the top, escape changes the continuation character", () => {
  const df = parseDockerfile("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN a `\n b\\\nCOPY c d");
  assert.equal(df.escape, "`");
  assert.equal(df.directives.syntax, "docker/dockerfile:1");
  assert.equal(df.nodes[1]!.rest, "a  b\\");
  const late = parseDockerfile("FROM x\n# escape=`\nRUN a \\\n b");
  assert.equal(late.escape, "\\");
  assert.equal(late.nodes[1]!.rest, "a  b");
  // A blank line ends the directive block.
  assert.equal(parseDockerfile("\n# escape=`\nFROM x").escape, "\\");
  assert.throws(() => parseDockerfile("# escape=x\nFROM x"), /invalid ESCAPE 'x'/);
  assert.throws(() => parseDockerfile("# escape=`\n# escape=\\\nFROM x"), /only one escape parser directive/);
  // An unknown directive is just a comment and ends the block.
  assert.equal(parseDockerfile("# foo=bar\n# escape=`\nFROM x").escape, "\\");
});

test("an empty continuation line is skipped with a warning", () => {
  const df = parseDockerfile("FROM x\nRUN a \\\n\n b");
  assert.equal(df.nodes[1]!.rest, "a  b");
  assert.equal(df.warnings.length, 1);
});

test("flags: leading --name=value words, quoted values", () => {
  assert.deepEqual(extractFlags('--from=build --chown="a b" src dst', "\\"), { flags: ["--from=build", "--chown=a b"], rest: "src dst" });
  assert.deepEqual(extractFlags("src --from=x", "\\"), { flags: [], rest: "src --from=x" });
});

test("words keep quotes for the lexer; name=value pairs in both forms", () => {
  assert.deepEqual(splitWords('a="x y" b=\\" c', "\\"), ['a="x y"', 'b=\\"', "c"]);
  assert.deepEqual(parseNameValues('A="hello world" B=2', "\\", "ENV"), [["A", '"hello world"'], ["B", "2"]]);
  assert.deepEqual(parseNameValues("KEY some value here", "\\", "ENV"), [["KEY", "some value here"]]);
  assert.throws(() => parseNameValues("KEY", "\\", "ENV"), /ENV must have two arguments/);
  assert.throws(() => parseNameValues("A=1 B", "\\", "ENV"), /can't find = in "B"/);
});

test("exec form only for a JSON array of strings", () => {
  assert.deepEqual(parseMaybeJson('["a", "b c"]'), { json: true, args: ["a", "b c"] });
  assert.deepEqual(parseMaybeJson('["a", 1]'), { json: false, line: '["a", 1]' });
  assert.deepEqual(parseMaybeJson("[not json"), { json: false, line: "[not json" });
  assert.deepEqual(parseMaybeJson("echo hi"), { json: false, line: "echo hi" });
});
