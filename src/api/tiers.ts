/**
 * The resources Calico creates itself (reference §1.0): the protected tiers `kube-admin` (order 1000,
 * Pass), `default` (1,000,000, Deny) and `kube-baseline` (10,000,000, Pass), and the read-only
 * `projectcalico-default-allow` profile. Functions return fresh objects, so callers may keep or change them.
 */
import { BugError } from '../lib/errors.js';
import { CALICO_API_VERSION } from './meta.js';
import type { Profile, Tier } from './v3/misc.js';
import { DEFAULT_TIER } from './v3/policy-codec.js';
import { BUILT_IN_TIER_RULES } from './v3/tier.js';

export const DEFAULT_TIER_NAME = DEFAULT_TIER;
export const KUBE_ADMIN_TIER_NAME = 'kube-admin';
export const KUBE_BASELINE_TIER_NAME = 'kube-baseline';
export const DEFAULT_ALLOW_PROFILE_NAME = 'projectcalico-default-allow';

/** Names of the tiers that always exist and cannot be deleted, in tier order. */
export const BUILT_IN_TIER_NAMES: readonly string[] = [
  KUBE_ADMIN_TIER_NAME,
  DEFAULT_TIER_NAME,
  KUBE_BASELINE_TIER_NAME,
];

export function isBuiltInTier(name: string): boolean {
  return BUILT_IN_TIER_NAMES.includes(name);
}

function tier(name: string): Tier {
  const rule = BUILT_IN_TIER_RULES[name];
  if (rule === undefined) throw new BugError(`not a built-in tier: ${name}`);
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Tier',
    metadata: { name },
    spec: { order: rule.order, defaultAction: rule.defaultAction },
  };
}

/** The built-in tiers, in tier order (kube-admin, default, kube-baseline). */
export function builtInTiers(): Tier[] {
  return BUILT_IN_TIER_NAMES.map(tier);
}

/** The profile that allows everything in both directions (used by auto host endpoints). */
export function defaultAllowProfile(): Profile {
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Profile',
    metadata: { name: DEFAULT_ALLOW_PROFILE_NAME },
    spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
  };
}
