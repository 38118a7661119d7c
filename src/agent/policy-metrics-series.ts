/**
 * Which `felix_policy_*` series a counted NFLOG rule feeds (policy-metrics.ts): its prefix read back with
 * Calico's codec (src/model/nflog-prefix.ts) and the active policies the calc graph sent (a policy's tier
 * is not in its prefix; hashed prefixes resolve through the prefixes those policies render). Pure.
 *
 * Labels, per kind of prefix (what every label holds is in docs/design/flow-logs.md, "pmetrics"):
 *   policy rule   tier=<policy's tier> kind=<gnp|np|knp|...> namespace=<ns or ""> policy=<name> rule_index=<n>
 *   profile rule  tier="__PROFILE__" kind="pro" namespace="" policy=<profile, e.g. kns.default> rule_index=<n>
 *   end of tier   tier=<tier> kind="eot" namespace="" policy="" rule_index="-1" (action deny, or pass for a
 *                 tier of staged policies only)
 *   no profile    tier="__PROFILE__" kind="pro" namespace="" policy="" rule_index="-1" action="deny"
 * plus rule_direction=ingress|egress and action=allow|deny|pass on the rule series.
 */
import type { DataplaneMessage, PolicyMsg, ProfileMsg } from '../calc/messages.js';
import type { NflogRuleCounter } from '../dataplane/managers/policy-counters-parse.js';
import type { CounterSample } from '../dataplane/managers/policy-counters-totals.js';
import {
  hashedPrefixLookup,
  isHashedNflogPrefix,
  ownerNflogPrefixes,
  parseNflogPrefix,
  tierNflogPrefixes,
  type HashedPrefixLookup,
  type NflogDirection,
  type NflogPrefix,
  type NflogRuleAction,
} from '../model/nflog-prefix.js';

/** The tier label of profiles, as Calico's policy traces name it. */
export const PROFILE_TIER = '__PROFILE__';
/** The kind label of an end of tier (no policy of the tier matched). */
export const END_OF_TIER_KIND = 'eot';

export const POLICY_LABELS = ['tier', 'kind', 'namespace', 'policy'] as const;
export const RULE_LABELS = [...POLICY_LABELS, 'rule_index', 'rule_direction', 'action'] as const;

export type PolicyLabels = Record<(typeof POLICY_LABELS)[number], string>;
export type RuleLabels = Record<(typeof RULE_LABELS)[number], string>;

/** Series keys: `r` + the rule labels, `d` + the policy labels (denies only). */
export function ruleSeriesKey(l: RuleLabels): string {
  return JSON.stringify(['r', ...RULE_LABELS.map((k) => l[k])]);
}

export function deniedSeriesKey(l: PolicyLabels): string {
  return JSON.stringify(['d', ...POLICY_LABELS.map((k) => l[k])]);
}

/** The labels a series key stands for. */
export function seriesLabels(
  key: string,
):
  | { readonly kind: 'rule'; readonly labels: RuleLabels }
  | { readonly kind: 'denied'; readonly labels: PolicyLabels } {
  const [tag, ...values] = JSON.parse(key) as string[];
  const labelsOf = <K extends string>(names: readonly K[]): Record<K, string> =>
    Object.fromEntries(names.map((n, i) => [n, values[i] ?? ''])) as Record<K, string>;
  return tag === 'r'
    ? { kind: 'rule', labels: labelsOf(RULE_LABELS) }
    : { kind: 'denied', labels: labelsOf(POLICY_LABELS) };
}

function actionLabel(a: NflogRuleAction): string {
  return a.toLowerCase();
}

/** `gnp/name` → kind gnp, `np/ns/name` → kind np in namespace ns. */
function splitPolicyId(id: string): { kind: string; namespace: string; name: string } | undefined {
  const parts = id.split('/');
  if (parts.length === 2) return { kind: parts[0]!, namespace: '', name: parts[1]! };
  if (parts.length === 3) return { kind: parts[0]!, namespace: parts[1]!, name: parts[2]! };
  return undefined;
}

