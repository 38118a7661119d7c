/** The resource kinds that contribute to the policy model (others, e.g. IPPool or Node, do not). */
import type {
  K8sNetworkPolicy,
  Namespace,
  Pod,
  ServiceAccount,
  StagedKubernetesNetworkPolicy,
} from '../api/k8s/types.js';
import type {
  GlobalNetworkSet,
  HostEndpoint,
  NetworkSet,
  Profile,
  Tier,
  WorkloadEndpoint,
} from '../api/v3/misc.js';
import type {
  GlobalNetworkPolicy,
  NetworkPolicy,
  StagedGlobalNetworkPolicy,
  StagedNetworkPolicy,
} from '../api/v3/policy.js';

export type ModelInput =
  | GlobalNetworkPolicy
  | NetworkPolicy
  | StagedGlobalNetworkPolicy
  | StagedNetworkPolicy
  | StagedKubernetesNetworkPolicy
  | K8sNetworkPolicy
  | Tier
  | Profile
  | NetworkSet
  | GlobalNetworkSet
  | HostEndpoint
  | WorkloadEndpoint
  | Namespace
  | ServiceAccount
  | Pod;

/** The decoded kinds (`kind` as written; a Kubernetes NetworkPolicy is `NetworkPolicy`). */
const MODEL_KINDS: ReadonlySet<string> = new Set<ModelInput['kind']>([
  'GlobalNetworkPolicy',
  'NetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'Tier',
  'Profile',
  'NetworkSet',
  'GlobalNetworkSet',
  'HostEndpoint',
  'WorkloadEndpoint',
  'Namespace',
  'ServiceAccount',
  'Pod',
]);

/** True for the resource kinds that contribute to the policy model. */
export function isModelInput(r: { readonly kind: string }): r is ModelInput {
  return MODEL_KINDS.has(r.kind);
}
