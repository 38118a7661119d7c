/**
 * Does one backend rule match one packet? IP-set semantics as Felix renders them (reference §3.9,
 * felix/calc/rule_scanner.go): selectors match an address when any holder of the address (endpoint or
 * network set) has matching labels; named ports match (ip, protocol, port) triples of selected endpoints,
 * with the protocol taken from the rule (TCP when the rule has none); numeric and named ports are OR'ed;
 * "not" criteria exclude. DNS policy (docs/design/dns-policy.md): a rule's `domains` match the destination
 * when its address is currently mapped from a name matching one of them; in the destination of an egress
 * Allow rule, a selector also matches addresses mapped from the `allowedEgressDomains` of the network sets
 * it selects. The match reports which pattern (and name, and set) let the packet through.
 */
import type { Selector } from '../api/selector/index.js';
import { cidrContains } from '../lib/net/ip.js';
import type { IpAddr } from '../lib/net/ip.js';
import { namedPortProtocol, namedPortProtocolMatches } from '../model/rules.js';
import type { EntityMatch, ModelRule, PortRange } from '../model/types.js';
import { DomainMatcher } from '../model/domain-match.js';
import type { DomainHolder, Holder } from './ip-index.js';

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
  /** Names the address is currently mapped from (DNS policy), canonical. */
  readonly names?: readonly string[];
  /** Network sets whose allowedEgressDomains match one of `names`. */
  readonly domainHolders?: readonly DomainHolder[];
}

/** Which domain pattern matched, for which name, and through which network set (if not the rule's own). */
export interface DomainMatch {
  readonly pattern: string;
  readonly name: string;
  /** `GlobalNetworkSet <name>` or `NetworkSet <ns>/<name>`, when the pattern came from a set. */
  readonly networkSet?: string;
}

/** A rule matched; `domain` says how when DNS policy decided the destination. */
export interface RuleMatch {
  readonly domain?: DomainMatch;
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
  if (end.port === undefined || !namedPortProtocolMatches(proto, packetProto)) return false;
  for (const h of end.holders) {
    if (h.kind !== 'endpoint') continue;
    if (sel !== undefined && !sel.matches(h.labels)) continue;
    for (const p of h.endpoint.ports)
      if (p.name === name && p.protocol === packetProto && p.port === end.port) return true;
  }
  return false;
}

const matcherCache = new WeakMap<readonly string[], DomainMatcher>();

function ruleDomainMatch(domains: readonly string[], end: PacketEnd): DomainMatch | undefined {
  let m = matcherCache.get(domains);
  if (m === undefined) {
    m = new DomainMatcher(domains);
    matcherCache.set(domains, m);
  }
  for (const name of end.names ?? []) {
    const pattern = m.match(name);
    if (pattern !== undefined) return { pattern, name };
  }
  return undefined;
}

function setDisplay(h: DomainHolder): string {
  const k = h.holder.set.key;
  return k.namespace !== undefined ? `NetworkSet ${k.namespace}/${k.name}` : `GlobalNetworkSet ${k.name}`;
}

/** Outcome of one entity: false, or true with the domain match that decided it (if any). */
type EntityResult = false | { readonly domain?: DomainMatch };

function entityMatches(
  e: EntityMatch,
  end: PacketEnd,
  namedProto: number,
  packetProto: number,
  egressAllowDst: boolean,
): EntityResult {
  let domain: DomainMatch | undefined;
  if (e.domains !== undefined && e.domains.length > 0) {
    domain = ruleDomainMatch(e.domains, end);
    if (domain === undefined) return false;
  }
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
    if (!selectorMatchesEnd(e.selector, end)) {
      const sel = e.selector;
      const viaSet = egressAllowDst
        ? end.domainHolders?.find((h) => sel.matches(h.holder.labels))
        : undefined;
      if (viaSet === undefined) return false;
      domain ??= { pattern: viaSet.pattern, name: viaSet.name, networkSet: setDisplay(viaSet) };
    }
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
  return domain !== undefined ? { domain } : {};
}

function icmpMatches(m: { type: number; code?: number }, p: Packet): boolean {
  if (p.protocol !== PROTO_ICMP && p.protocol !== PROTO_ICMPV6) return false;
  if (p.icmpType !== m.type) return false;
  return m.code === undefined || p.icmpCode === m.code;
}

/** Whether the rule matches; `dir` is the rule's direction (network sets' domains count in egress only). */
export function ruleMatches(
  rule: ModelRule,
  p: Packet,
  dir: 'ingress' | 'egress' = 'ingress',
): RuleMatch | undefined {
  if (rule.ipVersion !== undefined && rule.ipVersion !== p.family) return undefined;
  if (rule.protocol !== undefined && rule.protocol !== p.protocol) return undefined;
  if (rule.notProtocol !== undefined && rule.notProtocol === p.protocol) return undefined;
  if (rule.icmp !== undefined && !icmpMatches(rule.icmp, p)) return undefined;
  if (rule.notIcmp !== undefined && icmpMatches(rule.notIcmp, p)) return undefined;
  const namedProto = namedPortProtocol(rule);
  if (entityMatches(rule.src, p.src, namedProto, p.protocol, false) === false) return undefined;
  const dst = entityMatches(
    rule.dst,
    p.dst,
    namedProto,
    p.protocol,
    dir === 'egress' && rule.action === 'allow',
  );
  return dst === false ? undefined : dst;
}
