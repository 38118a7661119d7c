/**
 * Policy traces of flow records (Goldmane's PolicyHit, src/flows/types.ts), three ways:
 *
 * - the string form Felix and Goldmane exchange (goldmane/proto/methods.go):
 *   `<policy_index>|<tier>|<kind short>:[<namespace>/]<name>|<action>|<rule_index>`; profiles have tier
 *   `__PROFILE__` (empty in the message) and kind `pro`; an end of tier has rule index -1 and names its trigger;
 * - from the kernel: the NFLOG prefixes one packet logged, in order (traceFromNflog), read as Felix's
 *   collector reads them (felix/collector/stats.go RuleTrace.Path, calc/endpoint_lookup_cache.go);
 * - from the reference evaluator: its Decision's path (tracesFromDecision), enforced and pending.
 *
 * An end of tier's trigger is what Felix uses (TierDefaultActionRuleID): the LAST enforced policy of the tier
 * that selects the endpoint for that direction (the pending trace: the last one, staged included). Pure.
 */
import type { NflogPrefix } from '../model/nflog-prefix.js';
import type { Decider, Direction, DirectionTrace } from '../policy/trace.js';
import type { Action, PolicyHit, PolicyKind } from './types.js';

/** The tier of profile hits in the string form. */
export const PROFILE_TIER = '__PROFILE__';
/** The name of the "no profile matched" hit (Felix's NoMatchNameStr). */
export const NO_MATCH_NAME = '__NO_MATCH__';

/** Felix's short kinds (felix/types/policy_id.go), as policy ids, NFLOG prefixes and hit strings spell them. */
export type FelixKindShort =
  'gnp' | 'np' | 'knp' | 'snp' | 'sgnp' | 'sknp' | 'kanp' | 'kbanp' | 'kcnp' | 'pro';

const KIND_OF_SHORT: Readonly<Record<FelixKindShort, PolicyKind>> = {
  gnp: 'GlobalNetworkPolicy',
  np: 'CalicoNetworkPolicy',
  knp: 'NetworkPolicy',
  snp: 'StagedNetworkPolicy',
  sgnp: 'StagedGlobalNetworkPolicy',
  sknp: 'StagedKubernetesNetworkPolicy',
  kanp: 'AdminNetworkPolicy',
  kbanp: 'BaselineAdminNetworkPolicy',
  kcnp: 'ClusterNetworkPolicy',
  pro: 'Profile',
};

export function policyKindOfShort(short: string): PolicyKind | undefined {
  return Object.hasOwn(KIND_OF_SHORT, short) ? KIND_OF_SHORT[short as FelixKindShort] : undefined;
}

export function shortOfPolicyKind(kind: PolicyKind): FelixKindShort | undefined {
  for (const [s, k] of Object.entries(KIND_OF_SHORT)) if (k === kind) return s as FelixKindShort;
  return undefined;
}

const GLOBAL_KINDS: ReadonlySet<PolicyKind> = new Set([
  'GlobalNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'AdminNetworkPolicy',
  'BaselineAdminNetworkPolicy',
  'ClusterNetworkPolicy',
]);
const NAMESPACED_KINDS: ReadonlySet<PolicyKind> = new Set([
  'CalicoNetworkPolicy',
  'NetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'StagedNetworkPolicy',
]);

export function isStagedKind(kind: PolicyKind): boolean {
  return (
    kind === 'StagedNetworkPolicy' ||
    kind === 'StagedGlobalNetworkPolicy' ||
    kind === 'StagedKubernetesNetworkPolicy'
  );
}

function hit(fields: Partial<PolicyHit> & Pick<PolicyHit, 'kind' | 'name'>): PolicyHit {
  return {
    namespace: '',
    tier: '',
    action: 'ActionUnspecified',
    policy_index: 0,
    rule_index: 0,
    trigger: null,
    ...fields,
  };
}

/** A policy named by its Felix id (`gnp/name`, `np/ns/name`, ...): kind, namespace ('' if global) and name. */
export function policyFromId(id: string): { kind: PolicyKind; namespace: string; name: string } | undefined {
  const parts = id.split('/');
  const kind = policyKindOfShort(parts[0] ?? '');
  if (kind === undefined || kind === 'Profile') return undefined;
  if (parts.length === 2 && GLOBAL_KINDS.has(kind) && parts[1] !== '')
    return { kind, namespace: '', name: parts[1] ?? '' };
  if (parts.length === 3 && NAMESPACED_KINDS.has(kind) && parts[1] !== '' && parts[2] !== '')
    return { kind, namespace: parts[1] ?? '', name: parts[2] ?? '' };
  return undefined;
}

function namePart(h: PolicyHit): string {
  const short = shortOfPolicyKind(h.kind);
  if (short === undefined) throw new Error(`policy hit: unexpected policy kind ${h.kind}`);
  return h.namespace === '' ? `${short}:${h.name}` : `${short}:${h.namespace}/${h.name}`;
}

