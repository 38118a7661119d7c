/**
 * Tier (projectcalico.org/v3, cluster-scoped): name is a single DNS label; `defaultAction` defaults to
 * Deny; the built-in tiers must keep their order and default action (reference §1.3).
 */
import { calicoKind } from '../codec.js';
import { num, oneOf, opt, show, struct, withDefault } from '../decoder.js';
import { checkDnsLabel } from '../names.js';
import type { TierSpec } from './misc.js';

/** The tiers Calico creates itself, with the order and default action each must keep. */
export const BUILT_IN_TIER_RULES: Readonly<
  Record<string, { order: number; defaultAction: 'Deny' | 'Pass' }>
> = {
  default: { order: 1_000_000, defaultAction: 'Deny' },
  'kube-admin': { order: 1_000, defaultAction: 'Pass' },
  'kube-baseline': { order: 10_000_000, defaultAction: 'Pass' },
};

export const tierCodec = calicoKind({
  kind: 'Tier',
  checkName: (name) => checkDnsLabel(name),
  spec: struct<TierSpec>({
    order: opt(num),
    defaultAction: withDefault(oneOf(['Deny', 'Pass'], 'defaultAction'), 'Deny'),
  }),
  check: (metadata, spec, issues) => {
    const rule = BUILT_IN_TIER_RULES[metadata.name];
    if (rule === undefined) return;
    if (spec.order !== rule.order) {
      issues.add(
        'spec.order',
        `tier ${show(metadata.name)} must have order ${rule.order} (got ${spec.order === undefined ? 'none' : spec.order})`,
      );
    }
    if (spec.defaultAction !== undefined && spec.defaultAction !== rule.defaultAction) {
      issues.add(
        'spec.defaultAction',
        `tier ${show(metadata.name)} must have defaultAction ${rule.defaultAction} (got ${show(spec.defaultAction)})`,
      );
    }
  },
  // A status (conditions) is written by the tier controller, never by users: accepted and dropped.
  ignoredTopLevel: ['status'],
});
