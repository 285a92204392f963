import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ANSWER_TTL, buildAnswer, buildError, buildQuery, parseAnswer, parseQuery, RCODE_NXDOMAIN, TYPE_A, TYPE_AAAA } from "./dns-codec.js";

// busybox nslookup's query for "bar": id 0x4d2f, RD, one question, bar A IN.
const BUSYBOX_BAR = Buffer.from("4d2f01000001000000000000" + "03626172" + "00" + "0001" + "0001", "hex");
// dig's query for "Example.COM" (dig keeps the case): RD+AD, EDNS0 OPT with a client cookie in the additional section.
const DIG_EXAMPLE = Buffer.from(
  "1a2b01200001000000000001" + "074578616d706c6503434f4d00" + "00010001" + "0000290" + "4d0000000000c000a0008" + "0123456789abcdef",
  "hex",
);

describe("dns codec", () => {
  test("parses busybox's query", () => {
    const q = parseQuery(BUSYBOX_BAR)!;
    assert.equal(q.id, 0x4d2f);
    assert.equal(q.name, "bar");
    assert.equal(q.type, TYPE_A);
    assert.equal(q.class, 1);
    assert.deepEqual(q.question, BUSYBOX_BAR.subarray(12));
  });

  test("parses dig's query with an EDNS record, lower-casing the name", () => {
    const q = parseQuery(DIG_EXAMPLE)!;
    assert.equal(q.id, 0x1a2b);
    assert.equal(q.name, "example.com");
    assert.equal(q.question.length, 13 + 4);
  });

  test("refuses answers, other opcodes, several questions and truncated names", () => {
    const answerMsg = Buffer.from(BUSYBOX_BAR);
    answerMsg.writeUInt16BE(0x8180, 2);
    assert.equal(parseQuery(answerMsg), undefined);
    const notify = Buffer.from(BUSYBOX_BAR);
    notify.writeUInt16BE(0x2000, 2);
    assert.equal(parseQuery(notify), undefined);
    const two = Buffer.from(BUSYBOX_BAR);
    two.writeUInt16BE(2, 4);
    assert.equal(parseQuery(two), undefined);
    assert.equal(parseQuery(BUSYBOX_BAR.subarray(0, 15)), undefined);
    assert.equal(parseQuery(Buffer.alloc(5)), undefined);
  });

  test("an A answer: its bytes (AA, RA, RD echoed, a pointer to the question, TTL 600)", () => {
    const out = buildAnswer(parseQuery(BUSYBOX_BAR)!, ["172.18.0.3"]);
    const expected = "4d2f85800001000100000000" + "0362617200" + "00010001" + "c00c" + "0001" + "0001" + "00000258" + "0004" + "ac120003";
    assert.equal(out.toString("hex"), expected);
    assert.equal(ANSWER_TTL, 600);
    assert.deepEqual(parseAnswer(out), { id: 0x4d2f, rcode: 0, ips: ["172.18.0.3"], ttls: [600] });
  });

  test("an empty answer (AAAA of a known name) and NXDOMAIN keep the question", () => {
    const aaaa = parseQuery(buildQuery(7, "bar", TYPE_AAAA))!;
    const empty = buildAnswer(aaaa, []);
    assert.deepEqual(parseAnswer(empty), { id: 7, rcode: 0, ips: [], ttls: [] });
    assert.deepEqual(empty.subarray(12), aaaa.question);
    const nx = buildError(parseQuery(BUSYBOX_BAR)!, RCODE_NXDOMAIN);
    assert.equal(nx.readUInt16BE(2) & 0xf, RCODE_NXDOMAIN);
    assert.equal(nx.readUInt16BE(4), 1);
    assert.equal(nx.readUInt16BE(6), 0);
  });

  test("buildQuery makes what busybox sends", () => {
    assert.deepEqual(buildQuery(0x4d2f, "bar."), BUSYBOX_BAR);
  });
});
