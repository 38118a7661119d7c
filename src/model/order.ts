/**
 * Tier and policy ordering (felix/calc/policy_sorter.go, reference §3.3): valid tiers first, then by order
 * (unset = last), ties by name; within a tier by order (unset = last), ties by name, namespace, kind.
 */
import type { ModelPolicy, ModelTier } from '../model/types.js';

export interface TierPlan {
  readonly tier: ModelTier;
  /** False when no Tier resource exists for the name: sorted after valid tiers, default action Deny. */
  readonly valid: boolean;
  readonly policies: readonly ModelPolicy[];
}

function cmpOrder(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a - b;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function comparePolicies(a: ModelPolicy, b: ModelPolicy): number {
  return (
    cmpOrder(a.order, b.order) ||
    cmpStr(a.key.name, b.key.name) ||
    cmpStr(a.key.namespace ?? '', b.key.namespace ?? '') ||
    cmpStr(a.key.kind, b.key.kind)
  );
}

export function compareTierPlans(a: TierPlan, b: TierPlan): number {
  if (a.valid !== b.valid) return a.valid ? -1 : 1;
  return cmpOrder(a.tier.order, b.tier.order) || cmpStr(a.tier.name, b.tier.name);
}

/** Groups policies by tier and sorts both levels. */
export function orderPolicies(
  policies: readonly ModelPolicy[],
  tiers: ReadonlyMap<string, ModelTier>,
): TierPlan[] {
  const byTier = new Map<string, ModelPolicy[]>();
  for (const p of policies) {
    const list = byTier.get(p.tier);
    if (list === undefined) byTier.set(p.tier, [p]);
    else list.push(p);
  }
  const plans: TierPlan[] = [];
  for (const [name, list] of byTier) {
    const tier = tiers.get(name);
    plans.push({
      tier: tier ?? { name, order: undefined, defaultAction: 'deny' },
      valid: tier !== undefined,
      policies: [...list].sort(comparePolicies),
    });
  }
  return plans.sort(compareTierPlans);
}
