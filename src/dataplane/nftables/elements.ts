/**
 * Set and map elements: parsing the desired elements into one canonical string per element, turning the kernel's
 * JSON elements into the same canonical strings (so the two sides can be diffed as string sets), normalising
 * interval sets, and rendering elements back into nft syntax. Pure.
 *
 * Canonical forms: addresses as printed by formatIp (RFC 5952 for IPv6), prefixes as `net/len` with a full-length
 * prefix written as the bare address; ports and port ranges as decimal `80` / `8080-8090`; protocols in
 * concatenations as numbers (`10.0.0.1 . 6 . 80`); interface names as given.
 *
 * Interval normalisation: nft (without auto-merge) rejects an interval that overlaps one already in the set, yet
 * Calico legitimately asks for overlapping members (10.0.0.0/8 from one network set, 10.1.0.0/16 from another).
 * Before diffing, the desired members of an interval set are reduced to a non-overlapping cover: a prefix covered
 * by another member is dropped (prefixes are either nested or disjoint, so this is exact), and overlapping port
 * ranges are merged into one range. Adjacent members are kept as they are: nft accepts them, and merging them
 * would only make the diff noisier. The cover matches exactly the same packets as the members.
 */
import {
  cidrCovers,
  familyBits,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
  type Cidr,
  type IpFamily,
} from '../../lib/net/ip.js';
import { err, ok, type Result } from '../../lib/result.js';
import type { SetElementType } from './model.js';

const PROTOCOLS: Readonly<Record<string, number>> = {
  icmp: 1,
  igmp: 2,
  ipip: 4,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  'ipv6-icmp': 58,
  ospf: 89,
  pim: 103,
  vrrp: 112,
  sctp: 132,
  udplite: 136,
};

const IFNAME = /^[A-Za-z0-9_.:@+-]{1,15}$/;

function familyOf(type: SetElementType): IpFamily | undefined {
  if (type.startsWith('ipv4_addr')) return 4;
  if (type.startsWith('ipv6_addr')) return 6;
  return undefined;
}

/** Whether the `interval` flag is supported for this element type. */
export function intervalAllowed(type: SetElementType): boolean {
  return type === 'ipv4_addr' || type === 'ipv6_addr' || type === 'inet_service';
}

/** Whether a set of this type may be a learned-address (`flags timeout`) set. */
export function timeoutAllowed(type: SetElementType): boolean {
  return type === 'ipv4_addr' || type === 'ipv6_addr';
}

function formatPrefix(c: Cidr): string {
  return c.prefix === familyBits(c.family) ? formatIp(c.family, c.network) : formatCidr(c);
}

function canonicalAddr(family: IpFamily, text: string, allowPrefix: boolean): Result<string, string> {
  const c = parseCidr(text);
  if (c?.family !== family) return err(`${JSON.stringify(text)} is not an IPv${family} address`);
  if (!allowPrefix && c.prefix !== familyBits(family)) {
    return err(`${JSON.stringify(text)}: a prefix needs an interval set`);
  }
  return ok(formatPrefix(c));
}