/** The string form (Goldmane's PolicyHit.ToString); throws on a hit Goldmane would refuse. */
export function hitToString(h: PolicyHit): string {
  if (GLOBAL_KINDS.has(h.kind) && h.namespace !== '')
    throw new Error(`policy hit: unexpected namespace for global policy ${h.name}`);
  if (NAMESPACED_KINDS.has(h.kind) && h.namespace === '')
    throw new Error(`policy hit: missing namespace for namespaced policy ${h.name}`);
  let name: string;
  if (h.kind === 'EndOfTier') {
    if (h.trigger === null) throw new Error(`policy hit: EndOfTier hit of tier ${h.tier} missing trigger`);
    name = namePart(h.trigger);
  } else name = namePart(h);
  const tier = h.kind === 'Profile' ? PROFILE_TIER : h.tier;
  const action = h.action === 'ActionUnspecified' ? 'actionunspecified' : h.action.toLowerCase();
  return `${h.policy_index}|${tier}|${name}|${action}|${h.rule_index}`;
}

const ACTION_OF: Readonly<Record<string, Action>> = { allow: 'Allow', deny: 'Deny', pass: 'Pass' };
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const INTEGER = /^-?(0|[1-9][0-9]*)$/;

/** Reads the string form (Goldmane's HitFromString); throws naming what is wrong. */
export function hitFromString(s: string): PolicyHit {
  const parts = s.split('|');
  if (parts.length !== 5) throw new Error(`unexpected policy label format: ${s}`);
  const [idx, tierText, namePartText, actionText, ruleText] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (!INTEGER.test(idx)) throw new Error(`policy hit ${s}: policy index ${idx} is not an integer`);
  const action = ACTION_OF[actionText.toLowerCase()];
  if (action === undefined) throw new Error(`policy hit ${s}: unexpected action: ${actionText}`);
  if (!INTEGER.test(ruleText)) throw new Error(`policy hit ${s}: rule index ${ruleText} is not an integer`);
  const colon = namePartText.indexOf(':');
  const kind = policyKindOfShort(colon < 0 ? namePartText : namePartText.slice(0, colon));
  if (kind === undefined || colon < 0)
    throw new Error(`unexpected policy kind in name part: ${namePartText}`);
  const nameParts = namePartText.slice(colon + 1).split('/');
  const [first = '', second] = nameParts;
  const namespace = nameParts.length === 2 ? first : '';
  const name = nameParts.length === 1 ? first : nameParts.length === 2 ? (second ?? '') : '';
  if (name === '' || !DNS_NAME.test(name)) throw new Error(`policy hit ${s}: invalid name: ${namePartText}`);
  if (namespace !== '' && !DNS_NAME.test(namespace))
    throw new Error(`policy hit ${s}: invalid namespace: ${namespace}`);
  if (tierText === '') throw new Error(`policy hit ${s}: tier is required`);
  if (tierText !== PROFILE_TIER && !DNS_NAME.test(tierText))
    throw new Error(`policy hit ${s}: invalid tier: ${tierText}`);
  const tier = tierText === PROFILE_TIER ? '' : tierText;
  const policyIndex = Number(idx);
  const ruleIndex = Number(ruleText);
  if (ruleIndex === -1)
    return hit({
      kind: 'EndOfTier',
      name: '',
      tier,
      action,
      rule_index: -1,
      policy_index: policyIndex,
      trigger: hit({ kind, name, namespace, tier }),
    });
  return hit({ kind, name, namespace, tier, action, rule_index: ruleIndex, policy_index: policyIndex });
}

/** What traceFromNflog needs to know about the endpoint whose policy logged (one direction). */
export interface NflogTraceContext {
  /** The tier of a policy of the endpoint, by Felix id. */
  tierOf(policyId: string): string | undefined;
  /** The policy a tier's end names as trigger; undefined when no enforced policy of the tier applies. */
  endOfTierTrigger(tier: string): string | undefined;
}

/**
 * The context from the endpoint's tiers for one direction, as the dataplane has them (calc TierInfo's
 * `ingressPolicies` / `egressPolicies`: enforced policy ids in order; staged ones are not programmed).
 */
export function nflogTraceContext(
  tiers: readonly { readonly name: string; readonly policyIds: readonly string[] }[],
): NflogTraceContext {
  const tierOf = new Map<string, string>();
  const trigger = new Map<string, string>();
  for (const t of tiers) {
    for (const id of t.policyIds) tierOf.set(id, t.name);
    const last = t.policyIds[t.policyIds.length - 1];
    if (last !== undefined) trigger.set(t.name, last);
  }
  return { tierOf: (id) => tierOf.get(id), endOfTierTrigger: (tier) => trigger.get(tier) };
}

function endOfTier(tier: string, action: Action, triggerId: string, index: number): PolicyHit | undefined {
  const p = policyFromId(triggerId);
  if (p === undefined) return undefined;
  return hit({
    kind: 'EndOfTier',
    name: '',
    tier,
    action,
    rule_index: -1,
    policy_index: index,
    trigger: hit({ ...p, tier }),
  });
}

function profileHit(name: string, action: Action, ruleIndex: number, index: number): PolicyHit {
  return hit({ kind: 'Profile', name, action, rule_index: ruleIndex, policy_index: index });
}

