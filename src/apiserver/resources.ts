/**
 * The resources calico-apiserver serves in `projectcalico.org/v3`, as Calico v3.32.1's API server registers
 * them (`apiserver/pkg/registry/projectcalico/rest/storage_calico.go`): the same plurals, the same short
 * names, and no others (Calico's API server serves no WorkloadEndpoint, Node, IPAMBlock or IPAMHandle).
 * Kind, scope and singular come from the kinds table (`src/api/kinds.ts`). Pure.
 */
import { kindInfo } from '../api/kinds.js';

export const GROUP = 'projectcalico.org';
export const VERSION = 'v3';
export const GROUP_VERSION = `${GROUP}/${VERSION}`;

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

export const ALL_VERBS: readonly Verb[] = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

export interface ServedResource {
  /** The URL segment: `globalnetworkpolicies`. */
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** The subresource served beside it (`status` of KubeControllersConfiguration only). */
  readonly status: boolean;
}

// Calico's registration order and short names (storage_calico.go, NewV3Storage).
// prettier-ignore
const CALICO_RESOURCES: readonly (readonly [plural: string, shortNames: readonly string[]])[] = [
  ['networkpolicies', ['cnp', 'caliconetworkpolicy', 'caliconetworkpolicies']],
  ['stagedkubernetesnetworkpolicies', ['sknp']],
  ['stagednetworkpolicies', ['snp']],
  ['networksets', ['netsets']],
  ['tiers', []],
  ['globalnetworkpolicies', ['gnp', 'cgnp', 'calicoglobalnetworkpolicies']],
  ['stagedglobalnetworkpolicies', ['sgnp']],
  ['globalnetworksets', []],
  ['hostendpoints', ['hep', 'heps']],
  ['ippools', []],
  ['ipreservations', []],
  ['bgpconfigurations', ['bgpconfig', 'bgpconfigs']],
  ['bgppeers', []],
  ['bgpfilters', []],
  ['profiles', []],
  ['felixconfigurations', ['felixconfig', 'felixconfigs']],
  ['kubecontrollersconfigurations', ['kcconfig']],
  ['clusterinformations', ['clusterinfo']],
  ['caliconodestatuses', ['caliconodestatus']],
  ['ipamconfigurations', ['ipamconfig']],
  ['blockaffinities', ['blockaffinity', 'affinity', 'affinities']],
];

/** The internal kind whose plural is `plural` (the kinds table is keyed by kind). */
function kindOfPlural(plural: string): string {
  const byPlural: Record<string, string> = {
    networkpolicies: 'NetworkPolicy',
    stagedkubernetesnetworkpolicies: 'StagedKubernetesNetworkPolicy',
    stagednetworkpolicies: 'StagedNetworkPolicy',
    networksets: 'NetworkSet',
    tiers: 'Tier',
    globalnetworkpolicies: 'GlobalNetworkPolicy',
    stagedglobalnetworkpolicies: 'StagedGlobalNetworkPolicy',
    globalnetworksets: 'GlobalNetworkSet',
    hostendpoints: 'HostEndpoint',
    ippools: 'IPPool',
    ipreservations: 'IPReservation',
    bgpconfigurations: 'BGPConfiguration',
    bgppeers: 'BGPPeer',
    bgpfilters: 'BGPFilter',
    profiles: 'Profile',
    felixconfigurations: 'FelixConfiguration',
    kubecontrollersconfigurations: 'KubeControllersConfiguration',
    clusterinformations: 'ClusterInformation',
    caliconodestatuses: 'CalicoNodeStatus',
    ipamconfigurations: 'IPAMConfiguration',
    blockaffinities: 'BlockAffinity',
  };
  const kind = byPlural[plural];
  if (kind === undefined) throw new Error(`calico-apiserver: no kind for ${plural}`);
  return kind;
}

const SERVED: readonly ServedResource[] = CALICO_RESOURCES.map(([plural, shortNames]) => {
  const kind = kindOfPlural(plural);
  const info = kindInfo(kind);
  if (info === undefined || info.plural !== plural) {
    throw new Error(`calico-apiserver: kinds table has no ${kind} with plural ${plural}`);
  }
  return {
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced: info.namespaced,
    shortNames,
    status: kind === 'KubeControllersConfiguration',
  };
});

const BY_PLURAL = new Map(SERVED.map((r) => [r.plural, r]));

export function servedResources(): readonly ServedResource[] {
  return SERVED;
}

export function servedResource(plural: string): ServedResource | undefined {
  return BY_PLURAL.get(plural);
}
