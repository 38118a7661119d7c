/**
 * The DNS message codec (RFC 1035 §4): header, questions and resource records, with name compression.
 * Decoding never throws and never loops without bound: every problem in the bytes is a typed
 * `DnsParseError` in the `Result` (truncated data, counts larger than the data, reserved label types,
 * labels over 63 octets, names over 255 octets, pointers that go forward or revisit, bad RDATA lengths).
 * A, AAAA and CNAME RDATA are decoded; every other type is kept as opaque bytes. The encoder (what
 * the proxy and the tests need) is in wire-encode.ts.
 *
 * Names are text without the trailing dot (the root is `.`), case as on the wire; a label byte that is not
 * a letter, digit, `-` or `_` is written `\DDD` (and `.`/`\` as `\.`/`\\`), as dig prints them, so two
 * different wire names never give the same text.
 */
import { type Result, err, ok } from '../lib/result.js';
import { formatIp } from '../lib/net/ip.js';

export const DNS_HEADER_BYTES = 12;
/** RFC 1035 §2.3.4: a name is at most 255 octets on the wire, a label at most 63. */
export const DNS_NAME_MAX = 255;
export const DNS_LABEL_MAX = 63;

export const RR_TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
} as const;
export const RR_CLASS_IN = 1;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export type DnsParseErrorKind =
  | 'truncated'
  | 'countExceedsData'
  | 'labelTooLong'
  | 'nameTooLong'
  | 'forwardPointer'
  | 'pointerLoop'
  | 'badRdata';

export interface DnsParseError {
  readonly kind: DnsParseErrorKind;
  /** Byte offset where the problem was found. */
  readonly offset: number;
  readonly message: string;
}

export interface DnsHeader {
  readonly id: number;
  /** true: a response. */
  readonly qr: boolean;
  readonly opcode: number;
  readonly aa: boolean;
  /** Truncated (TC): the answer did not fit (UDP); the client retries over TCP. */
  readonly tc: boolean;
  readonly rd: boolean;
  readonly ra: boolean;
  readonly rcode: number;
  readonly qdcount: number;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
}

export interface DnsQuestion {
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export type DnsRdata =
  | { readonly kind: 'A'; readonly address: string }
  | { readonly kind: 'AAAA'; readonly address: string }
  | { readonly kind: 'CNAME'; readonly target: string }
  | { readonly kind: 'opaque'; readonly bytes: Uint8Array };

export interface DnsRecord {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  /** Seconds (RFC 2181 §8: a value with the top bit set is read as 0). */
  readonly ttl: number;
  readonly data: DnsRdata;
}

export interface DnsMessage {
  readonly header: DnsHeader;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
}

type Parsed<T> = Result<{ readonly value: T; readonly next: number }, DnsParseError>;

function fail(kind: DnsParseErrorKind, offset: number, message: string): { ok: false; error: DnsParseError } {
  return err({ kind, offset, message });
}

/** The 12-byte header alone (the proxy reads ids and flags before, or without, a full parse). */
export function parseHeader(buf: Uint8Array): Result<DnsHeader, DnsParseError> {
  if (buf.length < DNS_HEADER_BYTES)
    return fail('truncated', 0, `message of ${buf.length} bytes is shorter than a DNS header`);
  const u16 = (i: number): number => (buf[i]! << 8) | buf[i + 1]!;
  const flags = u16(2);
  return ok({
    id: u16(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    qdcount: u16(4),
    ancount: u16(6),
    nscount: u16(8),
    arcount: u16(10),
  });
}

function labelText(buf: Uint8Array, start: number, len: number): string {
  let s = '';
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    const plain =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      c === 0x2d ||
      c === 0x5f;
    if (plain) s += String.fromCharCode(c);
    else if (c === 0x2e || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else s += `\\${c.toString().padStart(3, '0')}`;
  }
  return s;
}

/**
 * A (possibly compressed) name at `offset`; `next` is the offset after its inline part. Every pointer must
 * point before itself and before every earlier pointer target of this name, so the walk ends.
 */
export function parseName(buf: Uint8Array, offset: number): Parsed<string> {
  const labels: string[] = [];
  let pos = offset;
  let next: number | undefined;
  let wireLen = 0;
  let lowestTarget = offset;
  for (;;) {
    if (pos >= buf.length) return fail('truncated', pos, 'name runs past the end of the message');
    const len = buf[pos]!;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return fail('truncated', pos, 'compression pointer cut short');
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target > pos) return fail('forwardPointer', pos, `compression pointer to ${target} points forward`);
      if (target >= lowestTarget)
        return fail('pointerLoop', pos, `compression pointer to ${target} revisits the name`);
      next ??= pos + 2;
      lowestTarget = target;
      pos = target;
      continue;
    }
    if (len > DNS_LABEL_MAX)
      return fail(
        'labelTooLong',
        pos,
        `label length byte 0x${len.toString(16)} (over 63 or a reserved type)`,
      );
    wireLen += len + 1;
    if (wireLen > DNS_NAME_MAX) return fail('nameTooLong', pos, `name longer than ${DNS_NAME_MAX} octets`);
    if (len === 0) {
      next ??= pos + 1;
      return ok({ value: labels.length === 0 ? '.' : labels.join('.'), next });
    }
    if (pos + 1 + len > buf.length) return fail('truncated', pos, 'label runs past the end of the message');
    labels.push(labelText(buf, pos + 1, len));
    pos += 1 + len;
  }
}

function u16(buf: Uint8Array, i: number): number {
  return (buf[i]! << 8) | buf[i + 1]!;
}

