/**
 * Does one backend rule match one packet? IP-set semantics as Felix renders them (reference §3.9,
 * felix/calc/rule_scanner.go): selectors match an address when any holder of the address (endpoint or
 * network set) has matching labels; named ports match (ip, protocol, port) triples of selected endpoints,
 * with the protocol taken from the rule (TCP when the rule has none); numeric and named ports are OR'ed;
 * "not" criteria exclude.
 */
import type { Selector } from '../api/selector/index.js';
import { cidrContains } from '../lib/net/ip.js';
import type { IpAddr } from '../lib/net/ip.js';
import { namedPortProtocol } from '../model/rules.js';
import type { EntityMatch, ModelRule, PortRange } from '../model/types.js';
import type { Holder } from './ip-index.js';

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;
export const PROTO_SCTP = 132;

/** One side of a packet: its address (if known) and every label holder of that address. */
export interface PacketEnd {
  readonly ip?: IpAddr;
  readonly holders: readonly Holder[];
  readonly port?: number;
}

export interface Packet {
  readonly family: 4 | 6;
  readonly protocol: number;
  readonly src: PacketEnd;
  readonly dst: PacketEnd;
  readonly icmpType?: number;
  readonly icmpCode?: number;
}

function inRanges(port: number, ranges: readonly PortRange[]): boolean {
  for (const r of ranges) if (port >= r.min && port <= r.max) return true;
  return false;
}

function selectorMatchesEnd(sel: Selector | undefined, end: PacketEnd): boolean {
  for (const h of end.holders) if (sel === undefined || sel.matches(h.labels)) return true;
  return false;
}

function namedPortMatches(
  name: string,
  sel: Selector | undefined,
  end: PacketEnd,
  proto: number,
  packetProto: number,
): boolean {
  if (end.port === undefined || packetProto !== proto) return false;
  for (const h of end.holders) {
    if (h.kind !== 'endpoint') continue;
    if (sel !== undefined && !sel.matches(h.labels)) continue;
    for (const p of h.endpoint.ports)
      if (p.name === name && p.protocol === proto && p.port === end.port) return true;
  }
  return false;
}

function entityMatches(e: EntityMatch, end: PacketEnd, namedProto: number, packetProto: number): boolean {
  if (e.nets.length > 0) {
    const ip = end.ip;
    if (ip === undefined || !e.nets.some((c) => cidrContains(c, ip))) return false;
  }
  if (e.notNets.length > 0 && end.ip !== undefined) {
    const ip = end.ip;
    if (e.notNets.some((c) => cidrContains(c, ip))) return false;
  }
  const hasPorts = e.ports.length > 0 || e.namedPorts.length > 0;
  // Felix skips the plain selector IP set when only named ports are given: the named-port set is already
  // filtered by the selector.
  if (e.selector !== undefined && (e.ports.length > 0 || e.namedPorts.length === 0)) {
    if (!selectorMatchesEnd(e.selector, end)) return false;
  }
  if (hasPorts) {
    const port = end.port;
    if (port === undefined) return false;
    const ok =
      inRanges(port, e.ports) ||
      e.namedPorts.some((n) => namedPortMatches(n, e.selector, end, namedProto, packetProto));
    if (!ok) return false;
  }
  if (e.notSelector !== undefined && selectorMatchesEnd(e.notSelector, end)) return false;
  if (end.port !== undefined) {
    if (inRanges(end.port, e.notPorts)) return false;
    if (e.notNamedPorts.some((n) => namedPortMatches(n, e.selector, end, namedProto, packetProto)))
      return false;
  }
  return true;
}

function icmpMatches(m: { type: number; code?: number }, p: Packet): boolean {
  if (p.protocol !== PROTO_ICMP && p.protocol !== PROTO_ICMPV6) return false;
  if (p.icmpType !== m.type) return false;
  return m.code === undefined || p.icmpCode === m.code;
}

export function ruleMatches(rule: ModelRule, p: Packet): boolean {
  if (rule.ipVersion !== undefined && rule.ipVersion !== p.family) return false;
  if (rule.protocol !== undefined && rule.protocol !== p.protocol) return false;
  if (rule.notProtocol !== undefined && rule.notProtocol === p.protocol) return false;
  if (rule.icmp !== undefined && !icmpMatches(rule.icmp, p)) return false;
  if (rule.notIcmp !== undefined && icmpMatches(rule.notIcmp, p)) return false;
  const namedProto = namedPortProtocol(rule);
  return (
    entityMatches(rule.src, p.src, namedProto, p.protocol) &&
    entityMatches(rule.dst, p.dst, namedProto, p.protocol)
  );
}
