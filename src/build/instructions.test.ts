import { test } from "node:test";
import assert from "node:assert/strict";
import { parseStages } from "./instructions.js";

const DF = `ARG BASE=busybox
ARG V
FROM \${BASE} AS Gen
ARG MSG=hello
RUN echo "$MSG" > /out
FROM --platform=linux/amd64 busybox
COPY --from=gen --chown=1:1 /out /a* ./dst/
ADD ["x y", "/z"]
ENV A=1 B="two words"
ENV OLD form value
LABEL l=1
WORKDIR /app
USER nobody
EXPOSE 80 443/udp
VOLUME ["/data"]
STOPSIGNAL SIGINT
SHELL ["/bin/sh", "-ec"]
HEALTHCHECK --interval=5s --retries=3 CMD ["true"]
ONBUILD RUN echo child
MAINTAINER me
ENTRYPOINT ["/bin/sh"]
CMD echo hi
`;

test("stages, meta args and every instruction kind", () => {
  const df = parseStages(DF);
  assert.deepEqual(df.metaArgs, [{ name: "BASE", value: "busybox" }, { name: "V", value: undefined }]);
  assert.equal(df.stages.length, 2);
  assert.equal(df.stages[0]!.name, "gen");
  assert.equal(df.stages[0]!.base, "${BASE}");
  assert.equal(df.stages[1]!.platform, "linux/amd64");
  const kinds = df.stages[1]!.commands.map((c) => c.kind);
  assert.deepEqual(kinds, ["copy", "add", "env", "env", "label", "workdir", "user", "expose", "volume", "stopsignal", "shell", "healthcheck", "onbuild", "maintainer", "entrypoint", "cmd"]);
  const [copy, add, env, old] = df.stages[1]!.commands;
  assert.deepEqual(copy, { original: "COPY --from=gen --chown=1:1 /out /a* ./dst/", line: 7, kind: "copy", sources: ["/out", "/a*"], dest: "./dst/", from: "gen", chown: "1:1" });
  assert.deepEqual(add && "sources" in add ? add.sources : undefined, ["x y"]);
  assert.deepEqual(env && "pairs" in env ? env.pairs : undefined, [["A", "1"], ["B", '"two words"']]);
  assert.deepEqual(old && "pairs" in old ? old.pairs : undefined, [["OLD", "form value"]]);
  const hc = df.stages[1]!.commands[11]!;
  assert.ok(hc.kind === "healthcheck");
  assert.deepEqual(hc.healthcheck, { test: ["CMD", "true"], intervalNs: 5e9, timeoutNs: 0, startPeriodNs: 0, retries: 3 });
  const cmd = df.stages[1]!.commands.at(-1)!;
  assert.ok(cmd.kind === "cmd");
  assert.deepEqual(cmd.form, { json: false, line: "echo hi" });
});

test("HEALTHCHECK NONE and shell form", () => {
  const df = parseStages("FROM x\nHEALTHCHECK NONE\nHEALTHCHECK CMD curl -f http://x || exit 1");
  const [none, shell] = df.stages[0]!.commands;
  assert.ok(none?.kind === "healthcheck" && shell?.kind === "healthcheck");
  assert.deepEqual(none.healthcheck.test, ["NONE"]);
  assert.deepEqual(shell.healthcheck.test, ["CMD-SHELL", "curl -f http://x || exit 1"]);
});

test("errors name the line and match dockerd's wording", () => {
  const bad: [string, RegExp][] = [
    ["FROM x\nFOO bar", /dockerfile parse error line 2: unknown instruction: FOO$/],
    ["FROM x\nCOPY onlyone", /line 2: COPY requires at least two arguments/],
    ["FROM x\nCOPY --chmod=644 a b", /--chmod option requires BuildKit/],
    ["FROM x\nADD --from=y a b", /Unknown flag: from/],
    ["FROM x\nRUN --mount=type=cache,target=/x true", /--mount option requires BuildKit/],
    ["FROM x\nHEALTHCHECK --interval=1ns CMD true", /cannot be less than 1ms/],
    ["FROM x\nHEALTHCHECK FOO", /Unknown type "FOO" in HEALTHCHECK/],
    ["FROM x\nSHELL /bin/sh -c", /SHELL requires the arguments to be in JSON form/],
    ["FROM x\nONBUILD FROM y", /FROM isn't allowed as an ONBUILD trigger/],
    ["FROM x\nONBUILD ONBUILD RUN y", /Chaining ONBUILD/],
    ["FROM x y", /FROM requires either one or three arguments/],
    ["FROM x AS 1st", /invalid name for build stage/],
    ["FROM x AS a\nFROM y AS a", /duplicate name a/],
    ["RUN x", /line 1: RUN cannot be used before the first FROM/],
    ["FROM x\nRUN <<EOF\necho\nEOF", /heredocs/],
    ["FROM x\nCOPY <<EOF /x", /heredocs/],
    ["# comment only\n", /cannot be empty/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseStages(text), re, text);
});

test("instruction keywords are case-insensitive and the original text is kept", () => {
  const df = parseStages("from busybox as B\nrun echo hi");
  assert.equal(df.stages[0]!.name, "b");
  assert.equal(df.stages[0]!.commands[0]!.original, "run echo hi");
});
