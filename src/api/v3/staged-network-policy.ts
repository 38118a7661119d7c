/**
 * StagedNetworkPolicy (projectcalico.org/v3, namespaced): a NetworkPolicy plus `stagedAction` (default
 * Set). With stagedAction Delete every other field but the tier must be empty.
 */
import { calicoKind } from '../codec.js';
import { refine, show, struct, withDefault } from '../decoder.js';
import { checkNetworkPolicyName } from '../names.js';
import { policySpecFields } from './network-policy.js';
import type { StagedNetworkPolicySpec } from './policy.js';
import { checkStagedDelete, stagedActionField, withTierLabel } from './policy-codec.js';

/** Names Calico reserves for Kubernetes policies; a staged policy may not take them. */
const KNP_PREFIX = 'knp.default.';

export const stagedNetworkPolicyCodec = calicoKind<'StagedNetworkPolicy', StagedNetworkPolicySpec>({
  kind: 'StagedNetworkPolicy',
  checkName: (name) =>
    name.startsWith(KNP_PREFIX)
      ? `invalid name ${show(name)}: the prefix "${KNP_PREFIX}" is reserved for Kubernetes network policies`
      : checkNetworkPolicyName(name),
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
