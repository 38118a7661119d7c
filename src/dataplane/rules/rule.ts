/**
 * One dataplane rule (RuleMsg) -> nft rule bodies (Felix's rules/policy.go, in nftables form). Pure.
 *
 * - Rules are rendered per IP family when they match addresses (`ip saddr` vs `ip6 saddr`, `cali40…` vs
 *   `cali60…` sets); a rule whose positive nets have no address of a family is omitted for that family;
 *   rules with no address matches are rendered once, family-independent (with `meta nfproto` only when the
 *   rule names an ipVersion).
 * - Numeric ports and named ports of one side are OR'ed: each alternative becomes its own nft rule with the
 *   same action (named ports match `addr . l4proto . port` against the named-port set).
 * - DNS policy: `dstDomainSetId` is one more match (AND); `dstSelectorDomainSetId` is an alternative to the
 *   destination selector's IP set (the network sets' allowedEgressDomains): a second nft rule, same action,
 *   with the domain set in the selector set's place and every other match kept.
 * - Actions use Felix's mark protocol so that verdicts compose across tiers and across the two endpoint
 *   chains a forwarded packet traverses: Allow sets the accept mark and returns, Pass sets the pass mark and
 *   returns, Deny drops (or rejects), Log logs and continues.
 * - Log writes to the kernel log as Felix does (`log prefix "calico-packet: " level info`) and also to the
 *   NFLOG group LOG_ACTION_NFLOG_GROUP, which can be read from inside a network namespace (the kernel log of
 *   a non-initial namespace is dropped unless a host-wide sysctl says otherwise). logActionRateLimit limits
 *   both; the prefix's %t %k %n %p name the tier, kind, name and namespace/name of the rule's owner.
 * - Flow logs (`flowLogs` on, the caller giving the rule's NFLOG prefix): an Allow, Deny or Pass rule counts
 *   and logs its packets before its verdict, `counter log prefix "<Calico prefix>" group <1|2> snaplen 80`
 *   (Felix's NFLOG rule, in the same nft rule as the verdict). Log rules are unchanged.
 */
import type { PortRangeMsg, RuleMsg } from '../../calc/messages.js';
import { domainSetName, hex, ipSetName, LOG_ACTION_NFLOG_GROUP, MARK_ACCEPT, MARK_PASS } from './names.js';

export interface RuleRenderOptions {
  /** Felix nftablesFilterDenyAction (nftables mode): Drop (default) or Reject. */
  readonly denyAction: 'Drop' | 'Reject';
  /** Felix logPrefix (`calico-packet`); rules/tier.ts and rules/profile.ts replace its specifiers. */
  readonly logPrefix: string;
  /** Felix logActionRateLimit (`<1-9999>/<second|minute|hour|day>`), absent or '' for no limit. */
  readonly logActionRateLimit?: string;
  /** Felix logActionRateLimitBurst (packets, default 5). */
  readonly logActionRateLimitBurst?: number;
  /** Flow logs on: tier, profile and endpoint chains render NFLOG and counters (rules/config.ts). */
  readonly flowLogs?: boolean;
}

/** Where a rule's verdict is logged for flow logs: its Calico NFLOG prefix and group (model/nflog-prefix.ts). */
export interface NflogTarget {
  readonly prefix: string;
  readonly group: number;
}

/** Bytes of each packet an NFLOG message copies: enough for the IP and transport headers. */
export const NFLOG_SNAPLEN = 80;

/** The counting NFLOG statement that goes before a verdict when flow logs are on. */
export function nflogStatement(t: NflogTarget): string {
  return `counter log prefix "${t.prefix}" group ${t.group} snaplen ${NFLOG_SNAPLEN}`;
}

/** Who a rule belongs to, for the log prefix's specifiers. */
export type LogOwner =
  | { readonly kind: 'policy'; readonly id: string; readonly tier: string }
  | { readonly kind: 'profile'; readonly id: string };

