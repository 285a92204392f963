import { test } from "node:test";
import assert from "node:assert/strict";
import { BuildArgs } from "./build-args.js";
import { cacheKey } from "./cache.js";
import { DEFAULT_PATH, applyMeta, commentCmd, resolveWorkdir, type StageState } from "./dispatch.js";
import { parseStages, type Instruction } from "./instructions.js";
import { planRun } from "./steps.js";

function state(args: Record<string, string | null> = {}): StageState {
  return { imageId: "sha256:" + "a".repeat(64), config: { Env: [DEFAULT_PATH] }, author: undefined, escape: "\\", args: new BuildArgs(args), cmdSet: false };
}
const ins = (line: string): Instruction => parseStages(`FROM x\n${line}`).stages[0]!.commands[0]!;
const history = (s: StageState, line: string) => {
  const r = applyMeta(s, ins(line));
  return { line: commentCmd(s.config, r.comment, r.oneWord).join(" "), config: r.config };
};

test("history lines are dockerd 20.10's (captured from its classic builder)", () => {
  const s = state();
  assert.equal(history(s, "ENV GREETING=hi A=b").line, "/bin/sh -c #(nop)  ENV GREETING=hi A=b");
  assert.equal(history(s, "WORKDIR /app").line, "/bin/sh -c #(nop) WORKDIR /app");
  assert.equal(history(s, "USER nobody").line, "/bin/sh -c #(nop)  USER nobody");
  assert.equal(history(s, "HEALTHCHECK --interval=5s CMD true").line, `/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "0s" "0s" '\\x00'}`);
  assert.equal(history(s, 'CMD ["cat", "/app/out.txt"]').line, '/bin/sh -c #(nop)  CMD ["cat" "/app/out.txt"]');
  assert.equal(history(s, "CMD echo hi").line, '/bin/sh -c #(nop)  CMD ["/bin/sh" "-c" "echo hi"]');
  assert.equal(history(s, "EXPOSE 80 53/udp").line, "/bin/sh -c #(nop)  EXPOSE 80 53/udp");
  assert.equal(history(s, 'VOLUME ["/data", "/b"]').line, "/bin/sh -c #(nop)  VOLUME [/data /b]");
  assert.equal(history(s, 'SHELL ["/bin/bash", "-c"]').line, "/bin/sh -c #(nop)  SHELL [/bin/bash -c]");
});

test("config effects: ENV expands against the env before the instruction, WORKDIR joins, ENTRYPOINT resets CMD", () => {
  const s = state();
  s.config.Env = [DEFAULT_PATH, "A=old"];
  const env = history(s, 'ENV A=new B=$A C="x y"').config;
  assert.deepEqual(env.Env, [DEFAULT_PATH, "A=new", "B=old", "C=x y"]);
  s.config.WorkingDir = "/app";
  assert.equal(history(s, "WORKDIR sub/../lib").config.WorkingDir, "/app/lib");
  assert.equal(resolveWorkdir("", "rel"), "/rel");
  s.config.Cmd = ["inherited"];
  assert.equal(history(s, 'ENTRYPOINT ["/e"]').config.Cmd, null);
  s.cmdSet = true;
  assert.deepEqual(history(s, 'ENTRYPOINT ["/e"]').config.Cmd, ["inherited"]);
  assert.deepEqual(history(s, "EXPOSE 8000-8001/udp 80").config.ExposedPorts, { "8000/udp": {}, "8001/udp": {}, "80/tcp": {} });
  assert.deepEqual(history(s, 'LABEL "a b"=c d=$A').config.Labels, { "a b": "c", d: "old" });
  assert.throws(() => history(s, "EXPOSE 80/xyz"), /Invalid proto/);
});

test("SHELL changes the shell of later shell forms and of the #(nop) lines", () => {
  const s = state();
  s.config.Shell = ["/bin/bash", "-c"];
  assert.equal(history(s, "USER x").line, "/bin/bash -c #(nop)  USER x");
  assert.deepEqual(history(s, "CMD run").config.Cmd, ["/bin/bash", "-c", "run"]);
});

test("build args: declared ones reach RUN and its history as |N k=v, proxies only when declared", () => {
  const s = state({ MSG: "howdy", HTTP_PROXY: "http://p", UNUSED: "1" });
  s.args.addArg("MSG", "hello");
  const run = planRun(s, ins('RUN echo "$MSG"') as Extract<Instruction, { kind: "run" }>);
  assert.equal(run.createdBy, '|1 MSG=howdy /bin/sh -c echo "$MSG"');
  assert.deepEqual(run.env, [DEFAULT_PATH, "MSG=howdy", "HTTP_PROXY=http://p"]);
  assert.deepEqual(s.args.unused(), ["UNUSED"]);
  // ENV wins over an ARG of the same name; the undeclared proxy still makes dockerd's "|0" prefix.
  s.config.Env = [DEFAULT_PATH, "MSG=env"];
  assert.equal(planRun(s, ins("RUN true") as Extract<Instruction, { kind: "run" }>).createdBy, "|0 /bin/sh -c true");
  const plain = state({ MSG: "x" });
  assert.equal(planRun(plain, ins("RUN true") as Extract<Instruction, { kind: "run" }>).createdBy, "/bin/sh -c true");
  // A meta arg gives its value to a stage's ARG without default.
  const a = new BuildArgs({});
  a.addMetaArg("V", "meta");
  a.addArg("V", undefined);
  assert.deepEqual(a.filterAllowed([]), ["V=meta"]);
  a.resetStage();
  assert.deepEqual(a.filterAllowed([]), []);
});

test("cache keys: parent and every compared field count; empty equals absent", () => {
  const p = "sha256:" + "1".repeat(64);
  const base = { Env: ["A=1"], Cmd: ["/bin/sh", "-c", "#(nop) ", "ENV A=1"] };
  const k = cacheKey(p, base);
  assert.equal(cacheKey(p, { ...base, Labels: {}, Volumes: null, User: "" }), k);
  assert.equal(cacheKey(p, { Cmd: base.Cmd, Env: ["A=1"] }), k, "key order does not matter");
  assert.notEqual(cacheKey("sha256:" + "2".repeat(64), base), k);
  assert.notEqual(cacheKey(p, { ...base, Env: ["A=2"] }), k);
  assert.notEqual(cacheKey(p, { ...base, Cmd: ["/bin/sh", "-c", "#(nop) COPY file:aa in / "] }), k);
  assert.notEqual(cacheKey(undefined, base), k);
});
