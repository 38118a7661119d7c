/**
 * Rule scanner (felix/calc/rule_scanner.go): turns backend rules into dataplane rules whose selectors are
 * IP-set ids, and reports which IP sets a policy or profile needs. It does not compute memberships.
 *
 * DNS policy: a rule's `destination.domains` becomes `dstDomainSetId`; the destination selector of an
 * egress Allow rule also becomes `dstSelectorDomainSetId` when the network sets it selects currently have
 * `allowedEgressDomains` (their union, given by the caller, as a content-addressed domain set).
 */
import { mustParseSelector } from '../api/selector/index.js';
import type { Selector } from '../api/selector/index.js';
import { formatCidr } from '../lib/net/ip.js';
import type { EntityMatch, ModelRule, PortRange } from '../model/types.js';
import { namedPortProtocol } from '../model/rules.js';
import { namedPortIpSetId, selectorIpSetId } from './ipsets.js';
import type { IpSetSpec } from './ipsets.js';
import type { PortRangeMsg, RuleMsg } from './messages.js';
import { domainSetId, type DomainSetSpec } from './domain-sets.js';

const ALL = mustParseSelector('all()');

function ports(p: readonly PortRange[]): PortRangeMsg[] {
  return p.map((r) => ({ first: r.min, last: r.max }));
}

interface SideMsg {
  nets: string[];
  notNets: string[];
  ports: PortRangeMsg[];
  notPorts: PortRangeMsg[];
  ipSets: string[];
  notIpSets: string[];
  namedPortSets: string[];
  notNamedPortSets: string[];
}

function side(e: EntityMatch, proto: number, need: (spec: IpSetSpec) => void): SideMsg {
  const selSet = (s: Selector): string => {
    const spec: IpSetSpec = { id: selectorIpSetId(s), type: 'net', selector: s };
    need(spec);
    return spec.id;
  };
  const namedSet = (name: string): string => {
    const sel = e.selector ?? ALL;
    const spec: IpSetSpec = {
      id: namedPortIpSetId(sel, proto, name),
      type: 'ipPort',
      selector: sel,
      namedPort: { name, protocol: proto },
    };
    need(spec);
    return spec.id;
  };
  return {
    nets: e.nets.map(formatCidr),
    notNets: e.notNets.map(formatCidr),
    ports: ports(e.ports),
    notPorts: ports(e.notPorts),
    ipSets:
      e.selector !== undefined && (e.ports.length > 0 || e.namedPorts.length === 0)
        ? [selSet(e.selector)]
        : [],
    notIpSets: e.notSelector !== undefined ? [selSet(e.notSelector)] : [],
    namedPortSets: e.namedPorts.map(namedSet),
    notNamedPortSets: e.notNamedPorts.map(namedSet),
  };
}

/**
 * The destination selector through which network sets' `allowedEgressDomains` apply to a rule of this
 * direction: an egress Allow rule's, when its selector IP set is matched (not when only named ports are
 * given: the named-port sets hold endpoints only). Undefined for every other rule.
 */
export function egressDomainSelector(rule: ModelRule, dir: 'inbound' | 'outbound'): Selector | undefined {
  if (dir !== 'outbound' || rule.action !== 'allow') return undefined;
  const e = rule.dst;
  return e.ports.length > 0 || e.namedPorts.length === 0 ? e.selector : undefined;
}

/** How to scan one direction's rules: its direction and, for egress, the network sets' domains. */
export interface ScanContext {
  readonly dir: 'inbound' | 'outbound';
  /** The union of allowedEgressDomains of the network sets a selector selects (canonical, sorted). */
  readonly selectorDomains?: (sel: Selector) => readonly string[];
}

const NO_CONTEXT: ScanContext = { dir: 'inbound' };

function domainSet(
  domains: readonly string[],
  needDomains: (spec: DomainSetSpec) => void,
): string | undefined {
  if (domains.length === 0) return undefined;
  const spec: DomainSetSpec = { id: domainSetId(domains), domains };
  needDomains(spec);
  return spec.id;
}

/** Converts a rule, calling `need` for every IP set and `needDomains` for the domain sets it references. */
export function scanRule(
  rule: ModelRule,
  need: (spec: IpSetSpec) => void,
  needDomains: (spec: DomainSetSpec) => void = () => undefined,
  ctx: ScanContext = NO_CONTEXT,
): RuleMsg {
  const proto = namedPortProtocol(rule);
  const src = side(rule.src, proto, need);
  const dst = side(rule.dst, proto, need);
  const dstDomainSetId = domainSet(rule.dst.domains ?? [], needDomains);
  const viaSelector = egressDomainSelector(rule, ctx.dir);
  const dstSelectorDomainSetId =
    viaSelector !== undefined && ctx.selectorDomains !== undefined
      ? domainSet(ctx.selectorDomains(viaSelector), needDomains)
      : undefined;
  return {
    action: rule.action,
    index: rule.index,
    ...(rule.ipVersion !== undefined ? { ipVersion: rule.ipVersion } : {}),
    ...(rule.protocol !== undefined ? { protocol: rule.protocol } : {}),
    ...(rule.notProtocol !== undefined ? { notProtocol: rule.notProtocol } : {}),
    ...(rule.icmp !== undefined ? { icmpType: rule.icmp.type } : {}),
    ...(rule.icmp?.code !== undefined ? { icmpCode: rule.icmp.code } : {}),
    ...(rule.notIcmp !== undefined ? { notIcmpType: rule.notIcmp.type } : {}),
    ...(rule.notIcmp?.code !== undefined ? { notIcmpCode: rule.notIcmp.code } : {}),
    srcNets: src.nets,
    notSrcNets: src.notNets,
    srcPorts: src.ports,
    notSrcPorts: src.notPorts,
    srcIpSetIds: src.ipSets,
    notSrcIpSetIds: src.notIpSets,
    srcNamedPortIpSetIds: src.namedPortSets,
    notSrcNamedPortIpSetIds: src.notNamedPortSets,
    dstNets: dst.nets,
    notDstNets: dst.notNets,
    dstPorts: dst.ports,
    notDstPorts: dst.notPorts,
    dstIpSetIds: dst.ipSets,
    notDstIpSetIds: dst.notIpSets,
    dstNamedPortIpSetIds: dst.namedPortSets,
    notDstNamedPortIpSetIds: dst.notNamedPortSets,
    ...(dstDomainSetId !== undefined ? { dstDomainSetId } : {}),
    ...(dstSelectorDomainSetId !== undefined ? { dstSelectorDomainSetId } : {}),
  };
}

/** Scans a list of rules; returns the messages and the distinct IP sets and domain sets they need. */
export function scanRules(
  rules: readonly ModelRule[],
  ctx: ScanContext = NO_CONTEXT,
): {
  msgs: RuleMsg[];
  ipSets: Map<string, IpSetSpec>;
  domainSets: Map<string, DomainSetSpec>;
} {
  const ipSets = new Map<string, IpSetSpec>();
  const domainSets = new Map<string, DomainSetSpec>();
  const msgs = rules.map((r) =>
    scanRule(
      r,
      (spec) => ipSets.set(spec.id, spec),
      (spec) => domainSets.set(spec.id, spec),
      ctx,
    ),
  );
  return { msgs, ipSets, domainSets };
}
