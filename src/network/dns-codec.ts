/**
 * The few DNS messages (RFC 1035) the embedded resolver needs: read a query's header and first
 * question, and build the answer to it (A records, or an error code with no records). Everything
 * else is forwarded to the upstream resolvers byte for byte, so no other record type is decoded.
 */

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const CLASS_IN = 1;
export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
/** dockerd's embedded DNS answers its own names with a TTL of 600 s (libnetwork's respTTL). */
export const ANSWER_TTL = 600;

export interface DnsQuery {
  id: number;
  /** The header's flags word (opcode, RD...). */
  flags: number;
  /** Lower-cased, without the trailing dot. */
  name: string;
  type: number;
  class: number;
  /** The question section's bytes, echoed in the answer. */
  question: Buffer;
}

/** The query of a message, or undefined when it is not a standard query with one question. */
export function parseQuery(msg: Buffer): DnsQuery | undefined {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  const qr = flags >> 15;
  const opcode = (flags >> 11) & 0xf;
  if (qr !== 0 || opcode !== 0 || msg.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let off = 12;
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off]!;
    // Compression pointers cannot occur in the first name of a message; anything but a plain label is malformed.
    if (len & 0xc0) return undefined;
    off++;
    if (len === 0) break;
    if (off + len > msg.length) return undefined;
    labels.push(msg.toString("latin1", off, off + len));
    off += len;
  }
  if (off + 4 > msg.length) return undefined;
  const type = msg.readUInt16BE(off);
  const cls = msg.readUInt16BE(off + 2);
  return { id: msg.readUInt16BE(0), flags, name: labels.join(".").toLowerCase(), type, class: cls, question: msg.subarray(12, off + 4) };
}

/** The id of any message with a header (for an error answer to a query berth cannot parse). */
export function messageId(msg: Buffer): number | undefined {
  return msg.length >= 2 ? msg.readUInt16BE(0) : undefined;
}

function header(id: number, queryFlags: number, rcode: number, qd: number, an: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  // QR=1, the query's opcode and RD, AA=1 for names berth owns, RA=1 (berth recurses through upstream).
  const flags = 0x8000 | (queryFlags & 0x7800) | 0x0400 | (queryFlags & 0x0100) | 0x0080 | (rcode & 0xf);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  return h;
}

/** An answer with these IPv4 addresses (none: an empty NOERROR answer, as for AAAA of a known name). */
export function buildAnswer(q: DnsQuery, ips: readonly string[], ttl = ANSWER_TTL): Buffer {
  const records = ips.map((ip) => {
    const r = Buffer.alloc(16);
    r.writeUInt16BE(0xc00c, 0); // a pointer to the question's name
    r.writeUInt16BE(TYPE_A, 2);
    r.writeUInt16BE(CLASS_IN, 4);
    r.writeUInt32BE(ttl, 6);
    r.writeUInt16BE(4, 10);
    ip.split(".").forEach((o, i) => r.writeUInt8(Number(o), 12 + i));
    return r;
  });
  return Buffer.concat([header(q.id, q.flags, RCODE_NOERROR, 1, records.length), q.question, ...records]);
}

/** An answer with no records and this code (NXDOMAIN, SERVFAIL, FORMERR). */
export function buildError(q: DnsQuery | { id: number; flags?: number }, rcode: number): Buffer {
  const question = "question" in q ? q.question : undefined;
  return Buffer.concat([header(q.id, q.flags ?? 0, rcode, question ? 1 : 0, 0), ...(question ? [question] : [])]);
}

/** A query message (for tests and the forwarder's health; RD set). */
export function buildQuery(id: number, name: string, type = TYPE_A): Buffer {
  const parts = name.replace(/\.$/, "").split(".").filter((l) => l !== "");
  const q = Buffer.concat([...parts.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "latin1")])), Buffer.from([0])]);
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2);
  h.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([h, q, tail]);
}

/** The rcode and A addresses of an answer (tests, and nothing else: answers are forwarded as bytes). */
export function parseAnswer(msg: Buffer): { id: number; rcode: number; ips: string[]; ttls: number[] } {
  const id = msg.readUInt16BE(0);
  const rcode = msg.readUInt16BE(2) & 0xf;
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let off = 12;
  const skipName = () => {
    for (;;) {
      const len = msg[off]!;
      if ((len & 0xc0) === 0xc0) return void (off += 2);
      off += 1 + len;
      if (len === 0) return;
    }
  };
  for (let i = 0; i < qd; i++) {
    skipName();
    off += 4;
  }
  const ips: string[] = [];
  const ttls: number[] = [];
  for (let i = 0; i < an; i++) {
    skipName();
    const type = msg.readUInt16BE(off);
    const ttl = msg.readUInt32BE(off + 4);
    const len = msg.readUInt16BE(off + 8);
    off += 10;
    if (type === TYPE_A && len === 4) {
      ips.push([...msg.subarray(off, off + 4)].join("."));
      ttls.push(ttl);
    }
    off += len;
  }
  return { id, rcode, ips, ttls };
}
