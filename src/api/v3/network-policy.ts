/** NetworkPolicy (projectcalico.org/v3, namespaced): decoding, validation and defaults. */
import { calicoKind } from '../codec.js';
import { struct } from '../decoder.js';
import { checkNetworkPolicyName } from '../names.js';
import type { NetworkPolicySpec } from './policy.js';
import { commonHead, commonTail, withTierLabel } from './policy-codec.js';

/** Spec fields in Calico's JSON order. */
export const policySpecFields = { ...commonHead('namespaced'), ...commonTail };

export const networkPolicyCodec = calicoKind<'NetworkPolicy', NetworkPolicySpec>({
  kind: 'NetworkPolicy',
  checkName: checkNetworkPolicyName,
  spec: struct<NetworkPolicySpec>(policySpecFields),
  defaults: (metadata, spec) => ({ metadata: withTierLabel(metadata, spec.tier), spec }),
});