function parsePort(text: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function canonicalPorts(text: string, interval: boolean): Result<string, string> {
  const m = /^([0-9]+)\s*-\s*([0-9]+)$/.exec(text);
  if (m !== null && interval) {
    const lo = parsePort(m[1]!);
    const hi = parsePort(m[2]!);
    if (lo === undefined || hi === undefined || lo > hi)
      return err(`invalid port range ${JSON.stringify(text)}`);
    return ok(lo === hi ? String(lo) : `${lo}-${hi}`);
  }
  const p = parsePort(text);
  return p === undefined ? err(`invalid port ${JSON.stringify(text)}`) : ok(String(p));
}

function protocolNumber(text: string): number | undefined {
  if (/^[0-9]{1,3}$/.test(text)) {
    const n = Number(text);
    return n <= 255 ? n : undefined;
  }
  return PROTOCOLS[text.toLowerCase()];
}

function canonicalConcat(family: IpFamily, text: string): Result<string, string> {
  const parts = text.split(/\s+\.\s+/);
  if (parts.length !== 3) return err(`${JSON.stringify(text)}: expected "<address> . <protocol> . <port>"`);
  const addr = canonicalAddr(family, parts[0]!, false);
  if (!addr.ok) return addr;
  const proto = protocolNumber(parts[1]!);
  if (proto === undefined)
    return err(`${JSON.stringify(text)}: unknown protocol ${JSON.stringify(parts[1])}`);
  const port = parsePort(parts[2]!);
  if (port === undefined) return err(`${JSON.stringify(text)}: invalid port ${JSON.stringify(parts[2])}`);
  return ok(`${addr.value} . ${proto} . ${port}`);
}

export function canonicalIfname(text: string): Result<string, string> {
  return IFNAME.test(text) ? ok(text) : err(`invalid interface name ${JSON.stringify(text)}`);
}

/** The canonical form of one desired element, or why it is not a valid element of such a set. */
export function canonicalElement(
  type: SetElementType,
  interval: boolean,
  raw: string,
): Result<string, string> {
  const text = raw.trim();
  switch (type) {
    case 'ipv4_addr':
    case 'ipv6_addr':
      return canonicalAddr(familyOf(type)!, text, interval);
    case 'ipv4_addr . inet_proto . inet_service':
    case 'ipv6_addr . inet_proto . inet_service':
      return canonicalConcat(familyOf(type)!, text);
    case 'inet_service':
      return canonicalPorts(text, interval);
    case 'ifname':
      return canonicalIfname(text);
  }
}

function comparePrefixes(a: Cidr, b: Cidr): number {
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.prefix - b.prefix;
}

function coverPrefixes(elements: Iterable<string>): string[] {
  const cidrs = [...elements]
    .map((e) => parseCidr(e))
    .filter((c): c is NonNullable<typeof c> => c !== undefined);
  cidrs.sort(comparePrefixes);
  const kept: Cidr[] = [];
  for (const c of cidrs) {
    const last = kept[kept.length - 1];
    // Sorted by network then shorter prefix first: a member can only be covered by the last one kept.
    if (last !== undefined && cidrCovers(last, c)) continue;
    kept.push(c);
  }
  return kept.map(formatPrefix);
}

function mergePortRanges(elements: Iterable<string>): string[] {
  const ranges = [...elements].map((e) => {
    const [lo, hi] = e.split('-');
    return [Number(lo), Number(hi ?? lo)] as [number, number];
  });
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`));
}

/**
 * The elements to program for a set: for interval sets the non-overlapping cover described above, otherwise
 * the elements unchanged (they are already canonical and unique).
 */
export function normaliseElements(
  type: SetElementType,
  interval: boolean,
  elements: Iterable<string>,
): string[] {
  if (!interval) return [...elements];
  if (type === 'inet_service') return mergePortRanges(elements);
  return coverPrefixes(elements);
}

/** nft syntax for a canonical element. */
export function renderElement(type: SetElementType, canonical: string): string {
  return type === 'ifname' ? `"${canonical}"` : canonical;
}

type Json = unknown;

function isRecord(x: Json): x is Record<string, Json> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function kernelScalar(part: Json): string | undefined {
  if (typeof part === 'number') return String(part);
  if (typeof part === 'string') return part;
  return undefined;
}

function kernelAddr(family: IpFamily, part: Json): string | undefined {
  if (typeof part === 'string') {
    const ip = parseIp(part);
    return ip?.family === family ? formatIp(family, ip.value) : undefined;
  }
  if (isRecord(part) && isRecord(part.prefix)) {
    const { addr, len } = part.prefix;
    if (typeof addr !== 'string' || typeof len !== 'number') return undefined;
    const c = canonicalAddr(family, `${addr}/${len}`, true);
    return c.ok ? c.value : undefined;
  }
  return undefined;
}

/** The canonical form of an element as `nft -j -p` lists it, or undefined when it is not one we could have made. */
export function kernelElement(type: SetElementType, json: Json): string | undefined {
  const value = isRecord(json) && isRecord(json.elem) ? json.elem.val : json;
  switch (type) {
    case 'ipv4_addr':
    case 'ipv6_addr':
      return kernelAddr(familyOf(type)!, value);
    case 'inet_service': {
      if (isRecord(value) && Array.isArray(value.range) && value.range.length === 2) {
        const [lo, hi] = value.range.map(kernelScalar);
        return lo === undefined || hi === undefined ? undefined : `${lo}-${hi}`;
      }
      return kernelScalar(value);
    }
    case 'ifname':
      return typeof value === 'string' ? value : undefined;
    case 'ipv4_addr . inet_proto . inet_service':
    case 'ipv6_addr . inet_proto . inet_service': {
      if (!isRecord(value) || !Array.isArray(value.concat) || value.concat.length !== 3) return undefined;
      const [a, p, port] = value.concat as Json[];
      const addr = kernelAddr(familyOf(type)!, a);
      const proto = typeof p === 'number' ? p : typeof p === 'string' ? protocolNumber(p) : undefined;
      const portText = kernelScalar(port);
      if (addr === undefined || proto === undefined || portText === undefined) return undefined;
      return `${addr} . ${proto} . ${portText}`;
    }
  }
}

/** The canonical form of a verdict as `nft -j` lists it (`{"goto": {"target": "x"}}` → `goto x`). */
export function kernelVerdict(json: Json): string | undefined {
  if (!isRecord(json)) return undefined;
  const keys = Object.keys(json);
  if (keys.length !== 1) return undefined;
  const verb = keys[0]!;
  if (verb === 'accept' || verb === 'drop' || verb === 'return' || verb === 'continue') return verb;
  const arg = json[verb];
  if ((verb === 'goto' || verb === 'jump') && isRecord(arg) && typeof arg.target === 'string') {
    return `${verb} ${arg.target}`;
  }
  return undefined;
}
