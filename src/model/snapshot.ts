/**
 * A complete, immutable backend model built from a set of resources: what a node's calculation graph would
 * hold after sync, and what the reference evaluator decides against. Kubernetes kinds are converted on the
 * way in (namespaces and service accounts to profiles, pods to workload endpoints, policies to Calico form).
 */
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
import { builtInTiers, defaultAllowProfile } from '../api/tiers.js';
import {
  hostEndpointToModel,
  networkSetToModel,
  profileToModel,
  tierToModel,
  workloadEndpointToModel,
} from './endpoints.js';
import { namespaceToProfile, podToWorkloadEndpoint, serviceAccountToProfile } from './k8s-resources.js';
import { toModelPolicy } from './policies.js';
import type { ModelEndpoint, ModelNetworkSet, ModelPolicy, ModelProfile, ModelTier } from './types.js';

/** Every resource kind that contributes to the policy model. */
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

/** True for the resource kinds that contribute to the policy model (others, e.g. IPPool, are ignored). */
export function isModelInput(r: { readonly kind: string }): r is ModelInput {
  return MODEL_KINDS.has(r.kind);
}

export interface ModelSnapshot {
  readonly tiers: ReadonlyMap<string, ModelTier>;
  readonly policies: readonly ModelPolicy[];
  readonly profiles: ReadonlyMap<string, ModelProfile>;
  readonly endpoints: readonly ModelEndpoint[];
  readonly networkSets: readonly ModelNetworkSet[];
}

/** Calico's protected tiers (reference §1.0, HEAD): always present, never redefined. */
export const BUILTIN_TIERS: readonly ModelTier[] = builtInTiers().map(tierToModel);

export const DEFAULT_ALLOW: ModelProfile = profileToModel(defaultAllowProfile());

export function buildSnapshot(resources: readonly ModelInput[]): ModelSnapshot {
  const tiers = new Map<string, ModelTier>(BUILTIN_TIERS.map((t) => [t.name, t]));
  const profiles = new Map<string, ModelProfile>([[DEFAULT_ALLOW.name, DEFAULT_ALLOW]]);
  const policies: ModelPolicy[] = [];
  const endpoints: ModelEndpoint[] = [];
  const networkSets: ModelNetworkSet[] = [];
  for (const r of resources) {
    switch (r.kind) {
      case 'GlobalNetworkPolicy':
      case 'NetworkPolicy':
      case 'StagedGlobalNetworkPolicy':
      case 'StagedNetworkPolicy':
      case 'StagedKubernetesNetworkPolicy': {
        const p = toModelPolicy(r);
        if (p !== undefined) policies.push(p);
        break;
      }
      case 'Tier': {
        const builtin = BUILTIN_TIERS.find((t) => t.name === r.metadata.name);
        tiers.set(r.metadata.name, builtin ?? tierToModel(r));
        break;
      }
      case 'Profile':
        profiles.set(r.metadata.name, profileToModel(r));
        break;
      case 'Namespace': {
        const p = profileToModel(namespaceToProfile(r));
        profiles.set(p.name, p);
        break;
      }
      case 'ServiceAccount': {
        const p = profileToModel(serviceAccountToProfile(r));
        profiles.set(p.name, p);
        break;
      }
      case 'NetworkSet':
      case 'GlobalNetworkSet':
        networkSets.push(networkSetToModel(r));
        break;
      case 'HostEndpoint':
        endpoints.push(hostEndpointToModel(r));
        break;
      case 'WorkloadEndpoint':
        endpoints.push(workloadEndpointToModel(r));
        break;
      case 'Pod': {
        const wep = podToWorkloadEndpoint(r);
        if (wep !== undefined) endpoints.push(workloadEndpointToModel(wep));
        break;
      }
    }
  }
  // Every Kubernetes namespace has a `default` service account; its profile exists even when the input
  // does not list the ServiceAccount.
  for (const r of resources) {
    if (r.kind !== 'Namespace') continue;
    const sa = serviceAccountToProfile({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: r.metadata.name },
    });
    if (!profiles.has(sa.metadata.name)) profiles.set(sa.metadata.name, profileToModel(sa));
  }
  return { tiers, policies, profiles, endpoints, networkSets };
}
