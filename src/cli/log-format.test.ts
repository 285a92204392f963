import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import pino from "pino";
import { formatTextLine, textDestination } from "./log-format.js";

test("a pino line as logfmt: time, level, msg, then the fields", () => {
  const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5), pid: 1, msg: "listening on TCP", host: "0.0.0.0", port: 2375, nested: { a: "b c" } });
  assert.equal(formatTextLine(line), 'time="2026-01-02T03:04:05.000Z" level=warning msg="listening on TCP" host=0.0.0.0 port=2375 nested="{\\"a\\":\\"b c\\"}"');
  assert.equal(formatTextLine("not json"), "not json");
});

test("a pino logger through the text destination writes whole text lines", async () => {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c: Buffer) => (text += c.toString()));
  const logger = pino({ level: "info" }, textDestination(out) as pino.DestinationStream);
  logger.info({ sockets: ["/run/b.sock"] }, "berthd ready");
  logger.error({ err: new Error("boom") }, "failed");
  await new Promise((r) => setImmediate(r));
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^time="[^"]+" level=info msg="berthd ready" sockets="\[\\"\/run\/b.sock\\"\]"$/);
  assert.match(lines[1]!, /level=error msg="failed" error=boom$/);
});