/** The active policies and profiles, from the calc graph's messages, and what a prefix means with them. */
export class PolicySeriesResolver {
  readonly #policies = new Map<string, PolicyMsg>();
  readonly #profiles = new Map<string, ProfileMsg>();
  #hashed: HashedPrefixLookup | undefined;
  /** Prefixes that resolved to no series (malformed, unknown policy, unknown hashed prefix), cumulative. */
  unresolved = 0;

  onMessages(msgs: readonly DataplaneMessage[]): void {
    for (const m of msgs) {
      if (m.kind === 'activePolicyUpdate') this.#policies.set(m.id, m.policy);
      else if (m.kind === 'activePolicyRemove') this.#policies.delete(m.id);
      else if (m.kind === 'activeProfileUpdate') this.#profiles.set(m.id, m.profile);
      else if (m.kind === 'activeProfileRemove') this.#profiles.delete(m.id);
      else continue;
      this.#hashed = undefined;
    }
  }

  /** One reading's counted rules as samples for MonotonicTotals. */
  samples(rules: readonly NflogRuleCounter[]): CounterSample[] {
    const out: CounterSample[] = [];
    for (const r of rules) {
      const series = this.series(r.prefix, r.direction);
      if (series === undefined) this.unresolved++;
      else out.push({ rule: `${r.chain}#${r.handle}`, series, packets: r.packets, bytes: r.bytes });
    }
    return out;
  }

  /** The series keys of a rule with this prefix, logging to the group of `direction`. */
  series(prefix: string, direction: NflogDirection): string[] | undefined {
    const p = parseNflogPrefix(prefix, isHashedNflogPrefix(prefix) ? this.#hashedLookup() : undefined);
    // A prefix whose direction is not its group's is not one we rendered.
    if (p === undefined || p.direction !== direction) return undefined;
    const labels = this.#labels(p);
    if (labels === undefined) return undefined;
    const keys = [ruleSeriesKey(labels)];
    if (labels.action === 'deny') keys.push(deniedSeriesKey(labels));
    return keys;
  }

  #labels(p: NflogPrefix): RuleLabels | undefined {
    switch (p.kind) {
      case 'rule': {
        const base = {
          rule_index: String(p.ruleIndex),
          rule_direction: p.direction,
          action: actionLabel(p.action),
        };
        if (p.owner === 'profile') {
          if (!this.#profiles.has(p.policyId)) return undefined;
          return { tier: PROFILE_TIER, kind: 'pro', namespace: '', policy: p.policyId, ...base };
        }
        const policy = this.#policies.get(p.policyId);
        const id = splitPolicyId(p.policyId);
        if (policy === undefined || id === undefined) return undefined;
        return { tier: policy.tier, kind: id.kind, namespace: id.namespace, policy: id.name, ...base };
      }
      case 'endOfTier':
        return {
          tier: p.tier,
          kind: END_OF_TIER_KIND,
          namespace: '',
          policy: '',
          rule_index: '-1',
          rule_direction: p.direction,
          action: actionLabel(p.action),
        };
      case 'noProfileMatch':
        return {
          tier: PROFILE_TIER,
          kind: 'pro',
          namespace: '',
          policy: '',
          rule_index: '-1',
          rule_direction: p.direction,
          action: 'deny',
        };
    }
  }

  /** Every prefix the active policies and profiles render, for reading hashed ones back (built on demand). */
  #hashedLookup(): HashedPrefixLookup {
    this.#hashed ??= hashedPrefixLookup(this.#knownPrefixes());
    return this.#hashed;
  }

  *#knownPrefixes(): Generator<NflogPrefix> {
    const tiers = new Set<string>();
    for (const [id, p] of this.#policies) {
      tiers.add(p.tier);
      yield* ownerNflogPrefixes('policy', id, p.inboundRules, p.outboundRules);
    }
    for (const [id, p] of this.#profiles)
      yield* ownerNflogPrefixes('profile', id, p.inboundRules, p.outboundRules);
    for (const tier of tiers) yield* tierNflogPrefixes(tier);
  }
}
