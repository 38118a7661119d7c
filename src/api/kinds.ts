/**
 * The table of resource kinds: API group, plural (etcd key segment), calicoctl aliases, scope.
 * Looking a kind up by any spelling a user may type is case-insensitive (calicoctl resourcemgr).
 * Decoding and validation of each kind live in its own file; this table only names kinds.
 */
import {
  CALICO_API_VERSION,
  K8S_CORE_API_VERSION,
  K8S_NETWORKING_API_VERSION,
  K8S_POLICY_V1ALPHA1_API_VERSION,
  K8S_POLICY_V1ALPHA2_API_VERSION,
} from './meta.js';

export interface KindInfo {
  readonly kind: string;
  readonly apiVersion: string;
  /** Lower-case plural, used in datastore keys and `calicoctl get <plural>`. */
  readonly plural: string;
  /** Extra spellings accepted on the command line (lower-case). */
  readonly aliases: readonly string[];
  readonly namespaced: boolean;
}

const C = CALICO_API_VERSION;

// One kind per line reads better than the wrapped form.
// prettier-ignore
const TABLE: readonly KindInfo[] = [
  { kind: 'NetworkPolicy', apiVersion: C, plural: 'networkpolicies', namespaced: true, aliases: ['networkpolicy', 'policy', 'np', 'policies', 'pol', 'pols', 'cnp', 'caliconetworkpolicy', 'caliconetworkpolicies'] },
  { kind: 'GlobalNetworkPolicy', apiVersion: C, plural: 'globalnetworkpolicies', namespaced: false, aliases: ['globalnetworkpolicy', 'gnp', 'gnps', 'cgnp'] },
  { kind: 'StagedNetworkPolicy', apiVersion: C, plural: 'stagednetworkpolicies', namespaced: true, aliases: ['stagednetworkpolicy', 'stagedpolicy', 'snp', 'stagedpolicies', 'spol', 'spols', 'scnp'] },
  { kind: 'StagedGlobalNetworkPolicy', apiVersion: C, plural: 'stagedglobalnetworkpolicies', namespaced: false, aliases: ['stagedglobalnetworkpolicy', 'sgnp', 'sgnps'] },
  { kind: 'StagedKubernetesNetworkPolicy', apiVersion: C, plural: 'stagedkubernetesnetworkpolicies', namespaced: true, aliases: ['stagedkubernetesnetworkpolicy', 'stagedkubernetespolicy', 'sknp', 'stagedkubernetespolicies', 'skpol', 'skpols'] },
  { kind: 'Tier', apiVersion: C, plural: 'tiers', namespaced: false, aliases: ['tier'] },
  { kind: 'GlobalNetworkSet', apiVersion: C, plural: 'globalnetworksets', namespaced: false, aliases: ['globalnetworkset', 'gnetsets', 'gns'] },
  { kind: 'NetworkSet', apiVersion: C, plural: 'networksets', namespaced: true, aliases: ['networkset', 'netsets', 'netset'] },
  { kind: 'HostEndpoint', apiVersion: C, plural: 'hostendpoints', namespaced: false, aliases: ['hostendpoint', 'hep', 'heps'] },
  { kind: 'WorkloadEndpoint', apiVersion: C, plural: 'workloadendpoints', namespaced: true, aliases: ['workloadendpoint', 'wep', 'weps'] },
  { kind: 'Profile', apiVersion: C, plural: 'profiles', namespaced: false, aliases: ['profile', 'pro', 'pros'] },
  { kind: 'IPPool', apiVersion: C, plural: 'ippools', namespaced: false, aliases: ['ippool', 'ipp', 'ipps', 'pool', 'pools'] },
  { kind: 'IPReservation', apiVersion: C, plural: 'ipreservations', namespaced: false, aliases: ['ipreservation', 'reservation', 'reservations'] },
  { kind: 'BGPConfiguration', apiVersion: C, plural: 'bgpconfigurations', namespaced: false, aliases: ['bgpconfiguration', 'bgpconfig', 'bgpconfigs'] },
  { kind: 'BGPPeer', apiVersion: C, plural: 'bgppeers', namespaced: false, aliases: ['bgppeer', 'bgpp', 'bgpps', 'bp', 'bps'] },
  { kind: 'BGPFilter', apiVersion: C, plural: 'bgpfilters', namespaced: false, aliases: ['bgpfilter', 'bgpf', 'bgpfs', 'bf', 'bfs'] },
  { kind: 'FelixConfiguration', apiVersion: C, plural: 'felixconfigurations', namespaced: false, aliases: ['felixconfiguration', 'felixconfig', 'felixconfigs'] },
  { kind: 'KubeControllersConfiguration', apiVersion: C, plural: 'kubecontrollersconfigurations', namespaced: false, aliases: ['kubecontrollersconfiguration', 'kubecontrollersconfig', 'kubecontrollersconfigs', 'kcc', 'kccs'] },
  { kind: 'ClusterInformation', apiVersion: C, plural: 'clusterinformations', namespaced: false, aliases: ['clusterinformation', 'clusterinfo', 'clusterinfos'] },
  { kind: 'Node', apiVersion: C, plural: 'nodes', namespaced: false, aliases: ['node', 'no', 'nos'] },
  { kind: 'CalicoNodeStatus', apiVersion: C, plural: 'caliconodestatuses', namespaced: false, aliases: ['caliconodestatus', 'nodestatus', 'nodestatuses'] },
  { kind: 'IPAMConfiguration', apiVersion: C, plural: 'ipamconfigurations', namespaced: false, aliases: ['ipamconfiguration', 'ipamconfig', 'ipamconfigs'] },
  { kind: 'IPAMBlock', apiVersion: C, plural: 'ipamblocks', namespaced: false, aliases: ['ipamblock'] },
  { kind: 'BlockAffinity', apiVersion: C, plural: 'blockaffinities', namespaced: false, aliases: ['blockaffinity', 'affinity', 'affinities'] },
  { kind: 'IPAMHandle', apiVersion: C, plural: 'ipamhandles', namespaced: false, aliases: ['ipamhandle'] },
  // Kubernetes kinds accepted so that a host or lab without a Kubernetes API can be driven from calicoctl.
  { kind: 'KubernetesNetworkPolicy', apiVersion: K8S_NETWORKING_API_VERSION, plural: 'kubernetesnetworkpolicies', namespaced: true, aliases: ['kubernetesnetworkpolicy', 'knp', 'knps'] },
  // The network-policy-api kinds (kubernetes-sigs/network-policy-api); `cnp` stays calicoctl's NetworkPolicy alias.
  { kind: 'AdminNetworkPolicy', apiVersion: K8S_POLICY_V1ALPHA1_API_VERSION, plural: 'adminnetworkpolicies', namespaced: false, aliases: ['adminnetworkpolicy', 'anp', 'anps', 'kanp'] },
  { kind: 'BaselineAdminNetworkPolicy', apiVersion: K8S_POLICY_V1ALPHA1_API_VERSION, plural: 'baselineadminnetworkpolicies', namespaced: false, aliases: ['baselineadminnetworkpolicy', 'banp', 'banps', 'kbanp'] },
  { kind: 'ClusterNetworkPolicy', apiVersion: K8S_POLICY_V1ALPHA2_API_VERSION, plural: 'clusternetworkpolicies', namespaced: false, aliases: ['clusternetworkpolicy', 'kcnp', 'kcnps'] },
  { kind: 'Namespace', apiVersion: K8S_CORE_API_VERSION, plural: 'namespaces', namespaced: false, aliases: ['namespace', 'ns'] },
  { kind: 'Pod', apiVersion: K8S_CORE_API_VERSION, plural: 'pods', namespaced: true, aliases: ['pod', 'po'] },
  { kind: 'ServiceAccount', apiVersion: K8S_CORE_API_VERSION, plural: 'serviceaccounts', namespaced: true, aliases: ['serviceaccount', 'sa'] },
];

