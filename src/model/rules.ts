/**
 * v3 Rule -> backend ModelRule (RuleAPIV2ToBackend + Felix's rule scanner): selectors scoped and combined,
 * nets masked, protocols as numbers, ports split into numeric ranges and named ports.
 */
import { parsePort, parseProtocol, protocolNumber } from '../api/numorstring.js';
import type { EntityRule, Rule } from '../api/v3/rule.js';
import { canonicalDomain } from '../api/domains.js';
import { BugError } from '../lib/errors.js';
import { parseCidr } from '../lib/net/ip.js';
import type { Cidr } from '../lib/net/ip.js';
import { backendSelector, combineSelectors, entityRuleSelector } from './selectors.js';
import type { EntityMatch, ModelRule, PortRange, RuleActionModel } from './types.js';

function actionOf(a: Rule['action']): RuleActionModel {
  switch (a) {
    case 'Allow':
      return 'allow';
    case 'Deny':
      return 'deny';
    case 'Log':
      return 'log';
    case 'Pass':
      return 'pass';
  }
}

function netsOf(nets: readonly string[] | undefined): Cidr[] {
  const out: Cidr[] = [];
  for (const n of nets ?? []) {
    const c = parseCidr(n);
    if (c !== undefined) out.push({ family: c.family, network: c.network, prefix: c.prefix });
  }
  return out;
}

function splitPorts(ports: readonly (number | string)[] | undefined): {
  ranges: PortRange[];
  named: string[];
} {
  const ranges: PortRange[] = [];
  const named: string[] = [];
  for (const p of ports ?? []) {
    const parsed = parsePort(p);
    if (!parsed.ok) throw new BugError(`unvalidated port ${JSON.stringify(p)} reached the model`);
    if (parsed.value.kind === 'named') named.push(parsed.value.name);
    else ranges.push({ min: parsed.value.min, max: parsed.value.max });
  }
  return { ranges, named };
}

/** Domain patterns in canonical form, sorted and unique (so equal sets compare and hash equal). */
export function canonicalDomains(domains: readonly string[] | undefined): string[] {
  return [...new Set((domains ?? []).map(canonicalDomain))].sort();
}

function entityOf(er: EntityRule | undefined, namespace: string): EntityMatch {
  const e = er ?? {};
  const { positive, negative } = combineSelectors(entityRuleSelector(e, namespace), e.notSelector ?? '');
  const ports = splitPorts(e.ports);
  const notPorts = splitPorts(e.notPorts);
  const domains = canonicalDomains(e.domains);
  return {
    nets: netsOf(e.nets),
    notNets: netsOf(e.notNets),
    ...(positive !== '' ? { selector: backendSelector(positive) } : {}),
    ...(negative !== '' ? { notSelector: backendSelector(negative) } : {}),
    ports: ports.ranges,
    namedPorts: ports.named,
    notPorts: notPorts.ranges,
    notNamedPorts: notPorts.named,
    ...(domains.length > 0 ? { domains } : {}),
  };
}

function protoOf(p: string | number | undefined): number | undefined {
  if (p === undefined) return undefined;
  const parsed = parseProtocol(p);
  if (!parsed.ok) throw new BugError(`unvalidated protocol ${JSON.stringify(p)} reached the model`);
  return protocolNumber(parsed.value);
}

/** Converts one rule. `namespace` is the policy's namespace ('' for global policies and profiles). */
export function toModelRule(rule: Rule, index: number, namespace: string): ModelRule {
  const protocol = protoOf(rule.protocol);
  const notProtocol = protoOf(rule.notProtocol);
  const icmp =
    rule.icmp?.type !== undefined
      ? { type: rule.icmp.type, ...(rule.icmp.code !== undefined ? { code: rule.icmp.code } : {}) }
      : undefined;
  const notIcmp =
    rule.notICMP?.type !== undefined
      ? { type: rule.notICMP.type, ...(rule.notICMP.code !== undefined ? { code: rule.notICMP.code } : {}) }
      : undefined;
  return {
    index,
    action: actionOf(rule.action),
    ...(rule.ipVersion !== undefined ? { ipVersion: rule.ipVersion } : {}),
    ...(protocol !== undefined ? { protocol } : {}),
    ...(notProtocol !== undefined ? { notProtocol } : {}),
    ...(icmp !== undefined ? { icmp } : {}),
    ...(notIcmp !== undefined ? { notIcmp } : {}),
    src: entityOf(rule.source, namespace),
    dst: entityOf(rule.destination, namespace),
    hasHttpMatch: rule.http !== undefined,
    ...(rule.metadata?.annotations !== undefined ? { annotations: rule.metadata.annotations } : {}),
  };
}

export function toModelRules(rules: readonly Rule[] | undefined, namespace: string): ModelRule[] {
  return (rules ?? []).map((r, i) => toModelRule(r, i, namespace));
}

/** Felix's ipsetmember.ProtocolAny: a named port of any protocol (a rule without protocol). */
export const NAMED_PORT_PROTOCOL_ANY = 255;

/**
 * The protocol Felix uses for a rule's named-port IP sets (rule_scanner.go): the rule's UDP or SCTP, TCP
 * for any other protocol, and any protocol ({@link NAMED_PORT_PROTOCOL_ANY}) when the rule has none (only
 * converted admin policies have named ports without a protocol).
 */
export function namedPortProtocol(rule: Pick<ModelRule, 'protocol'>): number {
  if (rule.protocol === undefined) return NAMED_PORT_PROTOCOL_ANY;
  if (rule.protocol === 17 || rule.protocol === 132) return rule.protocol;
  return 6;
}

/** Whether an endpoint's named port of `portProtocol` belongs to a named-port set of `setProtocol`. */
export function namedPortProtocolMatches(setProtocol: number, portProtocol: number): boolean {
  return setProtocol === NAMED_PORT_PROTOCOL_ANY || setProtocol === portProtocol;
}
