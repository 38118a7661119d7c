/**
 * Policy update processors: every policy kind -> ModelPolicy (reference §3.1, §3.5, §3.6).
 * Staged policies become model policies with `staged: true` (evaluated, never enforced), except stagedAction
 * `Delete`, which Calico does not send to Felix at all.
 */
import type { K8sNetworkPolicy, StagedKubernetesNetworkPolicy } from '../api/k8s/types.js';
import type {
  GlobalNetworkPolicy,
  GlobalNetworkPolicySpec,
  NetworkPolicy,
  NetworkPolicySpec,
  StagedGlobalNetworkPolicy,
  StagedNetworkPolicy,
} from '../api/v3/policy.js';
import type { PolicyType } from '../api/v3/rule.js';
import type { ConvertedAdminPolicy } from './admin-policy.js';
import type { PolicyKey } from './ids.js';
import { k8sNetworkPolicyToCalico } from './k8s-policy.js';
import { toModelRules } from './rules.js';
import { backendSelector, globalPolicySelector, namespacedPolicySelector } from './selectors.js';
import type { ModelPolicy } from './types.js';

export type PolicyResource =
  | GlobalNetworkPolicy
  | NetworkPolicy
  | StagedGlobalNetworkPolicy
  | StagedNetworkPolicy
  | K8sNetworkPolicy
  | StagedKubernetesNetworkPolicy;

/** Calico's defaulting of `types` (used when a resource did not go through API defaulting). */
export function inferTypes(spec: NetworkPolicySpec): PolicyType[] {
  if (spec.types !== undefined && spec.types.length > 0) return spec.types;
  const hasEgress = (spec.egress ?? []).length > 0;
  const hasIngress = (spec.ingress ?? []).length > 0;
  if (!hasEgress) return ['Ingress'];
  if (!hasIngress) return ['Egress'];
  return ['Ingress', 'Egress'];
}

function namespaced(key: PolicyKey, spec: NetworkPolicySpec, staged: boolean): ModelPolicy {
  const ns = key.namespace ?? 'default';
  const types = inferTypes(spec);
  return {
    key,
    tier: spec.tier ?? 'default',
    order: spec.order,
    selector: backendSelector(
      namespacedPolicySelector(spec.selector ?? '', ns, spec.serviceAccountSelector ?? ''),
    ),
    ingress: types.includes('Ingress'),
    egress: types.includes('Egress'),
    inbound: toModelRules(spec.ingress, ns),
    outbound: toModelRules(spec.egress, ns),
    staged,
    doNotTrack: false,
    preDNAT: false,
    applyOnForward: true,
  };
}

function global(key: PolicyKey, spec: GlobalNetworkPolicySpec, staged: boolean): ModelPolicy {
  const types = inferTypes(spec);
  return {
    key,
    tier: spec.tier ?? 'default',
    order: spec.order,
    selector: backendSelector(
      globalPolicySelector(
        spec.selector ?? '',
        spec.namespaceSelector ?? '',
        spec.serviceAccountSelector ?? '',
      ),
    ),
    ingress: types.includes('Ingress'),
    egress: types.includes('Egress'),
    inbound: toModelRules(spec.ingress, ''),
    outbound: toModelRules(spec.egress, ''),
    staged,
    doNotTrack: spec.doNotTrack ?? false,
    preDNAT: spec.preDNAT ?? false,
    applyOnForward: spec.applyOnForward ?? false,
  };
}

/** Converts one policy resource; undefined for staged `Delete` policies (never sent to the dataplane). */
export function toModelPolicy(res: PolicyResource): ModelPolicy | undefined {
  const name = res.metadata.name;
  const namespace = res.metadata.namespace ?? 'default';
  switch (res.kind) {
    case 'GlobalNetworkPolicy':
      return global({ kind: 'gnp', name }, res.spec, false);
    case 'StagedGlobalNetworkPolicy':
      if (res.spec.stagedAction === 'Delete') return undefined;
      return global({ kind: 'sgnp', name }, res.spec, true);
    case 'NetworkPolicy':
      if (res.apiVersion === 'networking.k8s.io/v1') {
        return namespaced({ kind: 'knp', namespace, name }, k8sNetworkPolicyToCalico(res.spec), false);
      }
      return namespaced({ kind: 'np', namespace, name }, res.spec, false);
    case 'StagedNetworkPolicy':
      if (res.spec.stagedAction === 'Delete') return undefined;
      return namespaced({ kind: 'snp', namespace, name }, res.spec, true);
    case 'StagedKubernetesNetworkPolicy':
      if (res.spec.stagedAction === 'Delete') return undefined;
      return namespaced({ kind: 'sknp', namespace, name }, k8sNetworkPolicyToCalico(res.spec), true);
  }
}

/**
 * A converted network-policy-api policy (admin-policy.ts) as a global policy. Its types come from its rules
 * only (clusterNetPolicyTypes: the admin tiers are default-Pass, so a direction without rules is left out).
 */
export function adminToModelPolicy(c: ConvertedAdminPolicy): ModelPolicy {
  return {
    key: c.key,
    tier: c.tier,
    order: c.order,
    selector: backendSelector(globalPolicySelector(c.selector, c.namespaceSelector, '')),
    ingress: c.ingress.length > 0,
    egress: c.egress.length > 0,
    inbound: toModelRules(c.ingress, ''),
    outbound: toModelRules(c.egress, ''),
    staged: false,
    doNotTrack: false,
    preDNAT: false,
    applyOnForward: false,
  };
}
