/**
 * Profile (projectcalico.org/v3, cluster-scoped): rules applied after policy, and labels inherited by the
 * endpoints that reference the profile (reference §1.7).
 */
import { calicoKind } from '../codec.js';
import { opt, struct } from '../decoder.js';
import { checkSubdomain } from '../names.js';
import { labelsField } from '../object-meta.js';
import type { ProfileSpec } from './misc.js';
import { rulesField } from './rule-codec.js';

export const profileCodec = calicoKind({
  kind: 'Profile',
  checkName: (name) => checkSubdomain(name),
  spec: struct<ProfileSpec>({
    ingress: opt(rulesField({ direction: 'ingress', scope: 'profile' })),
    egress: opt(rulesField({ direction: 'egress', scope: 'profile' })),
    labelsToApply: opt(labelsField),
  }),
});
