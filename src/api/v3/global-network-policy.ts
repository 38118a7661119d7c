/** GlobalNetworkPolicy (projectcalico.org/v3, cluster-scoped): decoding, validation and defaults. */
import { calicoKind } from '../codec.js';
import { refine, struct } from '../decoder.js';
import { checkGlobalNetworkPolicyName } from '../names.js';
import type { GlobalNetworkPolicySpec } from './policy.js';
import { checkGlobalPolicyFlags, commonHead, commonTail, globalOnly, withTierLabel } from './policy-codec.js';

/** Spec fields in Calico's JSON order. */
export const globalPolicySpecFields = {
  ...commonHead('global'),
  doNotTrack: globalOnly.doNotTrack,
  preDNAT: globalOnly.preDNAT,
  applyOnForward: globalOnly.applyOnForward,
  serviceAccountSelector: commonTail.serviceAccountSelector,
  namespaceSelector: globalOnly.namespaceSelector,
  performanceHints: commonTail.performanceHints,
};

export const globalNetworkPolicyCodec = calicoKind<'GlobalNetworkPolicy', GlobalNetworkPolicySpec>({
  kind: 'GlobalNetworkPolicy',
  checkName: checkGlobalNetworkPolicyName,
  spec: refine(struct<GlobalNetworkPolicySpec>(globalPolicySpecFields), (spec, _path, issues) => {
    checkGlobalPolicyFlags(spec, issues);
  }),
  defaults: (metadata, spec) => ({ metadata: withTierLabel(metadata, spec.tier), spec }),
});
