/**
 * StagedNetworkPolicy (projectcalico.org/v3, namespaced): a NetworkPolicy plus `stagedAction` (default
 * Set). With stagedAction Delete every other field but the tier must be empty. Names follow the
 * NetworkPolicy rule; Calico v3.32 no longer reserves `knp.default.` for staged policies.
 */
import { calicoKind } from '../codec.js';
import { refine, struct, withDefault } from '../decoder.js';
import { checkNetworkPolicyName } from '../names.js';
import { policySpecFields } from './network-policy.js';
import type { StagedNetworkPolicySpec } from './policy.js';
import { checkStagedDelete, stagedActionField, withTierLabel } from './policy-codec.js';

export const stagedNetworkPolicyCodec = calicoKind<'StagedNetworkPolicy', StagedNetworkPolicySpec>({
  kind: 'StagedNetworkPolicy',
  checkName: checkNetworkPolicyName,
  spec: refine(
    struct<StagedNetworkPolicySpec>({
      stagedAction: withDefault(stagedActionField, 'Set'),
      ...policySpecFields,
    }),
    (spec, _path, issues) => {
      if (spec.stagedAction === 'Delete') checkStagedDelete(spec, issues, ['stagedAction', 'tier']);
    },
  ),
  defaults: (metadata, spec) => ({ metadata: withTierLabel(metadata, spec.tier), spec }),
});
