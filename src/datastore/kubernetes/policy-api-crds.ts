/**
 * The upstream kubernetes-sigs/network-policy-api CustomResourceDefinitions (group
 * `policy.networking.k8s.io`): AdminNetworkPolicy and BaselineAdminNetworkPolicy (v1alpha1) and
 * ClusterNetworkPolicy (v1alpha2, short name `cnp`), cluster-scoped with the `status` subresource, as the
 * upstream CRDs declare them. KDD reads and writes these objects as they are (kinds.ts); their `spec`
 * schemas are generated from calico-ts's decoders (src/api/k8s/admin-network-policy.ts,
 * cluster-network-policy.ts), which still validate what is read (the syncer's validation filter). Pure.
 */
import { K8S_POLICY_V1ALPHA1_API_VERSION, K8S_POLICY_V1ALPHA2_API_VERSION } from '../../api/meta.js';
import { codecFor } from '../../api/registry.js';
import { BugError } from '../../lib/errors.js';
import type { CustomResourceDefinition } from './crd-definitions.js';
import { structural } from './crd-schemas.js';

export const POLICY_API_GROUP = 'policy.networking.k8s.io';

const OPEN_OBJECT = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } as const;

interface PolicyApiCrd {
  readonly kind: string;
  readonly plural: string;
  readonly apiVersion: string;
  readonly shortNames: readonly string[];
}

const KINDS: readonly PolicyApiCrd[] = [
  {
    kind: 'AdminNetworkPolicy',
    plural: 'adminnetworkpolicies',
    apiVersion: K8S_POLICY_V1ALPHA1_API_VERSION,
    shortNames: ['anp'],
  },
  {
    kind: 'BaselineAdminNetworkPolicy',
    plural: 'baselineadminnetworkpolicies',
    apiVersion: K8S_POLICY_V1ALPHA1_API_VERSION,
    shortNames: ['banp'],
  },
  {
    kind: 'ClusterNetworkPolicy',
    plural: 'clusternetworkpolicies',
    apiVersion: K8S_POLICY_V1ALPHA2_API_VERSION,
    shortNames: ['cnp'],
  },
];

function definition(k: PolicyApiCrd): CustomResourceDefinition {
  const spec = codecFor(k.apiVersion, k.kind)?.specSchema;
  if (spec === undefined) throw new BugError(`no decoder schema for ${k.kind}`);
  const version = k.apiVersion.slice(POLICY_API_GROUP.length + 1);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${POLICY_API_GROUP}` },
    spec: {
      group: POLICY_API_GROUP,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.kind.toLowerCase(),
        shortNames: k.shortNames,
      },
      scope: 'Cluster',
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: structural(spec),
                status: { ...OPEN_OBJECT },
              },
              required: ['metadata', 'spec'],
            },
          },
          subresources: { status: {} },
        },
      ],
    },
  };
}

/** The three network-policy-api CRDs (fresh objects on each call). */
export function policyApiCrds(): CustomResourceDefinition[] {
  return KINDS.map(definition);
}