const BY_NAME = new Map<string, KindInfo>();
for (const info of TABLE) {
  for (const n of [info.kind.toLowerCase(), info.plural, ...info.aliases]) BY_NAME.set(n, info);
}
const BY_KIND = new Map<string, KindInfo>(TABLE.map((i) => [i.kind, i]));

export function allKinds(): readonly KindInfo[] {
  return TABLE;
}

/** Looks up a kind by its name, plural or alias, case-insensitively (`GNP`, `globalnetworkpolicies`, ...). */
export function lookupKind(name: string): KindInfo | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** Looks up by exact `kind` as written in a document. */
export function kindInfo(kind: string): KindInfo | undefined {
  return BY_KIND.get(kind);
}

/**
 * A Kubernetes `networking.k8s.io/v1` NetworkPolicy document has kind `NetworkPolicy` like Calico's;
 * internally it is stored as kind `KubernetesNetworkPolicy`. This maps a document's (apiVersion, kind)
 * to the internal kind.
 */
export function internalKind(apiVersion: string, kind: string): string {
  if (kind === 'NetworkPolicy' && apiVersion === K8S_NETWORKING_API_VERSION) return 'KubernetesNetworkPolicy';
  return kind;
}

/** Optimal string alignment distance (edits, with adjacent transpositions), capped at `max + 1`. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (prev2[j - 2] ?? 0) + 1);
      }
      cur[j] = d;
      best = Math.min(best, d);
    }
    if (best > max) return max + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length] ?? max + 1;
}

/** The closest candidate to `typed` (compared case-insensitively), if it is close enough to be a typo. */
export function closest(typed: string, candidates: Iterable<string>): string | undefined {
  const t = typed.toLowerCase();
  const max = Math.max(1, Math.floor(t.length / 4));
  let best: { name: string; distance: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(t, c.toLowerCase(), max);
    if (d <= max && (best === undefined || d < best.distance)) best = { name: c, distance: d };
  }
  return best?.name;
}

/** For `calicoctl get netwrokpolicy`: the resource type the user probably meant. */
export function suggestKindName(typed: string): string | undefined {
  return closest(typed, BY_NAME.keys());
}

/** For `kind: NetworkPolicyy` in a document: the document kind the author probably meant. */
export function suggestDocumentKind(typed: string): string | undefined {
  return closest(typed, BY_KIND.keys());
}
