/**
 * A pod's name lookup as the lab sees it, on the DNS path's codec (src/dns/wire.ts, wire-encode.ts): the
 * query a stub resolver sends for one name and type, its answer read as the records the lab reports (A,
 * AAAA and CNAME of class IN, names in canonical form; other types are skipped), and the addresses a name
 * resolves to through its CNAME chain. The probe agent (probe-agent.ts) asks with it from inside the pod;
 * the probe protocol carries its records back. Reading never throws: a malformed message is a failure that
 * says what is wrong with it (the codec's bounds: offsets, pointers, label and name lengths, RDATA sizes).
 */
import { canonicalDomain } from '../api/domains.js';
import { BugError } from '../lib/errors.js';
import { err, ok, type Result } from '../lib/result.js';
import {
  RR_CLASS_IN,
  RR_TYPE,
  describeParseError,
  parseMessage,
  rcodeName,
  type DnsRecord,
} from '../dns/wire.js';
import { encodeQuery } from '../dns/wire-encode.js';

export type DnsQueryType = 'A' | 'AAAA';

/** One answer record as the lab reports it (and the probe protocol carries it). */
export interface LookupRecord {
  /** Canonical: lower case, no trailing dot. */
  readonly name: string;
  readonly type: 'A' | 'AAAA' | 'CNAME';
  readonly ttl: number;
  /** The address (A, AAAA) or the canonical target name (CNAME). */
  readonly data: string;
}

export interface LookupAnswer {
  readonly id: number;
  /** `NOERROR`, `NXDOMAIN`, ... (`RCODE<n>` for codes without a name). */
  readonly rcode: string;
  /** TC: the answer did not fit a UDP datagram. */
  readonly truncated: boolean;
  readonly records: readonly LookupRecord[];
}

/** A name a query can carry: labels of 1..63 letters, digits, `-` or `_`, 253 characters at most, not all digits. */
export function isQueryName(name: string): boolean {
  const n = canonicalDomain(name);
  return (
    n.length > 0 &&
    n.length <= 253 &&
    n.split('.').every((l) => /^[a-z0-9_-]{1,63}$/.test(l)) &&
    !/^[0-9.]+$/.test(n)
  );
}

/** A recursive query (RD set) for `name`; a name `isQueryName` rejects is a bug of the caller. */
export function lookupQuery(id: number, name: string, type: DnsQueryType): Uint8Array {
  if (!isQueryName(name)) throw new BugError(`not a DNS name: "${name}"`);
  return encodeQuery(id & 0xffff, canonicalDomain(name), RR_TYPE[type]);
}

function lookupRecord(r: DnsRecord): LookupRecord[] {
  if (r.class !== RR_CLASS_IN) return [];
  const name = canonicalDomain(r.name);
  switch (r.data.kind) {
    case 'A':
    case 'AAAA':
      return [{ name, type: r.data.kind, ttl: r.ttl, data: r.data.address }];
    case 'CNAME':
      return [{ name, type: 'CNAME', ttl: r.ttl, data: canonicalDomain(r.data.target) }];
    case 'opaque':
      return [];
    default: {
      const never: never = r.data;
      return never;
    }
  }
}

/** Reads an answer to `lookupQuery`'s query; a failure says what is wrong with the message. */
export function readLookupAnswer(m: Uint8Array): Result<LookupAnswer, string> {
  const parsed = parseMessage(m);
  if (!parsed.ok) return err(describeParseError(parsed.error));
  const { header, answers } = parsed.value;
  if (!header.qr) return err('not a response (QR is 0)');
  return ok({
    id: header.id,
    rcode: rcodeName(header.rcode),
    truncated: header.tc,
    records: answers.flatMap(lookupRecord),
  });
}

/** The addresses `name` resolves to in `records`, following its CNAME chain (bounded by the records). */
export function addressesOf(records: readonly LookupRecord[], name: string, type: DnsQueryType): string[] {
  let current = canonicalDomain(name);
  for (let hops = 0; hops <= records.length; hops++) {
    const direct = records.filter((r) => r.name === current && r.type === type).map((r) => r.data);
    if (direct.length > 0) return direct;
    const alias = records.find((r) => r.name === current && r.type === 'CNAME');
    if (alias === undefined) return [];
    current = alias.data;
  }
  return [];
}
