/**
 * The lab's DNS client messages (pure, RFC 1035): a query for one name and type, and the reading of its
 * answer (rcode, A/AAAA/CNAME records with TTLs; other types are skipped). Just what a pod's lookup needs
 * (probe-agent.ts resolves names from inside the pod with it); the agent's DNS path has its own codec.
 * Reading is bounded: every offset is checked against the message, compression pointers may only point
 * backwards (so they cannot loop), labels are at most 63 bytes and names at most 255; anything else is a
 * typed failure, never an exception.
 */
import { err, ok, type Result } from '../lib/result.js';

export type DnsQueryType = 'A' | 'AAAA';

const QTYPE: Readonly<Record<DnsQueryType | 'CNAME', number>> = { A: 1, AAAA: 28, CNAME: 5 };
const CLASS_IN = 1;
const HEADER = 12;
const MAX_NAME = 255;

export const RCODES: readonly string[] = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

export interface DnsRecord {
  readonly name: string;
  readonly type: 'A' | 'AAAA' | 'CNAME';
  readonly ttl: number;
  /** The address (A, AAAA) or the target name (CNAME). */
  readonly data: string;
}

export interface DnsAnswer {
  readonly id: number;
  /** `NOERROR`, `NXDOMAIN`, ... (`RCODE<n>` for codes without a name here). */
  readonly rcode: string;
  /** TC: the answer did not fit a UDP datagram. */
  readonly truncated: boolean;
  readonly records: readonly DnsRecord[];
}

/** The canonical form of a name: lower case, no trailing dot. */
export function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** A name a query can carry: labels of 1..63 letters, digits, `-` or `_`, 255 bytes at most. */
export function isQueryName(name: string): boolean {
  const n = canonicalName(name);
  return (
    n.length > 0 &&
    n.length < MAX_NAME - 1 &&
    n.split('.').every((l) => /^[A-Za-z0-9_-]{1,63}$/.test(l)) &&
    !/^[0-9.]+$/.test(n)
  );
}

/** A standard query (RD set) for `name`; throws on a name `isQueryName` rejects. */
export function encodeQuery(id: number, name: string, type: DnsQueryType): Buffer {
  if (!isQueryName(name)) throw new Error(`not a DNS name: "${name}"`);
  const labels = canonicalName(name).split('.');
  const q = Buffer.alloc(HEADER + labels.reduce((n, l) => n + 1 + l.length, 1) + 4);
  q.writeUInt16BE(id & 0xffff, 0);
  q.writeUInt16BE(0x0100, 2); // RD
  q.writeUInt16BE(1, 4); // QDCOUNT
  let at = HEADER;
  for (const l of labels) {
    q.writeUInt8(l.length, at++);
    at += q.write(l, at, 'ascii');
  }
  q.writeUInt8(0, at++);
  q.writeUInt16BE(QTYPE[type], at);
  q.writeUInt16BE(CLASS_IN, at + 2);
  return q;
}

/** Reads a possibly compressed name at `at`; `next` is the offset after it where it started. */
function readName(m: Buffer, start: number): Result<{ name: string; next: number }, string> {
  const labels: string[] = [];
  let at = start;
  let next: number | undefined;
  let length = 0;
  for (;;) {
    if (at >= m.length) return err(`name at ${start} runs past the message`);
    const len = m[at]!;
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= m.length) return err(`pointer at ${at} runs past the message`);
      const to = ((len & 0x3f) << 8) | m[at + 1]!;
      // Only backwards, to the start of an earlier name: a loop is impossible.
      if (to >= at) return err(`pointer at ${at} does not point backwards`);
      next ??= at + 2;
      at = to;
      continue;
    }
    if ((len & 0xc0) !== 0) return err(`bad label type at ${at}`);
    if (len === 0) return ok({ name: labels.join('.'), next: next ?? at + 1 });
    if (at + 1 + len > m.length) return err(`label at ${at} runs past the message`);
    length += len + 1;
    if (length > MAX_NAME) return err(`name at ${start} is longer than ${MAX_NAME} bytes`);
    labels.push(m.toString('latin1', at + 1, at + 1 + len).toLowerCase());
    at += 1 + len;
  }
}

function ipv6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // The longest run of zero groups (2 or more) becomes `::`.
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

/** Parses an answer to `encodeQuery`'s query; a failure says what is wrong with the message. */
export function parseAnswer(m: Buffer): Result<DnsAnswer, string> {
  if (m.length < HEADER) return err(`${m.length} bytes is shorter than a DNS header`);
  const flags = m.readUInt16BE(2);
  if ((flags & 0x8000) === 0) return err('not a response (QR is 0)');
  const qd = m.readUInt16BE(4);
  const an = m.readUInt16BE(6);
  let at = HEADER;
  for (let i = 0; i < qd; i++) {
    const q = readName(m, at);
    if (!q.ok) return q;
    at = q.value.next + 4;
    if (at > m.length) return err('question runs past the message');
  }
  const records: DnsRecord[] = [];
  for (let i = 0; i < an; i++) {
    const n = readName(m, at);
    if (!n.ok) return n;
    at = n.value.next;
    if (at + 10 > m.length) return err(`answer ${i} runs past the message`);
    const type = m.readUInt16BE(at);
    const cls = m.readUInt16BE(at + 2);
    const ttl = m.readUInt32BE(at + 4);
    const rdlen = m.readUInt16BE(at + 8);
    const rdata = at + 10;
    at = rdata + rdlen;
    if (at > m.length) return err(`answer ${i}'s data runs past the message`);
    if (cls !== CLASS_IN) continue;
    const name = n.value.name;
    if (type === QTYPE.A && rdlen === 4)
      records.push({ name, type: 'A', ttl, data: [...m.subarray(rdata, at)].join('.') });
    else if (type === QTYPE.AAAA && rdlen === 16)
      records.push({ name, type: 'AAAA', ttl, data: ipv6Text(m.subarray(rdata, at)) });
    else if (type === QTYPE.CNAME) {
      const t = readName(m, rdata);
      if (!t.ok) return t;
      records.push({ name, type: 'CNAME', ttl, data: t.value.name });
    }
  }
  const code = flags & 0xf;
  return ok({
    id: m.readUInt16BE(0),
    rcode: RCODES[code] ?? `RCODE${code}`,
    truncated: (flags & 0x0200) !== 0,
    records,
  });
}

/** The addresses `name` resolves to in an answer, following its CNAME chain (bounded by the records). */
export function addressesOf(answer: DnsAnswer, name: string, type: DnsQueryType): string[] {
  let current = canonicalName(name);
  for (let hops = 0; hops <= answer.records.length; hops++) {
    const direct = answer.records.filter((r) => r.name === current && r.type === type).map((r) => r.data);
    if (direct.length > 0) return direct;
    const alias = answer.records.find((r) => r.name === current && r.type === 'CNAME');
    if (alias === undefined) return [];
    current = alias.data;
  }
  return [];
}
