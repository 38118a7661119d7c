/**
 * The resources calico-apiserver serves in `projectcalico.org/v3`, as Calico v3.32.1's API server registers
 * them (`apiserver/pkg/registry/projectcalico/rest/storage_calico.go`): the same plurals, the same short
 * names, and no others (Calico's API server serves no WorkloadEndpoint, Node, IPAMBlock or IPAMHandle).
 * Kind, scope and singular come from the kinds table (`src/api/kinds.ts`). Pure.
 */
import { allKinds } from '../api/kinds.js';
import { CALICO_API_VERSION } from '../api/meta.js';

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

const SERVED: readonly ServedResource[] = CALICO_RESOURCES.map(([plural, shortNames]) => {
  const info = allKinds().find((k) => k.plural === plural && k.apiVersion === CALICO_API_VERSION);
  if (info === undefined) throw new Error(`calico-apiserver: the kinds table has no ${plural}`);
  const { kind } = info;
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
