/**
 * StagedKubernetesNetworkPolicy (projectcalico.org/v3, namespaced): `stagedAction` (default Set) plus a
 * Kubernetes NetworkPolicy spec, validated with the Kubernetes rules. With stagedAction Delete every
 * other field must be empty.
 */
import { calicoKind } from '../codec.js';
import { refine, struct, withDefault } from '../decoder.js';
import { k8sPolicySpecFields } from '../k8s/network-policy.js';
import type { StagedKubernetesNetworkPolicySpec } from '../k8s/types.js';
import { checkSubdomain } from '../names.js';
import { checkStagedDelete, stagedActionField } from './policy-codec.js';

export const stagedKubernetesNetworkPolicyCodec = calicoKind({
  kind: 'StagedKubernetesNetworkPolicy',
  checkName: (name) => checkSubdomain(name),
  spec: refine(
    struct<StagedKubernetesNetworkPolicySpec>({
      stagedAction: withDefault(stagedActionField, 'Set'),
      ...k8sPolicySpecFields,
    }),
    (spec, _path, issues) => {
      if (spec.stagedAction === 'Delete') checkStagedDelete(spec, issues, ['stagedAction']);
    },
  ),
});