/**
 * The enforced trace of one packet from the NFLOG prefixes it logged, in kernel order (one direction). It
 * ends at the first verdict (Allow or Deny: a rule, a tier's end, a profile, no profile matched); later
 * prefixes (another packet's) are ignored. As in Felix: after a policy's hit the rest of its tier is skipped,
 * a tier's end Pass with no enforced policy (a tier of staged policies only) is bookkeeping and left out, and
 * prefixes of unknown policies are skipped. policy_index is the position in the trace.
 */
export function traceFromNflog(prefixes: readonly NflogPrefix[], ctx: NflogTraceContext): PolicyHit[] {
  const out: PolicyHit[] = [];
  const decidedTiers = new Set<string>();
  for (const p of prefixes) {
    const index = out.length;
    switch (p.kind) {
      case 'rule': {
        if (p.owner === 'profile') {
          out.push(profileHit(p.policyId, p.action, p.ruleIndex, index));
          if (p.action !== 'Pass') return out;
          continue;
        }
        const tier = ctx.tierOf(p.policyId);
        const pol = policyFromId(p.policyId);
        if (tier === undefined || pol === undefined || decidedTiers.has(tier)) continue;
        decidedTiers.add(tier);
        out.push(hit({ ...pol, tier, action: p.action, rule_index: p.ruleIndex, policy_index: index }));
        if (p.action !== 'Pass') return out;
        continue;
      }
      case 'endOfTier': {
        const trigger = ctx.endOfTierTrigger(p.tier);
        if (trigger === undefined || decidedTiers.has(p.tier)) continue;
        decidedTiers.add(p.tier);
        const h = endOfTier(p.tier, p.action, trigger, index);
        if (h !== undefined) out.push(h);
        if (p.action === 'Deny') return out;
        continue;
      }
      case 'noProfileMatch':
        out.push(profileHit(NO_MATCH_NAME, 'Deny', 0, index));
        return out;
    }
  }
  return out;
}

function deciderHits(
  by: Decider,
  lastTierIds: ReadonlyMap<string, readonly string[]>,
  index: number,
): PolicyHit[] {
  switch (by.kind) {
    case 'endOfTier': {
      const trigger = lastTierIds.get(by.tier)?.at(-1);
      const h = trigger === undefined ? undefined : endOfTier(by.tier, 'Deny', trigger, index);
      return h === undefined ? [] : [h];
    }
    case 'profile':
      return [profileHit(by.profile, by.action, by.ruleIndex, index)];
    case 'noProfileAllowed':
      return [profileHit(NO_MATCH_NAME, 'Deny', 0, index)];
    case 'rule': // its hit is on the path already
    case 'failsafe':
    case 'endpointToHost':
    case 'hostToLocalWorkload':
    case 'forwardDefault':
      return [];
  }
}

/**
 * One direction's trace of the evaluator as Felix's flow logs show it: the normal-stage policy only
 * (untracked, preDNAT and forwarded-traffic policy are not flow-logged here), Log hits left out.
 */
export function traceFromDirection(t: DirectionTrace | undefined): PolicyHit[] {
  if (t === undefined || t.stage === 'forward') return [];
  const out: PolicyHit[] = [];
  const tierIds = new Map<string, readonly string[]>();
  let normal = false;
  for (const ev of t.path) {
    switch (ev.kind) {
      case 'tier':
        normal = ev.stage === 'normal';
        if (normal) tierIds.set(ev.tier, ev.policyIds);
        break;
      case 'hit': {
        if (!normal || ev.hit.action === 'Log') break;
        const pol = policyFromId(ev.hit.policyId);
        if (pol === undefined) break;
        out.push(
          hit({
            ...pol,
            tier: ev.hit.tier,
            action: ev.hit.action,
            rule_index: ev.hit.ruleIndex,
            policy_index: out.length,
          }),
        );
        break;
      }
      case 'tierPass': {
        const trigger = tierIds.get(ev.tier)?.at(-1);
        if (!normal || ev.reason !== 'defaultActionPass' || trigger === undefined) break;
        const h = endOfTier(ev.tier, 'Pass', trigger, out.length);
        if (h !== undefined) out.push(h);
        break;
      }
      case 'profiles':
      case 'profileLog':
      case 'missingProfile':
      case 'stageFrom':
      case 'failsafeSkip':
        break;
    }
  }
  if (t.decidedBy.kind === 'rule' && t.decidedBy.stage !== 'normal') return [];
  return [...out, ...deciderHits(t.decidedBy, tierIds, out.length)];
}

/** The enforced and pending traces of one direction of the evaluator's Decision (src/policy/trace.ts). */
export function tracesFromDecision(
  decision: {
    readonly ingress?: DirectionTrace;
    readonly egress?: DirectionTrace;
    readonly pending: { readonly ingress?: DirectionTrace; readonly egress?: DirectionTrace };
  },
  direction: Direction,
): { enforced: PolicyHit[]; pending: PolicyHit[] } {
  return {
    enforced: traceFromDirection(decision[direction]),
    pending: traceFromDirection(decision.pending[direction]),
  };
}
