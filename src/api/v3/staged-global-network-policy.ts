/**
 * StagedGlobalNetworkPolicy (projectcalico.org/v3, cluster-scoped): a GlobalNetworkPolicy plus
 * `stagedAction` (default Set). With stagedAction Delete every other field but the tier must be empty.
 */
import { calicoKind } from '../codec.js';
import { refine, struct, withDefault } from '../decoder.js';
import { checkGlobalNetworkPolicyName } from '../names.js';
import { globalPolicySpecFields } from './global-network-policy.js';
import type { StagedGlobalNetworkPolicySpec } from './policy.js';
import {
  checkGlobalPolicyFlags,
  checkStagedDelete,
  stagedActionField,
  withTierLabel,
} from './policy-codec.js';

export const stagedGlobalNetworkPolicyCodec = calicoKind<
  'StagedGlobalNetworkPolicy',
  StagedGlobalNetworkPolicySpec
>({
  kind: 'StagedGlobalNetworkPolicy',
  checkName: checkGlobalNetworkPolicyName,
  spec: refine(
    struct<StagedGlobalNetworkPolicySpec>({
      stagedAction: withDefault(stagedActionField, 'Set'),
      ...globalPolicySpecFields,
    }),
    (spec, _path, issues) => {
      if (spec.stagedAction === 'Delete') {
        checkStagedDelete(spec, issues, ['stagedAction', 'tier']);
        return;
      }
      checkGlobalPolicyFlags(spec, issues);
    },
  ),
  defaults: (metadata, spec) => ({ metadata: withTierLabel(metadata, spec.tier), spec }),
});
