/**
 * NetworkSet (namespaced) and GlobalNetworkSet (cluster-scoped): a labelled list of CIDRs. The label
 * `projectcalico.org/namespace` is reserved for Calico (reference §1.4).
 */
import { calicoKind } from '../codec.js';
import { checked, type Issues, list, opt, struct } from '../decoder.js';
import { checkDomainPattern, MAX_DOMAINS } from '../domains.js';
import type { ObjectMeta } from '../meta.js';
import { checkSubdomain } from '../names.js';
import { cidrField } from '../net-fields.js';
import type { NetworkSetSpec } from './misc.js';

export const NAMESPACE_LABEL = 'projectcalico.org/namespace';

const networkSetSpec = struct<NetworkSetSpec>({
  nets: opt(list(cidrField)),
  allowedEgressDomains: opt(list(checked(checkDomainPattern), { maxItems: MAX_DOMAINS, unique: true })),
});

function checkReservedLabel(metadata: ObjectMeta, _spec: NetworkSetSpec, issues: Issues): void {
  if (metadata.labels !== undefined && NAMESPACE_LABEL in metadata.labels) {
    issues.add(
      `metadata.labels["${NAMESPACE_LABEL}"]`,
      `label ${JSON.stringify(NAMESPACE_LABEL)} is reserved for Calico and may not be set`,
    );
  }
}

export const networkSetCodec = calicoKind({
  kind: 'NetworkSet',
  checkName: (name) => checkSubdomain(name),
  spec: networkSetSpec,
  check: checkReservedLabel,
});

export const globalNetworkSetCodec = calicoKind({
  kind: 'GlobalNetworkSet',
  checkName: (name) => checkSubdomain(name),
  spec: networkSetSpec,
  check: checkReservedLabel,
});
