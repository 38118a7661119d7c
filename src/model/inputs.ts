/**
 * The resource kinds that contribute to the policy model (others, e.g. IPPool, do not). A Node contributes
 * nothing itself: its labels and addresses resolve the `nodes` peers of admin policies (admin-policy.ts).
 */
import type {
  K8sNetworkPolicy,
  Namespace,
  Pod,
  ServiceAccount,
  StagedKubernetesNetworkPolicy,
} from '../api/k8s/types.js';
import type {
  AdminNetworkPolicy,
  BaselineAdminNetworkPolicy,
  ClusterNetworkPolicy,
} from '../api/k8s/admin-types.js';
import type { Node } from '../api/v3/bgp-types.js';
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
  | AdminNetworkPolicy
  | BaselineAdminNetworkPolicy
  | ClusterNetworkPolicy
  | Node
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
  'AdminNetworkPolicy',
  'BaselineAdminNetworkPolicy',
  'ClusterNetworkPolicy',
  'Node',
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
