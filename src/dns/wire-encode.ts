/**
 * The DNS message encoder (RFC 1035 §4): what the proxy's own replies (SERVFAIL, FORMERR) and the tests
 * need (queries, answers), names compressed by default. Its input is ours, so bad input is a `BugError`.
 */
import { BugError } from '../lib/errors.js';
import { parseIp } from '../lib/net/ip.js';
import { type DnsHeader, type DnsQuestion, type DnsRdata, type DnsRecord, RR_CLASS_IN } from './wire.js';

/** What the encoder takes: a header without counts (they come from the sections). */
export interface DnsMessageInput {
  readonly header: Partial<Omit<DnsHeader, 'qdcount' | 'ancount' | 'nscount' | 'arcount'>>;
  readonly questions?: readonly DnsQuestion[];
  readonly answers?: readonly DnsRecord[];
  readonly authorities?: readonly DnsRecord[];
  readonly additionals?: readonly DnsRecord[];
}

/** Splits a name's text into raw labels, undoing `\.`, `\\` and `\DDD`. */
function nameLabels(name: string): Uint8Array[] {
  if (name === '.' || name === '') return [];
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === '.') {
      labels.push(Uint8Array.from(cur));
      cur = [];
    } else if (c === '\\' && /^\d{3}$/.test(name.slice(i + 1, i + 4))) {
      cur.push(Number(name.slice(i + 1, i + 4)) & 0xff);
      i += 3;
    } else if (c === '\\' && i + 1 < name.length) {
      cur.push(name.charCodeAt(i + 1) & 0xff);
      i += 1;
    } else cur.push(name.charCodeAt(i) & 0xff);
  }
  if (cur.length > 0) labels.push(Uint8Array.from(cur));
  return labels;
}

class Writer {
  readonly #bytes: number[] = [];
  /** Lower-cased suffix text -> offset, for compression. */
  readonly #names = new Map<string, number>();
  readonly #compress: boolean;

  constructor(compress: boolean) {
    this.#compress = compress;
  }

  get length(): number {
    return this.#bytes.length;
  }
  u8(v: number): void {
    this.#bytes.push(v & 0xff);
  }
  u16(v: number): void {
    this.u8(v >> 8);
    this.u8(v);
  }
  u32(v: number): void {
    this.u16(Math.floor(v / 0x10000));
    this.u16(v % 0x10000);
  }
  raw(b: Uint8Array): void {
    for (const x of b) this.#bytes.push(x);
  }
  setU16(at: number, v: number): void {
    this.#bytes[at] = (v >> 8) & 0xff;
    this.#bytes[at + 1] = v & 0xff;
  }
  name(name: string): void {
    const labels = nameLabels(name);
    for (let i = 0; i < labels.length; i++) {
      const key = labels
        .slice(i)
        .map((l) => Array.from(l, (b) => b.toString(16)).join(' '))
        .join('.')
        .toLowerCase();
      const at = this.#names.get(key);
      if (this.#compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.length < 0x3fff) this.#names.set(key, this.length);
      this.u8(labels[i]!.length);
      this.raw(labels[i]!);
    }
    this.u8(0);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

function writeRdata(w: Writer, d: DnsRdata): void {
  const lenAt = w.length;
  w.u16(0);
  switch (d.kind) {
    case 'A':
    case 'AAAA': {
      const bytes = ipBytes(d.address, d.kind === 'A' ? 4 : 16);
      w.raw(bytes);
      break;
    }
    case 'CNAME':
      w.name(d.target);
      break;
    case 'opaque':
      w.raw(d.bytes);
      break;
    default: {
      const never: never = d;
      return never;
    }
  }
  w.setU16(lenAt, w.length - lenAt - 2);
}

/** Address text -> bytes (the encoder builds the tests' and the proxy's own messages: bad text is a bug). */
function ipBytes(address: string, size: 4 | 16): Uint8Array {
  const ip = parseIp(address);
  if (ip === undefined || (ip.family === 4) !== (size === 4))
    throw new BugError(`not an IPv${size === 4 ? 4 : 6} address: ${address}`);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number((ip.value >> BigInt(8 * (size - 1 - i))) & 0xffn);
  return out;
}

export function encodeMessage(msg: DnsMessageInput, opts: { readonly compress?: boolean } = {}): Uint8Array {
  const w = new Writer(opts.compress !== false);
  const h = msg.header;
  const flags =
    (h.qr === true ? 0x8000 : 0) |
    (((h.opcode ?? 0) & 0xf) << 11) |
    (h.aa === true ? 0x0400 : 0) |
    (h.tc === true ? 0x0200 : 0) |
    (h.rd === true ? 0x0100 : 0) |
    (h.ra === true ? 0x0080 : 0) |
    ((h.rcode ?? 0) & 0xf);
  const qs = msg.questions ?? [];
  const sections = [msg.answers ?? [], msg.authorities ?? [], msg.additionals ?? []];
  w.u16(h.id ?? 0);
  w.u16(flags);
  w.u16(qs.length);
  for (const s of sections) w.u16(s.length);
  for (const q of qs) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const s of sections) {
    for (const r of s) {
      w.name(r.name);
      w.u16(r.type);
      w.u16(r.class);
      w.u32(r.ttl);
      writeRdata(w, r.data);
    }
  }
  return w.bytes();
}

/** A recursive query for one name and type (class IN). */
export function encodeQuery(id: number, name: string, type: number): Uint8Array {
  return encodeMessage({ header: { id, rd: true }, questions: [{ name, type, class: RR_CLASS_IN }] });
}

/** An empty reply with `rcode` to a query (echoes id, RD, opcode and the questions). */
export function encodeErrorReply(
  query: { header: DnsHeader; questions: readonly DnsQuestion[] },
  rcode: number,
): Uint8Array {
  return encodeMessage({
    header: {
      id: query.header.id,
      qr: true,
      opcode: query.header.opcode,
      rd: query.header.rd,
      ra: true,
      rcode,
    },
    questions: query.questions,
  });
}