function parseQuestion(buf: Uint8Array, offset: number): Parsed<DnsQuestion> {
  const name = parseName(buf, offset);
  if (!name.ok) return name;
  const p = name.value.next;
  if (p + 4 > buf.length) return fail('truncated', p, 'question type/class cut short');
  return ok({ value: { name: name.value.value, type: u16(buf, p), class: u16(buf, p + 2) }, next: p + 4 });
}

function parseRdata(
  buf: Uint8Array,
  type: number,
  start: number,
  len: number,
): Result<DnsRdata, DnsParseError> {
  if (type === RR_TYPE.A || type === RR_TYPE.AAAA) {
    const want = type === RR_TYPE.A ? 4 : 16;
    if (len !== want)
      return fail('badRdata', start, `${type === RR_TYPE.A ? 'A' : 'AAAA'} RDATA of ${len} bytes`);
    let v = 0n;
    for (let i = 0; i < want; i++) v = (v << 8n) | BigInt(buf[start + i]!);
    const address = formatIp(type === RR_TYPE.A ? 4 : 6, v);
    return ok(type === RR_TYPE.A ? { kind: 'A', address } : { kind: 'AAAA', address });
  }
  if (type === RR_TYPE.CNAME) {
    // The target's inline part must lie inside the RDATA (pointers may reach back before it).
    const target = parseName(buf.subarray(0, start + len), start);
    if (!target.ok) return target;
    if (target.value.next !== start + len) return fail('badRdata', start, 'CNAME RDATA longer than its name');
    return ok({ kind: 'CNAME', target: target.value.value });
  }
  return ok({ kind: 'opaque', bytes: buf.slice(start, start + len) });
}

function parseRecord(buf: Uint8Array, offset: number): Parsed<DnsRecord> {
  const name = parseName(buf, offset);
  if (!name.ok) return name;
  const p = name.value.next;
  if (p + 10 > buf.length) return fail('truncated', p, 'resource record header cut short');
  const type = u16(buf, p);
  const rawTtl = ((buf[p + 4]! << 24) >>> 0) + (buf[p + 5]! << 16) + (buf[p + 6]! << 8) + buf[p + 7]!;
  const rdlen = u16(buf, p + 8);
  const start = p + 10;
  if (start + rdlen > buf.length)
    return fail('truncated', start, `RDATA of ${rdlen} bytes runs past the end`);
  const data = parseRdata(buf, type, start, rdlen);
  if (!data.ok) return data;
  const ttl = rawTtl > 0x7fffffff ? 0 : rawTtl;
  return ok({
    value: { name: name.value.value, type, class: u16(buf, p + 2), ttl, data: data.value },
    next: start + rdlen,
  });
}

/** Smallest encodings: a question is at least 5 bytes, a record at least 11 (root name, empty RDATA). */
const MIN_QUESTION = 5;
const MIN_RECORD = 11;

/** A whole message; bytes after the last record are ignored (as most resolvers do). */
export function parseMessage(buf: Uint8Array): Result<DnsMessage, DnsParseError> {
  const h = parseHeader(buf);
  if (!h.ok) return h;
  const header = h.value;
  const records = header.ancount + header.nscount + header.arcount;
  const room = buf.length - DNS_HEADER_BYTES;
  if (header.qdcount * MIN_QUESTION + records * MIN_RECORD > room)
    return fail(
      'countExceedsData',
      4,
      `counts (${header.qdcount} questions, ${records} records) need more than the ${room} bytes after the header`,
    );
  let pos = DNS_HEADER_BYTES;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < header.qdcount; i++) {
    const q = parseQuestion(buf, pos);
    if (!q.ok) return q;
    questions.push(q.value.value);
    pos = q.value.next;
  }
  const sections: DnsRecord[][] = [[], [], []];
  const counts = [header.ancount, header.nscount, header.arcount];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const r = parseRecord(buf, pos);
      if (!r.ok) return r;
      sections[s]!.push(r.value.value);
      pos = r.value.next;
    }
  }
  return ok({
    header,
    questions,
    answers: sections[0]!,
    authorities: sections[1]!,
    additionals: sections[2]!,
  });
}

/**
 * The header and question section only: enough to tell that bytes are a DNS message answering a given
 * question, when the records after them do not parse.
 */
export function parseMessageHead(
  buf: Uint8Array,
): Result<{ readonly header: DnsHeader; readonly questions: readonly DnsQuestion[] }, DnsParseError> {
  const h = parseHeader(buf);
  if (!h.ok) return h;
  if (h.value.qdcount * MIN_QUESTION > buf.length - DNS_HEADER_BYTES)
    return fail('countExceedsData', 4, `${h.value.qdcount} questions need more bytes than the message has`);
  let pos = DNS_HEADER_BYTES;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < h.value.qdcount; i++) {
    const q = parseQuestion(buf, pos);
    if (!q.ok) return q;
    questions.push(q.value.value);
    pos = q.value.next;
  }
  return ok({ header: h.value, questions });
}

/** Same questions (names compared case-insensitively, RFC 4343). */
export function sameQuestions(a: readonly DnsQuestion[], b: readonly DnsQuestion[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (q, i) =>
        q.type === b[i]!.type && q.class === b[i]!.class && q.name.toLowerCase() === b[i]!.name.toLowerCase(),
    )
  );
}

export function describeParseError(e: DnsParseError): string {
  return `malformed DNS message (${e.kind} at byte ${e.offset}): ${e.message}`;
}

export function rrTypeName(type: number): string {
  for (const [name, v] of Object.entries(RR_TYPE)) if (v === type) return name;
  return `TYPE${type}`;
}

export function rcodeName(rcode: number): string {
  for (const [name, v] of Object.entries(RCODE)) if (v === rcode) return name;
  return `RCODE${rcode}`;
}
