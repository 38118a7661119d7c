/**
 * Identifiers of the backend (Felix) model: policy ids as Felix prints them (`gnp/name`, `np/ns/name`,
 * `knp/ns/name`, ...; felix/types/policy_id.go), profile names generated from Kubernetes namespaces and
 * service accounts, and endpoint keys.
 */

/** Short kind of a policy in the backend model (also what flow logs and chain names use). */
export type PolicyKindShort = 'gnp' | 'np' | 'sgnp' | 'snp' | 'sknp' | 'knp' | 'kanp' | 'kbanp' | 'kcnp';

export interface PolicyKey {
  readonly kind: PolicyKindShort;
  /** Absent for global kinds. */
  readonly namespace?: string;
  readonly name: string;
}

export function policyIdString(k: PolicyKey): string {
  return k.namespace === undefined ? `${k.kind}/${k.name}` : `${k.kind}/${k.namespace}/${k.name}`;
}

/** The name Calico (v3.32, etcd mode) shows for a policy: `knp.default.<name>` for Kubernetes policies, else the name. */
export function policyDisplayName(k: PolicyKey): string {
  if (k.kind === 'knp') return `knp.default.${k.name}`;
  if (k.kind === 'sknp') return `knp.default.${k.name}`;
  // The legacy policy names v3.32 reads back as KubernetesClusterNetworkPolicy (model/policy.go: `kcnp.<name>`);
  // kanp/kbanp (not in v3.32) follow the same form.
  if (k.kind === 'kanp' || k.kind === 'kbanp' || k.kind === 'kcnp') return `${k.kind}.${k.name}`;
  return k.name;
}

/** `<namespace>/<display name>` for namespaced policies, the display name otherwise. */
export function policyQualifiedName(k: PolicyKey): string {
  return k.namespace === undefined ? policyDisplayName(k) : `${k.namespace}/${policyDisplayName(k)}`;
}

/** Human-readable kind for traces: `GlobalNetworkPolicy`, `NetworkPolicy`, ... */
export function policyKindName(kind: PolicyKindShort): string {
  switch (kind) {
    case 'gnp':
      return 'GlobalNetworkPolicy';
    case 'np':
      return 'NetworkPolicy';
    case 'sgnp':
      return 'StagedGlobalNetworkPolicy';
    case 'snp':
      return 'StagedNetworkPolicy';
    case 'sknp':
      return 'StagedKubernetesNetworkPolicy';
    case 'knp':
      return 'KubernetesNetworkPolicy';
    case 'kanp':
      return 'AdminNetworkPolicy';
    case 'kbanp':
      return 'BaselineAdminNetworkPolicy';
    case 'kcnp':
      return 'ClusterNetworkPolicy';
  }
}

export const NAMESPACE_PROFILE_PREFIX = 'kns.';
export const SERVICE_ACCOUNT_PROFILE_PREFIX = 'ksa.';
export const NAMESPACE_LABEL_PREFIX = 'pcns.';
export const SERVICE_ACCOUNT_LABEL_PREFIX = 'pcsa.';
export const LABEL_NAMESPACE = 'projectcalico.org/namespace';
export const LABEL_ORCHESTRATOR = 'projectcalico.org/orchestrator';
export const LABEL_SERVICE_ACCOUNT = 'projectcalico.org/serviceaccount';
export const LABEL_NAME = 'projectcalico.org/name';
export const DEFAULT_ALLOW_PROFILE = 'projectcalico-default-allow';

export function namespaceProfileName(ns: string): string {
  return NAMESPACE_PROFILE_PREFIX + ns;
}

export function serviceAccountProfileName(ns: string, sa: string): string {
  return `${SERVICE_ACCOUNT_PROFILE_PREFIX}${ns === '' ? 'default' : ns}.${sa}`;
}

export type EndpointKey =
  | { readonly kind: 'wep'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'hep'; readonly name: string };

export function endpointKeyString(k: EndpointKey): string {
  return k.kind === 'wep' ? `wep/${k.namespace}/${k.name}` : `hep/${k.name}`;
}

export interface NetworkSetKey {
  readonly namespace?: string;
  readonly name: string;
}

export function networkSetKeyString(k: NetworkSetKey): string {
  return k.namespace === undefined ? `gns/${k.name}` : `ns/${k.namespace}/${k.name}`;
}

/**
 * WorkloadEndpoint name `<node>-<orch>-<pod>-<endpoint>` with every `-` in a segment doubled
 * (libcalico-go/lib/names/workloadendpoint.go).
 */
export function workloadEndpointName(
  node: string,
  orchestrator: string,
  workload: string,
  endpoint: string,
): string {
  const esc = (s: string): string => s.replace(/-/g, '--');
  return [node, orchestrator, workload, endpoint].map(esc).join('-');
}
