/**
 * BGPFilter resources as BIRD functions (confd's bgpFilterBIRDFuncs): one function per filter, direction
 * and family with rules, each rule one `if (<matches>) then { <operations> accept|reject; }` line, rules
 * with a peerType guarded by the function's `is_same_as` argument. And the calls a peer's import/export
 * filter makes to them. Pure.
 */
import type { BGPFilter, BGPFilterOperation, BGPFilterRule } from '../api/v3/bgp-types.js';
import { bgpFilterFunctionName, type FilterDirection } from './names.js';
import type { BirdPeer, IpFamily } from './types.js';

const OPERATORS: Readonly<Record<NonNullable<BGPFilterRule['matchOperator']>, string>> = {
  Equal: '=',
  NotEqual: '!=',
  In: '~',
  NotIn: '!~',
};

export function filterRules(
  filter: BGPFilter,
  direction: FilterDirection,
  family: IpFamily,
): readonly BGPFilterRule[] {
  const s = filter.spec;
  if (direction === 'import') return (family === 4 ? s.importV4 : s.importV6) ?? [];
  return (family === 4 ? s.exportV4 : s.exportV6) ?? [];
}

function prefixPattern(rule: BGPFilterRule, family: IpFamily): string {
  const cidr = rule.cidr ?? '';
  if (rule.prefixLength === undefined) return cidr;
  const slash = cidr.indexOf('/');
  const own = slash < 0 ? (family === 4 ? 32 : 128) : Number(cidr.slice(slash + 1));
  const min = Math.max(own, rule.prefixLength.min ?? own);
  const max = Math.min(family === 4 ? 32 : 128, rule.prefixLength.max ?? 128);
  return `[ ${cidr}{${min},${max}} ]`;
}

function communityTuple(value: string): string {
  return `(${value.split(':').join(', ')})`;
}

function communityAttr(value: string): string {
  return value.split(':').length === 3 ? 'bgp_large_community' : 'bgp_community';
}

function conditions(rule: BGPFilterRule, family: IpFamily): string[] {
  const out: string[] = [];
  if ((rule.cidr ?? '') !== '' && rule.matchOperator !== undefined) {
    out.push(`(net ${OPERATORS[rule.matchOperator]} ${prefixPattern(rule, family)})`);
  }
  if (rule.source === 'RemotePeers') out.push('((defined(source))&&(source ~ [ RTS_BGP ]))');
  if ((rule.interface ?? '') !== '') out.push(`((defined(ifname))&&(ifname ~ "${rule.interface ?? ''}"))`);
  const community = rule.communities?.values[0];
  if (community !== undefined) out.push(`(${communityTuple(community)} ~ ${communityAttr(community)})`);
  const path = rule.asPathPrefix ?? [];
  if (path.length === 1) out.push(`(bgp_path.first = ${path[0] ?? 0})`);
  else if (path.length > 1) out.push(`(bgp_path ~ [= ${path.join(' ')} * =])`);
  if (rule.priority !== undefined) out.push(`(krt_metric = ${rule.priority})`);
  return out;
}

function operationStatements(op: BGPFilterOperation): string[] {
  if (op.addCommunity !== undefined) {
    return [`${communityAttr(op.addCommunity.value)}.add(${communityTuple(op.addCommunity.value)});`];
  }
  // BIRD prepends one AS at a time, so the last prepended ends up first: go in reverse.
  if (op.prependASPath !== undefined)
    return [...op.prependASPath.prefix].reverse().map((as) => `bgp_path.prepend(${as});`);
  if (op.setPriority !== undefined) return [`krt_metric = ${op.setPriority.value};`];
  return [];
}

export function ruleStatement(rule: BGPFilterRule, family: IpFamily): string {
  const body = [
    ...(rule.operations ?? []).flatMap(operationStatements),
    `${rule.action.toLowerCase()};`,
  ].join(' ');
  const cond = conditions(rule, family).join('&&');
  const stmt = cond === '' ? body : `if (${cond}) then { ${body} }`;
  if (rule.peerType === 'iBGP') return `if (is_same_as) then { ${stmt} }`;
  if (rule.peerType === 'eBGP') return `if (!is_same_as) then { ${stmt} }`;
  return stmt;
}

function usesPeerType(rules: readonly BGPFilterRule[]): boolean {
  return rules.some((r) => r.peerType !== undefined);
}

/** The BGP filter section of one family: every filter's functions, or a note that there are none. */
export function renderFilterFunctions(filters: readonly BGPFilter[], family: IpFamily): string[] {
  const lines: string[] = [];
  for (const f of filters) {
    const directions = (['import', 'export'] as const).filter((d) => filterRules(f, d, family).length > 0);
    if (directions.length === 0) continue;
    lines.push(`# v${family} BGPFilter ${f.metadata.name}`);
    for (const d of directions) {
      const rules = filterRules(f, d, family);
      const args = usesPeerType(rules) ? 'bool is_same_as' : '';
      lines.push(`function ${bgpFilterFunctionName(f.metadata.name, d, family)}(${args}) {`);
      for (const r of rules) lines.push(`  ${ruleStatement(r, family)}`);
      lines.push('}');
    }
  }
  return lines.length > 0 ? lines : [`# No v${family} BGPFilters configured`];
}

/** The calls a peer's import or export filter makes to its BGPFilters, in the peer's order. */
export function filterCalls(
  peer: BirdPeer,
  filters: readonly BGPFilter[],
  direction: FilterDirection,
  family: IpFamily,
): string[] {
  return peer.filters.flatMap((name) => {
    const f = filters.find((x) => x.metadata.name === name);
    if (f === undefined) return [];
    const rules = filterRules(f, direction, family);
    if (rules.length === 0) return [];
    const args = usesPeerType(rules) ? String(peer.sameAs) : '';
    return [`${bgpFilterFunctionName(name, direction, family)}(${args});`];
  });
}