/**
 * The log prefix with Felix's specifiers replaced (`%t` tier, `%k` kind short name, `%n` name, `%p`
 * namespace/name or name); policy ids are `<kind>/<name>` or `<kind>/<namespace>/<name>`.
 */
export function expandLogPrefix(template: string, owner: LogOwner): string {
  if (!template.includes('%')) return template;
  let kind = 'pro';
  let name = owner.id;
  let namespace = '';
  if (owner.kind === 'policy') {
    const parts = owner.id.split('/');
    kind = parts[0] ?? '';
    if (parts.length === 3) namespace = parts[1] ?? '';
    name = parts.slice(namespace === '' ? 1 : 2).join('/');
  }
  const values: Readonly<Record<string, string>> = {
    '%t': owner.kind === 'policy' ? owner.tier : '',
    '%k': kind,
    '%n': name,
    '%p': namespace === '' ? name : `${namespace}/${name}`,
  };
  return template.replace(/%[tknp]/g, (s) => values[s] ?? s);
}

/** The kernel keeps 127 bytes of a log prefix. */
const MAX_LOG_PREFIX_BYTES = 127;

/** `<prefix>: ` as a quoted nft string: quotes, backslashes and control characters dropped, cut to fit. */
function logPrefixText(prefix: string): string {
  let text = prefix.replace(/["\\]/g, '').replace(/\p{Cc}/gu, '');
  while (Buffer.byteLength(`${text}: `, 'utf8') > MAX_LOG_PREFIX_BYTES) text = text.slice(0, -1);
  return `"${text}: "`;
}

function logAction(opts: RuleRenderOptions): string {
  const prefix = logPrefixText(opts.logPrefix);
  const limit =
    opts.logActionRateLimit !== undefined && opts.logActionRateLimit !== ''
      ? `limit rate ${opts.logActionRateLimit} burst ${opts.logActionRateLimitBurst ?? 5} packets `
      : '';
  return `${limit}log prefix ${prefix} level info log prefix ${prefix} group ${LOG_ACTION_NFLOG_GROUP}`;
}

export const DEFAULT_RULE_OPTIONS: RuleRenderOptions = { denyAction: 'Drop', logPrefix: 'calico-packet' };

/**
 * Gives a rule's address list (one family) a named set: returns the set's name, or undefined to write the
 * list inline as an anonymous set. Tier chains use it for long merged lists.
 */
export type NetSetNamer = (family: 4 | 6, nets: readonly string[]) => string | undefined;

function familyOf(cidr: string): 4 | 6 {
  return cidr.includes(':') ? 6 : 4;
}

function set(items: readonly string[]): string {
  return items.length === 1 ? (items[0] ?? '') : `{ ${items.join(', ')} }`;
}

function portList(ports: readonly PortRangeMsg[]): string {
  return set(ports.map((p) => (p.first === p.last ? String(p.first) : `${p.first}-${p.last}`)));
}

/**
 * `chain` is where the rule lives: a profile (or standalone policy) chain, where Pass sets the pass mark, or
 * a tier chain, where Pass simply returns to the endpoint chain.
 */
function actionText(
  rule: RuleMsg,
  opts: RuleRenderOptions,
  chain: 'profile' | 'tier',
  nflog: NflogTarget | undefined,
): string {
  const logged = (verdict: string): string =>
    nflog === undefined ? verdict : `${nflogStatement(nflog)} ${verdict}`;
  switch (rule.action) {
    case 'allow':
      return logged(`meta mark set meta mark | ${hex(MARK_ACCEPT)} return`);
    case 'pass':
      return logged(chain === 'tier' ? 'return' : `meta mark set meta mark | ${hex(MARK_PASS)} return`);
    case 'deny':
      return logged(opts.denyAction === 'Reject' ? 'reject with icmpx admin-prohibited' : 'drop');
    case 'log':
      return logAction(opts);
  }
}

interface SideVariant {
  /** Match fragments of this alternative. */
  readonly parts: readonly string[];
}

/** The OR-alternatives of one side: numeric ports (with the selector sets) and each named port. */
function sideVariants(
  dir: 'saddr' | 'daddr',
  f: 4 | 6,
  r: {
    nets: readonly string[];
    notNets: readonly string[];
    ports: readonly PortRangeMsg[];
    notPorts: readonly PortRangeMsg[];
    ipSets: readonly string[];
    notIpSets: readonly string[];
    named: readonly string[];
    notNamed: readonly string[];
    domainSet?: string | undefined;
    /** An alternative to `ipSets` (the selector's set): the selector's network sets' domain set. */
    orDomainSet?: string | undefined;
  },
  namer: NetSetNamer | undefined,
): SideVariant[] {
  const ipw = f === 4 ? 'ip' : 'ip6';
  const th = dir === 'saddr' ? 'th sport' : 'th dport';
  const common: string[] = [];
  const nets = r.nets.filter((n) => familyOf(n) === f);
  const list = (xs: readonly string[]): string => {
    const named = namer?.(f, xs);
    return named !== undefined ? `@${named}` : set(xs);
  };
  if (nets.length > 0) common.push(`${ipw} ${dir} ${list(nets)}`);
  const notNets = r.notNets.filter((n) => familyOf(n) === f);
  if (notNets.length > 0) common.push(`${ipw} ${dir} != ${list(notNets)}`);
  for (const s of r.notIpSets) common.push(`${ipw} ${dir} != @${ipSetName(f, s)}`);
  // DNS policy: the destination must be a learned address of the rule's domains (AND with the rest).
  if (r.domainSet !== undefined) common.push(`${ipw} ${dir} @${domainSetName(f, r.domainSet)}`);
  if (r.notPorts.length > 0) common.push(`${th} != ${portList(r.notPorts)}`);
  for (const s of r.notNamed) common.push(`${ipw} ${dir} . meta l4proto . ${th} != @${ipSetName(f, s)}`);
  const selectorAlternatives = [[...common, ...r.ipSets.map((s) => `${ipw} ${dir} @${ipSetName(f, s)}`)]];
  if (r.orDomainSet !== undefined)
    selectorAlternatives.push([...common, `${ipw} ${dir} @${domainSetName(f, r.orDomainSet)}`]);
  if (r.ports.length === 0 && r.named.length === 0) return selectorAlternatives.map((parts) => ({ parts }));
  const out: SideVariant[] = [];
  if (r.ports.length > 0)
    for (const parts of selectorAlternatives) out.push({ parts: [...parts, `${th} ${portList(r.ports)}`] });
  // Named-port sets are already filtered by the selector (rule scanner), so they stand without it.
  for (const s of r.named)
    out.push({ parts: [...common, `${ipw} ${dir} . meta l4proto . ${th} @${ipSetName(f, s)}`] });
  return out;
}

function usesAddresses(rule: RuleMsg): boolean {
  return (
    rule.srcNets.length +
      rule.notSrcNets.length +
      rule.dstNets.length +
      rule.notDstNets.length +
      rule.srcIpSetIds.length +
      rule.notSrcIpSetIds.length +
      rule.dstIpSetIds.length +
      rule.notDstIpSetIds.length +
      rule.srcNamedPortIpSetIds.length +
      rule.notSrcNamedPortIpSetIds.length +
      rule.dstNamedPortIpSetIds.length +
      rule.notDstNamedPortIpSetIds.length >
      0 || rule.dstDomainSetId !== undefined
  );
}

function icmpParts(rule: RuleMsg, f: 4 | 6 | undefined): string[] | undefined {
  const out: string[] = [];
  const kw = rule.protocol === 58 || (rule.protocol === undefined && f === 6) ? 'icmpv6' : 'icmp';
  if (rule.icmpType !== undefined) {
    out.push(`${kw} type ${rule.icmpType}`);
    if (rule.icmpCode !== undefined) out.push(`${kw} code ${rule.icmpCode}`);
  }
  if (rule.notIcmpType !== undefined) {
    out.push(
      rule.notIcmpCode !== undefined
        ? `${kw} type . ${kw} code != { ${rule.notIcmpType} . ${rule.notIcmpCode} }`
        : `${kw} type != ${rule.notIcmpType}`,
    );
  }
  // ICMP (1) exists only in IPv4 packets, ICMPv6 (58) only in IPv6 ones.
  if (out.length > 0 && f !== undefined && ((kw === 'icmp' && f === 6) || (kw === 'icmpv6' && f === 4)))
    return undefined;
  return out;
}

function renderFamily(
  rule: RuleMsg,
  f: 4 | 6 | undefined,
  opts: RuleRenderOptions,
  chain: 'profile' | 'tier',
  namer: NetSetNamer | undefined,
  nflog: NflogTarget | undefined,
): string[] {
  const head: string[] = [];
  if (f !== undefined && rule.ipVersion !== undefined) head.push(`meta nfproto ${f === 4 ? 'ipv4' : 'ipv6'}`);
  if (rule.protocol !== undefined) head.push(`meta l4proto ${rule.protocol}`);
  if (rule.notProtocol !== undefined) head.push(`meta l4proto != ${rule.notProtocol}`);
  const icmp = icmpParts(rule, f);
  if (icmp === undefined) return [];
  const fam = f ?? 4;
  const src = sideVariants(
    'saddr',
    fam,
    {
      nets: rule.srcNets,
      notNets: rule.notSrcNets,
      ports: rule.srcPorts,
      notPorts: rule.notSrcPorts,
      ipSets: rule.srcIpSetIds,
      notIpSets: rule.notSrcIpSetIds,
      named: rule.srcNamedPortIpSetIds,
      notNamed: rule.notSrcNamedPortIpSetIds,
    },
    namer,
  );
  const dst = sideVariants(
    'daddr',
    fam,
    {
      nets: rule.dstNets,
      notNets: rule.notDstNets,
      ports: rule.dstPorts,
      notPorts: rule.notDstPorts,
      ipSets: rule.dstIpSetIds,
      notIpSets: rule.notDstIpSetIds,
      named: rule.dstNamedPortIpSetIds,
      notNamed: rule.notDstNamedPortIpSetIds,
      domainSet: rule.dstDomainSetId,
      orDomainSet: rule.dstSelectorDomainSetId,
    },
    namer,
  );
  const action = actionText(rule, opts, chain, nflog);
  // In the inet table a per-family variant must not match the other family: when no address match pins it
  // (e.g. only other-family notNets, which were filtered out), it says so itself.
  const family = f === undefined || rule.ipVersion !== undefined ? [] : [`meta nfproto ipv${f}`];
  const out: string[] = [];
  for (const s of src)
    for (const d of dst) {
      const parts = [...s.parts, ...d.parts];
      const pinned = parts.some((p) => p.startsWith('ip ') || p.startsWith('ip6 '));
      out.push([...(pinned ? [] : family), ...head, ...parts, ...icmp, action].join(' '));
    }
  return out;
}

/** nft rule bodies for one rule (possibly several: families and OR-alternatives). */
export function renderRule(
  rule: RuleMsg,
  opts: RuleRenderOptions = DEFAULT_RULE_OPTIONS,
  chain: 'profile' | 'tier' = 'profile',
  namer?: NetSetNamer,
  nflog?: NflogTarget,
): string[] {
  if (!usesAddresses(rule)) {
    if (rule.ipVersion !== undefined) return renderFamily(rule, rule.ipVersion, opts, chain, namer, nflog);
    return renderFamily(rule, undefined, opts, chain, namer, nflog);
  }
  const out: string[] = [];
  for (const f of [4, 6] as const) {
    if (rule.ipVersion !== undefined && rule.ipVersion !== f) continue;
    // A positive nets list with no address of this family cannot match this family.
    if (rule.srcNets.length > 0 && !rule.srcNets.some((n) => familyOf(n) === f)) continue;
    if (rule.dstNets.length > 0 && !rule.dstNets.some((n) => familyOf(n) === f)) continue;
    out.push(...renderFamily(rule, f, opts, chain, namer, nflog));
  }
  return out;
}
